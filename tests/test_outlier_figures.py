"""The quality page's stored outlier figures (``CellFigure``): equal to a fresh derivation
from the reports' rows after every kind of write, re-derived by the commands, and read
by the page in the same number of queries whatever the subtree's size."""

from __future__ import annotations

import random
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosure.interchange import derive_totals
from disclosure.jurisdiction import quality as qual
from disclosure.models import ApplicationRow, CellFigure, Organization, Report, ReviewRow
from disclosure.services.core import import_document
from disclosure.services.editing import explain_finding, save_edits
from disclosure.workflow import Action, readiness, transition

from .factories import balanced_document

pytestmark = pytest.mark.django_db
NEW = "applications.new_received.natural_person"
GRANTED = "applications.granted.natural_person"


def fresh() -> set[tuple]:
    """Every report's figures computed here from the rows, the way the page used to scan them."""
    rows = {}
    for model, section, key in [(ApplicationRow, "applications", "row"), (ReviewRow, "reviews", "block")]:
        for report_id, org, year, code, value in model.objects.values_list(
            "report_id", "report__organization_id", "report__year", key, "total"
        ):
            rows[(org, year, section, code)] = (report_id, value)
    found = set()
    for (org, year, section, code), (report_id, value) in rows.items():
        if value is None:
            continue
        before = rows.get((org, year - 1, section, code), (None, None))[1]
        ratio_jump = before is not None and max(value, before) >= 10 and (value > before * 5 or before > value * 5)
        found.add((report_id, year, section, code, value, before, ratio_jump))
    return found


def tops() -> list[Organization]:
    return [Organization.objects.get(code="city")]


def stored() -> set[tuple]:
    return set(CellFigure.objects.values_list("report_id", "year", "section", "key", "value", "previous", "jump"))


def received(code: str, year: int, value: int, status: str = Report.Status.SUBMITTED) -> Report:
    doc = balanced_document("2021", year=year, org_code=code, rng=random.Random(year))
    for column in list(doc["applications"]["new_received"]):
        doc["applications"]["new_received"][column] = 0
    doc["applications"]["new_received"]["natural_person"] = value
    return import_document(derive_totals(doc, overwrite=True), status=status).report


def bump(report: Report, delta: int, actor) -> None:
    """Add ``delta`` new applications, all granted: table 三 stays balanced."""
    report = Report.objects.get(pk=report.pk)
    rows = {r.row: r for r in report.application_rows.all()}
    cells = {
        NEW: str(rows["new_received"].natural_person + delta),
        GRANTED: str(rows["granted"].natural_person + delta),
    }
    saved = save_edits(report, actor=actor, expected_version=report.version, cells=cells)
    assert not saved.errors and saved.changes


def jump(report: Report) -> bool:
    return CellFigure.objects.get(report=report, section="applications", key="new_received").jump


def flagged() -> set[tuple[str, str]]:
    return {(r["report__organization__code"], r["key"]) for r in qual.history_outliers(tops(), 2022, None)}


def test_it_stores_what_a_fresh_derivation_gives_after_import_save_publish_and_correction(
    world, django_capture_on_commit_callbacks
):
    clerk, leader = world.users["owner_clerk"], world.users["office_reviewer"]
    last = import_document(balanced_document("2021", year=2021, rng=random.Random(1))).report
    assert stored() == fresh() and len(stored()) > 20
    report = import_document(balanced_document("2021", year=2022, rng=random.Random(2))).report  # an import
    assert stored() == fresh() and not jump(report)

    bump(report, 900, clerk)  # a save: about ten times last year's
    assert stored() == fresh() and jump(report)
    bump(last, 900, clerk)  # last year's report changes: this year's comparison follows
    assert stored() == fresh() and not jump(report)
    bump(last, -900, clerk)
    assert stored() == fresh() and jump(report)
    assert flagged() == set()  # a draft is not judged

    for warning in readiness(Report.objects.get(pk=report.pk)).unexplained:  # the jump is explained
        explain_finding(Report.objects.get(pk=report.pk), warning.key, "新设窗口，申请确有增加。", actor=clerk)
    with django_capture_on_commit_callbacks(execute=True):  # the publish job runs after commit
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, leader), (Action.PUBLISH, leader)]:
            transition(report, action, actor=actor)
    report.refresh_from_db()
    assert report.status == Report.Status.PUBLISHED and report.publications.exists()
    assert stored() == fresh()
    assert ("test-org", "new_received") in flagged()

    transition(report, Action.CORRECT, actor=clerk)  # a correction: a draft again, not judged
    assert stored() == fresh() and flagged() == set()
    bump(report, -900, clerk)
    assert stored() == fresh() and not jump(report)


def test_it_derives_them_again_with_the_commands(world):
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)
    Organization.objects.create(name="邻二局", code="other", kind="department", parent=world.office.parent)
    received("other", 2022, 30)
    expected = fresh()
    CellFigure.objects.all().delete()
    out = StringIO()
    call_command("refresh_outliers", stdout=out)
    assert stored() == expected and f"{len(expected)} outlier figures stored" in out.getvalue()

    CellFigure.objects.filter(key="new_received").update(value=1, previous=None, jump=False)
    CellFigure.objects.filter(key="granted").delete()
    call_command("refresh_findings", stdout=StringIO())
    assert stored() == expected

    CellFigure.objects.filter(year=2022).delete()
    call_command("refresh_outliers", "--year", "2022", stdout=StringIO())
    assert stored() == expected


def _queries(client, params: dict) -> int:
    cache.clear()  # cold: the findings and averages computed afresh
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("review:quality"), params).status_code == 200
    return len(ctx.captured_queries)


def test_it_reads_the_quality_page_in_the_same_queries_at_two_sizes(world):
    district = world.office.parent
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)
    for i in range(6):
        Organization.objects.create(name=f"同类{i}局", code=f"peer{i}", kind="department", parent=district)
        received(f"peer{i}", 2021, 10)
        received(f"peer{i}", 2022, 10 if i else 900)  # one far above its peers, and a jump
    client = world.client("parent_supervisor")
    params = {"year": 2022}
    client.get(reverse("review:quality"), params)
    small = _queries(client, params)
    page = client.get(reverse("review:quality"), params)
    assert page.context["history"].paginator.count == 2 and page.context["peers"].paginator.count >= 1
    for i in range(12):
        Organization.objects.create(name=f"乙{i}局", code=f"b{i}", kind="department", parent=district)
        received(f"b{i}", 2021, 2)
        received(f"b{i}", 2022, 20 + i)  # each a jump, none far above its peers
    assert _queries(client, params) == small
    page = client.get(reverse("review:quality"), params)
    assert page.context["history"].paginator.count == 14 and page.context["peers"].paginator.count >= 1
