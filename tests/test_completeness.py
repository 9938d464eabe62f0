"""Completeness and timeliness per level (issue 15): counts against a hand count on a
generated tree, the deadline boundaries, the drill-down, exports, permissions, query counts."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from disclosure.jurisdiction import completeness as comp
from disclosure.models import Membership, Organization, Publication, Report, Revision
from disclosure.services import import_document
from disclosure.workflow import Action, publish_imported, transition

from .factories import balanced_document

pytestmark = pytest.mark.django_db

YEAR = 2021


def local(*args) -> dt.datetime:
    return timezone.make_aware(dt.datetime(*args))


def tree(cities: int = 2, districts: int = 2, offices: int = 3) -> Organization:
    province = Organization.objects.create(name="某省人民政府", code="prov", kind="government")
    for c in range(cities):
        city = Organization.objects.create(name=f"第{c}市人民政府", code=f"c{c}", kind="government", parent=province)
        for d in range(districts):
            district = Organization.objects.create(
                name=f"第{c}市第{d}区人民政府", code=f"c{c}d{d}", kind="government", parent=city
            )
            for o in range(offices):
                Organization.objects.create(
                    name=f"第{c}市第{d}区第{o}局", code=f"c{c}d{d}o{o}", kind="department", parent=district
                )
    return province


def report_of(code: str, status: str = Report.Status.DRAFT) -> Report:
    org = Organization.objects.get(code=code)
    doc = balanced_document("2021", year=YEAR, org_code=code, kind=org.kind)
    return import_document(doc, status=status).report


def publish(code: str, when: dt.datetime) -> Report:
    report = report_of(code, Report.Status.PUBLISHED)
    publish_imported(report)
    Publication.objects.filter(report=report).update(published_at=when)
    return report


def submit(code: str, when: dt.datetime, then: str | None = None) -> Report:
    report = report_of(code)
    transition(report, Action.SUBMIT, actor=None)
    Revision.objects.filter(report=report, event=Revision.Event.SUBMISSION).update(created_at=when)
    if then:
        Report.objects.filter(pk=report.pk).update(status=then)
    return report


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def scene(media):
    """A province of 19 organizations and reports at every stage around the deadlines."""
    province = tree()
    publish("c0d0o0", local(2022, 1, 31, 23, 59))  # on time: the last minute of 31 January
    publish("c0d0o1", local(2022, 2, 1, 0, 0))  # late: the first minute after
    report_of("c0d0o2", Report.Status.APPROVED)
    submit("c0d1o0", local(2022, 1, 20, 10, 0))
    submit("c0d1o1", local(2022, 1, 3, 10, 0), then=Report.Status.RETURNED)
    report_of("c0d1o2")  # a draft
    publish("c0d0", local(2022, 3, 31, 12, 0))  # a government: due 31 March, on time
    publish("c1d1", local(2022, 4, 1, 9, 0))  # a government, late
    submit("c1d0o0", local(2021, 10, 1, 10, 0))  # long before the curve's first week
    submit("c1d0o1", local(2022, 2, 3, 10, 0))  # after the deadline
    return province


def hand_count(orgs: list[Organization], now: dt.datetime) -> dict:
    """The same figures counted one organization at a time, the slow obvious way."""
    counts = dict.fromkeys([key for key, _ in comp.COLUMNS], 0)
    for org in orgs:
        counts["expected"] += 1
        report = Report.objects.filter(organization=org, year=YEAR).first()
        due = comp.deadline_end(YEAR, government=org.kind == "government")
        first = None
        if report is not None:
            counts["created"] += 1
            pubs = sorted(p.published_at for p in report.publications.all())
            first = pubs[0] if pubs else None
            if report.status != "draft" or first:
                counts["submitted"] += 1
            if report.status in ("approved", "published") or first:
                counts["approved"] += 1
        if first:
            counts["published"] += 1
            counts["on_time" if first < due else "late"] += 1
        else:
            counts["missing" if now >= due else "pending"] += 1
    return counts


def subtree(org: Organization) -> list[Organization]:
    return list(Organization.objects.filter(path__startswith=org.path))


def test_it_counts_each_child_as_a_hand_count_does(scene):
    now = local(2022, 2, 15, 12, 0)
    result = comp.level(scene, [scene], YEAR, now=now)
    assert [row["org"].code for row in result.rows] == ["c0", "c1"]
    for row in result.rows:
        expected = hand_count(subtree(row["org"]), now)
        assert {key: row[key] for key in expected} == expected, row["org"].code
    city0 = result.rows[0]
    # Counted by hand from the scene: 9 organizations, 3 published (2 on time), 4 departments missing.
    assert (city0["expected"], city0["created"], city0["submitted"], city0["approved"]) == (9, 7, 6, 4)
    assert (city0["published"], city0["on_time"], city0["late"], city0["missing"], city0["pending"]) == (3, 2, 1, 4, 2)
    assert city0["rates"]["on_time"] == pytest.approx(2 / 9)
    assert result.own["expected"] == 1 and result.own["pending"] == 1
    assert result.total["expected"] == Organization.objects.count() == 19
    assert {k: result.total[k] for k in city0 if k in hand_count([], now)} == hand_count(subtree(scene), now)


@pytest.mark.parametrize(
    ("now", "missing", "pending"),
    [
        # The last minute of 31 January: nothing is late yet.
        (local(2022, 1, 31, 23, 59), 0, 6),
        # The first minute of 1 February: the departments' deadline has passed, not the governments'.
        (local(2022, 2, 1, 0, 0), 4, 2),
        # After 31 March every unpublished organization is missing.
        (local(2022, 4, 1, 0, 0), 6, 0),
    ],
)
def test_it_moves_unpublished_reports_from_pending_to_missing_at_the_deadline(scene, now, missing, pending):
    city0 = comp.level(scene, [scene], YEAR, now=now).rows[0]
    assert (city0["missing"], city0["pending"]) == (missing, pending)
    assert city0 == {**city0, **hand_count(subtree(city0["org"]), now)}


def test_it_draws_first_submissions_by_week_before_each_deadline(scene):
    curve = comp.level(scene, [scene], YEAR, now=local(2022, 5, 1)).curve
    departments = curve["department"]
    assert departments["deadline"] == dt.date(2022, 1, 31)
    weeks = {p["weeks_before"]: p["count"] for p in departments["points"]}
    assert weeks[1] == 1  # 20 January: 11 days before
    assert weeks[4] == 1  # 3 January: 28 days before
    assert departments["earlier"] == 1 and departments["after"] == 1
    assert departments["points"][-1]["cumulative"] == 3
    assert departments["points"][-1]["share"] == pytest.approx(3 / 12)
    assert curve["government"]["deadline"] == dt.date(2022, 3, 31)


def supervisor(org: Organization, name: str) -> Client:
    user = get_user_model().objects.create_user(name, password="unused-pass-1")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.SUPERVISOR)
    client = Client()
    client.force_login(user)
    return client


def test_it_drills_from_the_province_to_a_district_with_a_breadcrumb(scene):
    client = supervisor(scene, "prov-sup")
    top = client.get(reverse("review:completeness"), {"year": YEAR})
    assert top.status_code == 200
    assert [r["org"].code for r in top.context["rows"]] == ["c0", "c1"]
    assert 'href="?year=2021&amp;org=c0"' in top.text
    district = client.get(reverse("review:completeness"), {"year": YEAR, "org": "c0d0"})
    assert [b.code for b in district.context["breadcrumb"]] == ["prov", "c0", "c0d0"]
    assert [r["org"].code for r in district.context["rows"]] == ["c0d0o0", "c0d0o1", "c0d0o2"]
    assert "第0市人民政府" in district.text and "（本级）" in district.text


def test_it_exports_the_level_as_csv_and_excel(scene):
    from openpyxl import load_workbook

    client = supervisor(scene, "prov-sup")
    response = client.get(reverse("review:completeness"), {"year": YEAR, "format": "csv"})
    assert response["Content-Disposition"].startswith('attachment; filename="completeness-2021-prov.csv"')
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["机关代码", "机关", "层级", "应报机关"]
    by_code = {r[0]: r for r in rows[1:]}
    assert by_code["c0"][3] == "9" and rows[-1][2] == "合计" and rows[-1][3] == "19"
    xlsx = client.get(reverse("review:completeness"), {"year": YEAR, "org": "c0", "format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][3] == "应报机关" and [v[0] for v in values[1:3]] == ["c0d0", "c0d1"]


def test_it_shows_the_page_to_supervisors_of_the_subtree_only(world):
    url = reverse("review:completeness")
    assert world.client("parent_supervisor").get(url).status_code == 200
    assert world.client("parent_supervisor").get(url, {"org": "test-org"}).status_code == 200
    # A supervisor of the other district, the office's own people: not theirs.
    assert world.client("other_supervisor").get(url, {"org": "district-a"}).status_code == 404
    for persona in ("owner_clerk", "office_reviewer", "sibling_clerk"):
        assert world.client(persona).get(url).status_code == 404, persona
    assert world.client("anonymous").get(url).status_code == 302


def _queries(client, params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(reverse("review:completeness"), params).status_code == 200
    return len(ctx.captured_queries)


@pytest.mark.parametrize("params", [{"year": YEAR}, {"year": YEAR, "org": "c1"}])
def test_it_answers_in_the_same_queries_at_two_sizes(scene, params):
    client = supervisor(scene, "prov-sup")
    client.get(reverse("review:completeness"), params)
    small = _queries(client, params)
    # Three times the tree, with reports and submissions in it.
    for c in range(2, 6):
        city = Organization.objects.create(name=f"第{c}市人民政府", code=f"c{c}", kind="government", parent=scene)
        for d in range(2):
            district = Organization.objects.create(name=f"区{c}{d}", code=f"c{c}d{d}", kind="government", parent=city)
            for o in range(4):
                Organization.objects.create(
                    name=f"局{c}{d}{o}", code=f"c{c}d{d}o{o}", kind="department", parent=district
                )
        submit(f"c{c}d0o0", local(2022, 1, 10, 9, 0))
    Organization.objects.create(
        name="新局", code="c1d1o9", kind="department", parent=Organization.objects.get(code="c1d1")
    )
    assert _queries(client, params) == small
