"""Data quality across a subtree (issue 15): findings grouped by rule, outliers against
the office's own history and its peers, the 已核实 mark, permissions, query counts."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosure.interchange import derive_totals
from disclosure.jurisdiction import quality as qual
from disclosure.models import AuditEvent, Organization, OutlierCheck, Report
from disclosure.rules import RULES
from disclosure.services import import_document, save_edits
from disclosure.services.outliers import InvalidOutlierCheck, mark_checked

from .factories import balanced_document

pytestmark = pytest.mark.django_db

CELL = "applications.new_received.total"


def received(code: str, year: int, value: int, status: str = Report.Status.SUBMITTED, **kwargs) -> Report:
    """A report whose 新收申请 total is ``value`` (all from natural persons)."""
    doc = balanced_document("2021", year=year, org_code=code, **kwargs)
    for column, _ in list(doc["applications"]["new_received"].items()):
        doc["applications"]["new_received"][column] = 0
    doc["applications"]["new_received"]["natural_person"] = value
    return import_document(derive_totals(doc, overwrite=True), status=status).report


def office(code: str, parent: Organization) -> Organization:
    return Organization.objects.create(name=f"{code}局", code=code, kind="department", parent=parent)


def flagged_history(world) -> set[tuple[str, str]]:
    district = Organization.objects.get(code="district-a")
    return {(r["report__organization__code"], r["key"]) for r in qual.history_outliers([district], 2022)}


def test_it_flags_a_jump_against_the_offices_own_history(world):
    district = Organization.objects.get(code="district-a")
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)  # ×10
    for code, before, after in [("small", 2, 9), ("steady", 30, 100), ("drop", 40, 5), ("fresh", 0, 40)]:
        office(code, district)
        received(code, 2021, before)
        received(code, 2022, after)
    office("draft", district)
    received("draft", 2021, 20)
    received("draft", 2022, 900, status=Report.Status.DRAFT)  # still being typed: not judged
    flagged = {code for code, row in flagged_history(world) if row == "new_received"}
    # 2 → 9 is below the floor, 30 → 100 is ×3.3: neither is a jump.
    assert flagged == {"test-org", "drop", "fresh"}


def test_it_stops_flagging_after_checked_and_flags_again_when_the_value_changes(
    world, django_capture_on_commit_callbacks
):
    received("test-org", 2021, 20)
    report = received("test-org", 2022, 200, status=Report.Status.RETURNED)
    assert ("test-org", "new_received") in flagged_history(world)
    supervisor = world.client("parent_supervisor")
    page = supervisor.get(reverse("review:quality"), {"year": 2022})
    assert f'data-cell="{CELL}"' in page.text and "上年 20，本年 200（10.0 倍）" in page.text

    with django_capture_on_commit_callbacks(execute=True):  # as in a request: what runs on commit runs
        answer = supervisor.post(
            reverse("review:outlier_check"),
            {"organization": "test-org", "year": 2022, "cell": CELL, "value": "200", "note": "新设窗口，电话核实无误"},
        )
    assert answer.status_code == 302
    check = OutlierCheck.objects.get()
    assert (check.value, check.note) == (200, "新设窗口，电话核实无误")
    assert check.checked_by == world.users["parent_supervisor"]
    event = AuditEvent.objects.get(action="outlier.checked")
    assert event.actor == world.users["parent_supervisor"] and event.data["cell"] == CELL
    assert ("test-org", "new_received") not in flagged_history(world)
    assert f'data-cell="{CELL}"' not in supervisor.get(reverse("review:quality"), {"year": 2022}).text

    # The clerk changes the figure: the mark vouched for 200, not for 300.
    save_edits(
        report,
        actor=world.users["owner_clerk"],
        expected_version=report.version,
        cells={"applications.new_received.natural_person": "300"},
    )
    assert ("test-org", "new_received") in flagged_history(world)
    # No cache to clear: the lists of flagged cells are read live on every request.
    assert f'data-cell="{CELL}"' in supervisor.get(reverse("review:quality"), {"year": 2022}).text


def test_it_refuses_a_mark_without_a_note_or_on_a_changed_value(world):
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)
    supervisor = world.users["parent_supervisor"]
    with pytest.raises(InvalidOutlierCheck) as blank:
        mark_checked(world.office, 2022, CELL, actor=supervisor, note="  ")
    assert blank.value.code == "note_required"
    with pytest.raises(InvalidOutlierCheck) as stale:
        mark_checked(world.office, 2022, CELL, actor=supervisor, note="核实", seen_value=150)
    assert stale.value.code == "stale" and stale.value.params == {"seen": 150, "value": 200}
    with pytest.raises(InvalidOutlierCheck) as cell:
        mark_checked(world.office, 2022, "applications.nonsense.total", actor=supervisor, note="核实")
    assert cell.value.code == "invalid_cell"
    assert not OutlierCheck.objects.exists() and not AuditEvent.objects.filter(action="outlier.checked").exists()


@pytest.mark.parametrize("persona", ["owner_clerk", "office_reviewer", "sibling_clerk", "other_supervisor"])
def test_it_lets_only_supervisors_of_the_subtree_mark_or_see(world, persona):
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)
    client = world.client(persona)
    answer = client.post(
        reverse("review:outlier_check"), {"organization": "test-org", "year": 2022, "cell": CELL, "note": "核实"}
    )
    assert answer.status_code == 404
    assert not OutlierCheck.objects.exists()
    assert client.get(reverse("review:quality"), {"org": "district-a"}).status_code == 404
    with pytest.raises(InvalidOutlierCheck) as refused:
        mark_checked(world.office, 2022, CELL, actor=world.users[persona], note="核实")
    assert refused.value.code == "forbidden"


def test_it_flags_a_value_far_above_its_peers(world):
    district = Organization.objects.get(code="district-a")
    for i in range(6):
        office(f"peer{i}", district)
        received(f"peer{i}", 2022, 10)
    received("test-org", 2022, 500)  # the average is 80: 500 is above five times it
    averages = qual.peer_averages([district], 2022)
    assert averages[("applications", "department", "new_received")] == (pytest.approx(560 / 7), 7)
    flagged = {(r["report__organization__code"], r["key"]) for r in qual.peer_outliers([district], 2022)}
    assert ("test-org", "new_received") in flagged
    assert not any(code.startswith("peer") for code, row in flagged if row == "new_received")
    page = world.client("parent_supervisor").get(reverse("review:quality"), {"year": 2022})
    assert "同类机关（政府部门，7 个）平均 80.0，本机关 500" in page.text


def test_it_groups_the_stored_findings_by_rule_and_lists_who_breaks_each(world):
    district = Organization.objects.get(code="district-a")
    balanced = []
    for i in range(3):
        office(f"ok{i}", district)
        balanced.append(import_document(balanced_document("2021", year=2022, org_code=f"ok{i}")).report)
    broken = []
    for i in range(2):
        office(f"bad{i}", district)
        broken.append(received(f"bad{i}", 2022, 999))  # 999 new applications that no outcome accounts for
    result = qual.findings_by_rule([district], 2022)
    by_rule = {r["code"]: r for r in result["rules"]}
    reports = Report.objects.filter(year=2022)
    for code in RULES:
        fired = sum(code in r.finding_rules for r in reports)
        assert by_rule.get(code, {"reports": 0})["reports"] == fired, code
    assert by_rule["applications.balance"]["reports"] == 2
    assert by_rule["applications.balance"]["name"] == qual.rule_name("applications.balance") != "applications.balance"
    assert result["reports"] == 5 and result["with_errors"] == 2

    page = world.client("parent_supervisor").get(
        reverse("review:quality"), {"year": 2022, "rule": "applications.balance"}
    )
    listed = [r.organization.code for r in page.context["breaking"]]
    assert listed == ["bad0", "bad1"]
    assert "bad0局" in page.text and qual.rule_name("applications.balance") in page.text


def _queries(client, params) -> int:
    cache.clear()  # the figures computed afresh: the cold path is the one to pin
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("review:quality"), params).status_code == 200
    return len(ctx.captured_queries)


def test_it_answers_the_quality_page_in_the_same_queries_at_two_sizes(world):
    district = Organization.objects.get(code="district-a")
    received("test-org", 2021, 20)
    received("test-org", 2022, 200)
    for i in range(5):  # enough peers to compare with
        office(f"peer{i}", district)
        received(f"peer{i}", 2022, 10)
    client = world.client("parent_supervisor")
    params = {"year": 2022, "rule": "applications.balance"}
    client.get(reverse("review:quality"), params)
    small = _queries(client, params)
    for i in range(8):
        office(f"more{i}", district)
        received(f"more{i}", 2021, 10 + i)
        received(f"more{i}", 2022, 100 * (i + 1))
    assert _queries(client, params) == small
    page = client.get(reverse("review:quality"), params)
    assert page.context["history"].paginator.count == 9  # every office jumped: a page of rows, same queries


def reviews(code: str, year: int, each: int) -> Report:
    """A report whose 行政复议 parts are ``each`` apiece (its 总计 four times that)."""
    doc = balanced_document("2021", year=year, org_code=code)
    for part in list(doc["reviews"]["reconsideration"]):
        doc["reviews"]["reconsideration"][part] = each
    return import_document(derive_totals(doc, overwrite=True), status=Report.Status.SUBMITTED).report


def test_it_looks_at_table_four_too_and_takes_a_mark_there(world):
    district = Organization.objects.get(code="district-a")
    reviews("test-org", 2021, 1)  # 4
    reviews("test-org", 2022, 10)  # 40: ten times
    cell = "reviews.reconsideration.total"
    flagged = {
        (r["section"], r["key"]) for r in qual.history_outliers([district], 2022, qual.SOURCE_BY_SECTION["reviews"])
    }
    assert ("reviews", "reconsideration") in flagged
    page = world.client("parent_supervisor").get(reverse("review:quality"), {"year": 2022})
    assert f'data-cell="{cell}"' in page.text and "上年 4，本年 40" in page.text
    mark_checked(world.office, 2022, cell, actor=world.users["parent_supervisor"], note="复议案件集中", seen_value=40)
    again = {
        (r["section"], r["key"]) for r in qual.history_outliers([district], 2022, qual.SOURCE_BY_SECTION["reviews"])
    }
    assert ("reviews", "reconsideration") not in again


def test_it_names_every_rule_in_chinese():
    import re

    for code in RULES:
        assert re.search(r"[\u4e00-\u9fff]", qual.rule_name(code)), f"give rule {code} a Chinese name"
