"""The roll-up's inputs across a jurisdiction and its exact amounts (issue 15, ADR 0016):
a 汇总 government's report covers its departments and those of the lower governments
that report for themselves alone; nothing a 汇总 report covers is counted twice; amounts
are summed to every place they hold; draft sums are for supervisors."""

from __future__ import annotations

import csv
import io
import random
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosure import formats as reg
from disclosure.jurisdiction.rollup import SUBTREE, build_rollup, hierarchy_input
from disclosure.models import ActiveDisclosureRow, ApplicationRow, Membership, Organization, Report
from disclosure.portal.published import comparison
from disclosure.rules import check_document
from disclosure.selectors import export_report, report_queryset
from disclosure.services.core import create_report, import_document
from disclosure.services.rollup import RollupRefused, fill_from_rollup, offerable, report_unit
from disclosure.workflow import publish_imported

from .factories import balanced_document
from .test_portal_trends import publish
from .test_rollup import _report

pytestmark = pytest.mark.django_db
CELL = "applications.new_received.natural_person"
FEES = "active_disclosure.art20_8.fees.amount"


def _gov(code: str, parent: Organization | None, scope: str = "own") -> Organization:
    return Organization.objects.create(
        name=f"{code}人民政府", code=code, kind="government", parent=parent, report_scope=scope
    )


def _dept(code: str, parent: Organization) -> Organization:
    return Organization.objects.create(name=f"{code}局", code=code, kind="department", parent=parent)


def _with(org: Organization, value: int, status: str = "approved", year: int = 2021) -> None:
    _report(org, year, status, random.Random(value), blank=0)
    ApplicationRow.objects.filter(report__organization=org, report__year=year, row="new_received").update(
        natural_person=value
    )


def _client(org: Organization, *roles: str, name: str = "gov-clerk") -> Client:
    user = get_user_model().objects.create_user(name, password="unused-pass-1")
    for role in roles:
        Membership.objects.create(user=user, organization=org, role=role)
    client = Client()
    client.force_login(user)
    return client


def _hierarchy(report: Report) -> list:
    report = report_queryset().get(pk=report.pk)
    findings = check_document(export_report(report), None, hierarchy_input(report))
    return [f for f in findings if f.rule.startswith("hierarchy.")]


# -- exact amounts ------------------------------------------------------------------------


def test_it_sums_amounts_to_every_place_they_hold():
    city = _gov("c", None)
    a, b = _dept("a", city), _dept("b", city)
    for org, amount in ((a, "1.234567"), (b, "1.000001")):
        _with(org, 1)
        ActiveDisclosureRow.objects.filter(report__organization=org, subtable="art20_8", row="fees").update(
            amount=Decimal(amount)
        )
    rollup = build_rollup(city, 2021)
    assert rollup.value(FEES) == Decimal("2.234568")
    assert rollup.display(FEES) == "2.234568"


@pytest.fixture
def yuan_government():
    """A 2019-format government on 汇总 whose report states its procurement in 元,
    its departments' too: 12345.67 元 and 0.40 元."""
    district = _gov("d", None, "rollup")
    table = reg.format_for_year(2020).unit_table
    ref = f"active_disclosure.{table.code}.{table.rows[0].code}.amount"
    for org, amount in ((_dept("a", district), "12345.67"), (_dept("b", district), "0.40")):
        _report(org, 2020, "approved", random.Random(1), blank=0, unit="元")
        ActiveDisclosureRow.objects.filter(report__organization=org, subtable=table.code).update(amount=amount)
    report = create_report(district, 2020)
    Report.objects.filter(pk=report.pk).update(procurement_unit="元")
    return report_queryset().get(pk=report.pk), ref


def test_it_offers_and_compares_an_amount_exactly_in_the_unit_the_government_states(yuan_government):
    report, ref = yuan_government
    figures = offerable(build_rollup(report.organization, 2020, lists=False), report_unit(report))
    assert Decimal(figures[ref]) == Decimal("12346.07")
    assert hierarchy_input(report).sums[ref] == Decimal("12346.07")
    fill_from_rollup(report, actor=None, refs=[ref], shown=figures, bases={})
    assert not [f for f in _hierarchy(report) if f.rule == "hierarchy.rollup" and ref in f.cells]


def test_it_heads_the_fill_tables_amounts_in_the_reports_unit(yuan_government):
    report, ref = yuan_government
    clerk = _client(report.organization, Membership.Role.CLERK)
    page = clerk.get(reverse("review:rollup_fill", args=[report.organization.code, 2020]))
    grid = page.context["sections"][0]["grid"]
    heads = [c.text for c in grid.cells if c.role == "header" and "（" in c.text and "元）" in c.text]
    assert heads and all(h.endswith("（元）") and not h.endswith("（万元）") for h in heads), heads


# -- a 汇总 government's inputs ----------------------------------------------------------


@pytest.fixture
def city():
    """City on 汇总 with its department (33) and a district reporting for itself alone (26)
    with its own department (11)."""
    city = _gov("city", None, "rollup")
    _with(_dept("city-edu", city), 33)
    district = _gov("district", city)
    _with(district, 26)
    _with(_dept("district-edu", district), 11)
    report = create_report(city, 2021)
    return report_queryset().get(pk=report.pk)


def test_it_counts_the_departments_of_a_lower_government_that_reports_for_itself_alone(city):
    org = city.organization
    rollup = build_rollup(org, 2021)
    assert rollup.value(CELL) == 70
    assert rollup.complete_coverage
    assert {o.code for o in rollup.included} == {"city-edu", "district", "district-edu"}
    assert hierarchy_input(city).sums[CELL] == 70
    assert offerable(build_rollup(org, 2021, lists=False))[CELL] == "70"


def test_it_cannot_tell_while_a_lower_governments_department_is_not_approved(city):
    Report.objects.filter(organization__code="district-edu").update(status="submitted")
    data = hierarchy_input(city)
    assert data.sums[CELL] == 59 and not data.complete
    findings = _hierarchy(city)
    assert "hierarchy.undecided" in [f.rule for f in findings]
    assert any("district-edu局" in f.message for f in findings)


def test_it_stops_at_a_lower_government_whose_report_covers_its_subtree(city):
    Organization.objects.filter(code="district").update(report_scope="rollup")
    org = Organization.objects.get(code="city")
    rollup = build_rollup(org, 2021)
    assert rollup.value(CELL) == 59  # the district's report stands for its department
    assert {o.code for o in rollup.included} == {"city-edu", "district"}


def test_it_shows_the_governments_inputs_on_its_roll_up_page_and_says_so(city):
    org = city.organization
    supervisor = _client(org, Membership.Role.SUPERVISOR, name="city-sup")
    page = supervisor.get(reverse("review:rollup", args=[org.code, 2021]))
    assert page.context["rollup"].value(CELL) == 70
    assert "其所属机关的报告一并计入" in page.context["basis"]
    clerk = _client(org, Membership.Role.CLERK)
    fill = clerk.get(reverse("review:rollup_fill", args=[org.code, 2021]))
    assert fill.context["rollup"].value(CELL) == 70


def _chain(top: Organization, tag: str, n: int, rng: random.Random) -> None:
    """``n`` districts on 本级 under ``top``, each with two departments, all reporting."""
    for i in range(n):
        district = _gov(f"{tag}-{i}", top)
        _report(district, 2021, "approved", rng)
        for k in range(2):
            _report(_dept(f"{tag}-{i}-{k}", district), 2021, ["approved", "draft"][k], rng)


def test_it_reads_a_governments_inputs_in_the_same_queries_at_two_sizes(city):
    org = city.organization
    supervisor = _client(org, Membership.Role.SUPERVISOR, name="city-sup")
    url = reverse("review:rollup", args=[org.code, 2021])
    counted = {}
    for label, n in (("small", 1), ("large", 6)):
        _chain(org, label, n, random.Random(n))
        reset_queries()  # the log keeps 9,000 queries: a full one would capture none
        with CaptureQueriesContext(connection) as built:
            build_rollup(org, 2021)
        with CaptureQueriesContext(connection) as checked:
            data = hierarchy_input(report_queryset().get(pk=city.pk))
        supervisor.get(url)  # session
        cache.clear()
        with CaptureQueriesContext(connection) as page:
            assert supervisor.get(url).status_code == 200
        counted[label] = (len(built.captured_queries), len(checked.captured_queries), len(page.captured_queries))
        assert data.inputs == 3 + 2 * (1 if n == 1 else 7)  # districts and their approved departments
    assert counted["small"] == counted["large"]
    assert counted["small"][0] == 5


# -- nothing counted twice below a 汇总 government -----------------------------------------


def test_it_counts_a_lower_rollup_governments_report_and_not_its_subtree_in_the_whole_subtree():
    province = _gov("p", None)
    city = _gov("c", province, "rollup")
    _with(city, 100)
    _with(_dept("c-edu", city), 33)
    _with(_dept("p-edu", province), 5)
    rollup = build_rollup(province, 2021, scope=SUBTREE)
    assert rollup.value(CELL) == 105
    assert {o.code for o in rollup.included} == {"c", "p-edu"}
    assert rollup.counts["orgs"] == 2
    # Below a government on 本级 the whole subtree counts.
    Organization.objects.filter(pk=city.pk).update(report_scope="own")
    assert build_rollup(province, 2021, scope=SUBTREE).value(CELL) == 138


def test_it_states_what_the_whole_subtree_counts_on_screen_and_in_the_exports():
    province = _gov("p", None)
    city = _gov("c", province, "rollup")
    _with(city, 100)
    _with(_dept("c-edu", city), 33)
    supervisor = _client(province, Membership.Role.SUPERVISOR, name="p-sup")
    page = supervisor.get(reverse("review:rollup", args=[province.code, 2021]), {"scope": SUBTREE})
    assert "只计入该政府的报告" in page.context["basis"] and "只计入该政府的报告" in page.text
    response = supervisor.get(reverse("review:rollup_export", args=[province.code, 2021, "csv"]), {"scope": SUBTREE})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[2][0] == "计入规则" and "只计入该政府的报告" in rows[2][1]
    sums = {r[0]: r for r in rows if r}
    assert sums[CELL][5] == "100"
    children = supervisor.get(reverse("review:rollup_export", args=[province.code, 2021, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(children.streaming_content).decode("utf-8-sig"))))
    assert rows[2][0] != "计入规则"  # plain direct children: nothing to explain


def test_it_compares_jurisdictions_without_counting_a_rollup_governments_departments(
    world, django_capture_on_commit_callbacks
):
    Organization.objects.filter(code="district-a").update(report_scope="rollup")
    own = balanced_document("2021", year=2021, org_code="district-a", rng=random.Random(1))
    own["organization"] |= {"kind": "government", "name": "甲区人民政府"}
    with django_capture_on_commit_callbacks(execute=True):
        publish_imported(import_document(own, status=Report.Status.PUBLISHED).report)
        publish(2021, code="test-org", seed=2)
        publish(2021, code="sibling", seed=3)
    city = Organization.objects.get(code="city")
    rows = {r["code"]: r for r in comparison(city, 2021)["rows"]}
    assert rows["district-a"]["reports"] == 1
    assert rows["district-a"]["received"] == own["applications"]["new_received"]["total"]
    top = comparison(None, 2021)
    assert top["rows"][0]["reports"] == 1 and top["rows"][0]["received"] == rows["district-a"]["received"]
    assert "只计入该政府的报告" in top["note"]


# -- draft sums are for supervisors ---------------------------------------------------------


@pytest.fixture
def drafting(world):
    """甲区 on 汇总: one department approved (4), one still drafting (7)."""
    district = Organization.objects.get(code="district-a")
    Organization.objects.filter(pk=district.pk).update(report_scope="rollup")
    district.refresh_from_db()
    _with(world.office, 4)
    _with(Organization.objects.get(code="sibling"), 7, status="draft")
    return district, create_report(district, 2021)


def test_it_keeps_the_sums_of_childrens_drafts_from_a_governments_clerk(drafting):
    district, _report_ = drafting
    clerk = _client(district, Membership.Role.CLERK)
    page = clerk.get(reverse("review:rollup_fill", args=[district.code, 2021]), {"drafts": "1"})
    assert page.status_code == 200 and not page.context["drafts"] and not page.context["drafts_allowed"]
    assert page.context["rollup"].inputs == 1 and page.context["rollup"].cells[CELL].known == 4
    assert "含草稿" not in page.text
    # A clerk who also supervises the district sees them, marked.
    both = _client(district, Membership.Role.CLERK, Membership.Role.SUPERVISOR, name="gov-office")
    page = both.get(reverse("review:rollup_fill", args=[district.code, 2021]), {"drafts": "1"})
    assert page.context["drafts"] and page.context["rollup"].value(CELL) == 11 and "含草稿" in page.text


def test_it_refuses_draft_based_figures_from_anyone_but_a_supervisor(drafting):
    district, report = drafting
    clerk = get_user_model().objects.create_user("gov-clerk", password="unused-pass-1")
    Membership.objects.create(user=clerk, organization=district, role=Membership.Role.CLERK)
    figures = offerable(build_rollup(district, 2021, drafts=True, lists=False))
    for actor in (clerk, None):
        with pytest.raises(RollupRefused) as refused, transaction.atomic():
            fill_from_rollup(report, actor=actor, refs=[CELL], shown=figures, bases={}, drafts=True)
        assert refused.value.code == "drafts_not_allowed"
    assert export_report(report_queryset().get(pk=report.pk))["applications"]["new_received"]["natural_person"] is None
    Membership.objects.create(user=clerk, organization=district, role=Membership.Role.SUPERVISOR)
    clerk = get_user_model().objects.get(pk=clerk.pk)  # roles are cached per user object
    result = fill_from_rollup(report, actor=clerk, refs=[CELL], shown=figures, bases={}, drafts=True)
    assert result.written == [CELL]


def test_it_still_fills_from_approved_reports_for_the_clerk(drafting):
    district, report = drafting
    clerk = get_user_model().objects.create_user("gov-clerk", password="unused-pass-1")
    Membership.objects.create(user=clerk, organization=district, role=Membership.Role.CLERK)
    # Coverage is incomplete (the draft): the approved sum is offered and taken, nothing else.
    figures = offerable(build_rollup(district, 2021, lists=False))
    assert figures[CELL] == "4"
    assert fill_from_rollup(report, actor=clerk, refs=[CELL], shown=figures, bases={}).written == [CELL]


def test_it_checks_the_city_again_when_a_district_changes_what_its_report_covers(city):
    from disclosure.services.rollup import set_report_scope

    figures = offerable(build_rollup(city.organization, 2021, lists=False))
    fill_from_rollup(city, actor=None, refs=list(figures), shown=figures, bases={})
    city.refresh_from_db()
    assert not {"hierarchy.rollup", "hierarchy.undecided"} & set(city.finding_rules)
    # The district now reports for its department: the city's inputs lose the department's 11.
    set_report_scope(Organization.objects.get(code="district"), "rollup", actor=None)
    city.refresh_from_db()
    assert "hierarchy.rollup" in city.finding_rules


def test_it_checks_the_city_again_after_a_write_to_a_lower_governments_department(
    city, django_capture_on_commit_callbacks
):
    from disclosure.services.findings import store_findings

    figures = offerable(build_rollup(city.organization, 2021, lists=False))
    fill_from_rollup(city, actor=None, refs=list(figures), shown=figures, bases={})
    city.refresh_from_db()
    assert not {"hierarchy.rollup", "hierarchy.undecided"} & set(city.finding_rules)
    # The district reports for itself alone: its department's report is the city's input.
    department = report_queryset().get(organization__code="district-edu", year=2021)
    ApplicationRow.objects.filter(report=department, row="new_received").update(natural_person=12)
    with django_capture_on_commit_callbacks(execute=True):
        store_findings(department)
    city.refresh_from_db()
    assert "hierarchy.rollup" in city.finding_rules


def test_it_checks_the_city_again_when_an_approved_input_is_returned(city, django_capture_on_commit_callbacks):
    from disclosure.workflow import Action, transition

    figures = offerable(build_rollup(city.organization, 2021, lists=False))
    fill_from_rollup(city, actor=None, refs=list(figures), shown=figures, bases={})
    city.refresh_from_db()
    assert "hierarchy.undecided" not in city.finding_rules
    department = Report.objects.get(organization__code="city-edu", year=2021)
    with django_capture_on_commit_callbacks(execute=True):
        transition(department, Action.RETURN, actor=None, comment="请核对。")
    city.refresh_from_db()
    assert "hierarchy.undecided" in city.finding_rules  # its input is no longer approved
