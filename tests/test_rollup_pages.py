"""The roll-up pages, exports, 从下级汇总填入 and the report scope (issue 15, ADR 0016)."""

from __future__ import annotations

import csv
import io
import random

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from disclosure.models import ActiveDisclosureRow, ApplicationRow, AuditEvent, Membership, Organization, Report
from disclosure.selectors import export_report, report_queryset
from disclosure.services.core import create_report, import_document

from .factories import balanced_document
from .test_rollup import _org, _province, _report

pytestmark = pytest.mark.django_db


def _client(org: Organization, role: str, name: str) -> Client:
    user = get_user_model().objects.create_user(name, password="unused-pass-1")
    Membership.objects.create(user=user, organization=org, role=role)
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("persona", "status"),
    [("parent_supervisor", 200), ("office_reviewer", 404), ("owner_clerk", 404), ("other_supervisor", 404)],
)
def test_it_shows_a_subtree_roll_up_to_its_supervisors_only(world, persona, status):
    district = world.office.parent
    url = reverse("review:rollup", args=[district.code, 2021])
    assert world.client(persona).get(url).status_code == status
    export = reverse("review:rollup_export", args=[district.code, 2021, "csv"])
    assert world.client(persona).get(export).status_code == status


def test_it_refuses_anonymous_visitors(world):
    url = reverse("review:rollup", args=[world.office.parent.code, 2021])
    assert world.client("anonymous").get(url).status_code == 302


def test_it_lays_out_the_sums_in_the_statutory_grids_with_coverage_and_marks_drafts(world):
    district = world.office.parent
    rng = random.Random(5)
    _report(world.office, 2021, "approved", rng, blank=0)
    sibling = Organization.objects.get(code="sibling")
    _report(sibling, 2021, "draft", rng, blank=0)
    extra = _org(90, district)
    client = world.client("parent_supervisor")
    page = client.get(reverse("review:rollup", args=[district.code, 2021]))
    rollup = page.context["rollup"]
    assert rollup.inputs == 1 and rollup.counts["missing"] == 1 and rollup.counts["pending"] == 1
    assert [o.code for o in rollup.missing] == [extra.code]
    value = ApplicationRow.objects.get(report__organization=world.office, row="new_received").natural_person
    assert 'data-ref="applications.new_received.natural_person"' in page.text
    assert "本年新收政府信息公开申请数量" in page.text or "新收" in page.text
    assert rollup.display("applications.new_received.natural_person") == str(value)
    assert "含草稿" not in page.text
    drafts = client.get(reverse("review:rollup", args=[district.code, 2021]), {"drafts": "1"})
    assert drafts.context["rollup"].inputs == 2 and "含草稿" in drafts.text


def test_it_exports_csv_with_labels_beside_codes_and_excel(world):
    district = world.office.parent
    _report(world.office, 2021, "published", random.Random(6), blank=0)
    Organization.objects.filter(pk=world.office.pk).update(name="=HYPERLINK(1)")
    client = world.client("parent_supervisor")
    response = client.get(reverse("review:rollup_export", args=[district.code, 2021, "csv"]), {"drafts": "1"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["数据口径", "含未审核报告（草稿、已提交、已退回）的数字，仅供参考"]
    cells = {r[0]: r for r in rows if r and r[0].startswith("applications.new_received.natural_person")}
    value = ApplicationRow.objects.get(report__organization=world.office, row="new_received").natural_person
    row = cells["applications.new_received.natural_person"]
    assert row[5] == str(value) and row[3].endswith("本年新收政府信息公开申请数量") or row[5] == str(value)
    assert row[4] == "自然人"
    assert ["'=HYPERLINK(1)"] == [r[1] for r in rows if r and r[0] == "test-org"]
    assert "含草稿" in response["Content-Disposition"] or "drafts" in response["Content-Disposition"]
    book = client.get(reverse("review:rollup_export", args=[district.code, 2021, "xlsx"]))
    workbook = load_workbook(io.BytesIO(book.content))
    assert workbook.sheetnames == ["汇总", "覆盖情况"]
    sums = {r[0]: r for r in workbook["汇总"].iter_rows(values_only=True) if r and r[0]}
    assert sums["applications.new_received.natural_person"][5] == value


def test_it_answers_the_roll_up_page_in_the_same_queries_at_two_sizes():
    province = _province(1, 2, 2)
    client = _client(province, Membership.Role.SUPERVISOR, "prov-sup")
    url = reverse("review:rollup", args=[province.code, 2021])

    def count(scope: str) -> tuple[int, int]:
        """Queries of the page summing afresh, then keeping its sums."""
        client.get(url, {"scope": scope})  # session
        cache.clear()
        counted = []
        for _ in range(2):
            with CaptureQueriesContext(connection) as ctx:
                assert client.get(url, {"scope": scope, "drafts": "1"}).status_code == 200
            counted.append(len(ctx.captured_queries))
        return tuple(counted)

    small = {scope: count(scope) for scope in ("children", "subtree")}
    assert all(fresh == kept + 3 for fresh, kept in small.values())  # the three sums
    # Four times the tree: more cities, districts, offices and reports.
    rng = random.Random(9)
    for c in range(3):
        city = _org(500 + c * 50, province)
        for d in range(3):
            district = _org(501 + c * 50 + d * 10, city)
            for o in range(5):
                _report(_org(502 + c * 50 + d * 10 + o, district), 2021, ["approved", "draft"][o % 2], rng)
    large = {scope: count(scope) for scope in ("children", "subtree")}
    assert small == large


# -- 从下级汇总填入 ------------------------------------------------------------------------


@pytest.fixture
def rollup_world(world):
    """The district government reports for itself and its departments (汇总)."""
    district = world.office.parent
    Organization.objects.filter(pk=district.pk).update(report_scope="rollup")
    district.refresh_from_db()
    rng = random.Random(11)
    for code, status in (("test-org", "approved"), ("sibling", "published")):
        import_document(balanced_document("2021", year=2021, rng=rng, org_code=code), status=status)
    report = create_report(district, 2021)
    clerk = _client(district, Membership.Role.CLERK, "gov-clerk")
    return district, report, clerk


def test_it_shows_the_reports_figures_beside_the_roll_up_and_writes_only_accepted_tables(world, rollup_world):
    district, report, clerk = rollup_world
    url = reverse("review:rollup_fill", args=[district.code, 2021])
    page = clerk.get(url)
    assert page.status_code == 200 and page.context["offers"] > 0
    response = clerk.post(url, {"table": "applications", **_hidden(page)})
    assert response.status_code == 302
    doc = export_report(report_queryset().get(pk=report.pk))
    rollup = page.context["rollup"]
    for row, cells in doc["applications"].items():
        for column, value in cells.items():
            assert value == rollup.value(f"applications.{row}.{column}"), (row, column)
    # Table 四 was not accepted: still blank.
    assert all(v is None for block in doc["reviews"].values() for v in block.values())
    actions = list(AuditEvent.objects.filter(report=report).values_list("action", flat=True))
    assert "report.filled_from_rollup" in actions and "report.rollup_accepted" in actions


def _hidden(page) -> dict[str, str]:
    import re

    return dict(re.findall(r'name="((?:shown|base):[^"]+)" value="([^"]*)"', page.text))


def test_it_writes_single_accepted_cells_and_refuses_a_figure_changed_since_it_was_shown(world, rollup_world):
    district, report, clerk = rollup_world
    url = reverse("review:rollup_fill", args=[district.code, 2021])
    page = clerk.get(url)
    hidden = _hidden(page)
    a, b = "applications.new_received.natural_person", "applications.new_received.commercial"
    ApplicationRow.objects.filter(report__organization=world.office, row="new_received").update(commercial=999)
    clerk.post(url, {"cell": [a, b], **hidden})
    doc = export_report(report_queryset().get(pk=report.pk))
    assert doc["applications"]["new_received"]["natural_person"] == int(hidden[f"shown:{a}"])
    assert doc["applications"]["new_received"]["commercial"] is None  # changed since shown: not written
    assert doc["applications"]["carried_over"]["natural_person"] is None  # not accepted


def test_it_lets_only_the_governments_clerk_fill_and_only_a_draft(world, rollup_world):
    district, report, clerk = rollup_world
    url = reverse("review:rollup_fill", args=[district.code, 2021])
    for persona in ("parent_supervisor", "owner_clerk", "other_supervisor"):
        assert world.client(persona).get(url).status_code == 404
    Report.objects.filter(pk=report.pk).update(status="submitted")
    page = clerk.get(url)
    assert not page.context["editable"]
    clerk.post(url, {"table": "applications", **_hidden(page)})
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_offers_no_fill_for_a_report_of_its_own_level(world, rollup_world):
    district, _report_, clerk = rollup_world
    Organization.objects.filter(pk=district.pk).update(report_scope="own")
    assert clerk.get(reverse("review:rollup_fill", args=[district.code, 2021])).status_code == 404


def test_it_lets_supervisors_set_the_report_scope_audited(world):
    district = world.office.parent
    url = reverse("review:rollup_scope", args=[district.code])
    assert world.client("other_supervisor").post(url, {"report_scope": "rollup"}).status_code == 404
    assert world.client("owner_clerk").post(url, {"report_scope": "rollup"}).status_code == 404
    district.refresh_from_db()
    assert district.report_scope == "own"
    world.client("parent_supervisor").post(url, {"report_scope": "rollup", "year": "2021"})
    district.refresh_from_db()
    assert district.report_scope == "rollup"
    event = AuditEvent.objects.get(action="organization.report_scope")
    assert event.data["changes"] == {"report_scope": ["own", "rollup"]}
    # A department's report never sums anything.
    world.client("parent_supervisor").post(
        reverse("review:rollup_scope", args=[world.office.code]), {"report_scope": "rollup"}
    )
    world.office.refresh_from_db()
    assert world.office.report_scope == "own"


def test_it_lets_the_admin_change_the_report_scope_audited(admin_client, world):
    district = world.office.parent
    url = reverse("admin:disclosure_organization_change", args=[district.pk])
    form = {
        "name": district.name,
        "code": district.code,
        "kind": district.kind,
        "parent": district.parent_id,
        "report_scope": "rollup",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
        "memberships-MIN_NUM_FORMS": "0",
        "memberships-MAX_NUM_FORMS": "1000",
    }
    assert admin_client.post(url, form).status_code == 302
    district.refresh_from_db()
    assert district.report_scope == "rollup"
    event = AuditEvent.objects.get(action="organization.report_scope")
    assert event.data["changes"] == {"report_scope": ["own", "rollup"]} and event.actor is not None
    # A department cannot sum anything: refused with a message, nothing changed.
    office_url = reverse("admin:disclosure_organization_change", args=[world.office.pk])
    form |= {"name": world.office.name, "code": world.office.code, "kind": "department", "parent": district.pk}
    page = admin_client.post(office_url, form, follow=True)
    world.office.refresh_from_db()
    assert world.office.report_scope == "own" and "只有人民政府的报告可以汇总所属部门" in page.text


def test_it_offers_2019_amounts_in_the_unit_the_government_report_states(world):
    from disclosure import formats as reg

    district = world.office.parent
    Organization.objects.filter(pk=district.pk).update(report_scope="rollup")
    district.refresh_from_db()
    _report(world.office, 2020, "approved", random.Random(3), blank=0)
    table = reg.format_for_year(2020).unit_table
    ref = f"active_disclosure.{table.code}.{table.rows[0].code}.amount"
    ActiveDisclosureRow.objects.filter(report__organization=world.office, subtable=table.code).update(amount="1.5")
    report = create_report(district, 2020)
    Report.objects.filter(pk=report.pk).update(procurement_unit="元")
    clerk = _client(district, Membership.Role.CLERK, "gov-clerk")
    url = reverse("review:rollup_fill", args=[district.code, 2020])
    hidden = _hidden(clerk.get(url))
    assert hidden[f"shown:{ref}"] == "15000.0000"
    clerk.post(url, {"cell": [ref], **hidden})
    doc = export_report(report_queryset().get(pk=report.pk))
    assert doc["active_disclosure"][table.code][table.rows[0].code]["amount"] == "15000.0000"


def test_it_sums_again_after_a_report_changes_though_the_page_keeps_its_sums(world):
    from disclosure.services.editing import save_edits

    district = world.office.parent
    report = import_document(balanced_document("2021", year=2021), status="draft").report
    client = world.client("parent_supervisor")
    url = reverse("review:rollup", args=[district.code, 2021])
    ref = "applications.new_received.natural_person"
    before = client.get(url, {"drafts": "1"}).context["rollup"].value(ref)
    with CaptureQueriesContext(connection) as ctx:
        client.get(url, {"drafts": "1"})
    assert not any("applicationrow" in q["sql"].lower() for q in ctx.captured_queries)  # kept
    save_edits(report, actor=None, bases={ref: str(before)}, cells={ref: str(before + 5)})
    assert client.get(url, {"drafts": "1"}).context["rollup"].value(ref) == before + 5
