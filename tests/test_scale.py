"""Reads that do not grow with the jurisdiction (issue 16, ADR 0014)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from disclosure import permissions
from disclosure.models import Membership, Organization, Report
from disclosure.portal import published as portal
from disclosure.services import create_report, import_document, save_edits

from .factories import balanced_document

pytestmark = pytest.mark.django_db


def _tree(cities: int, districts: int, offices: int) -> Organization:
    """A province: cities, their districts, each district's offices."""
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


def _supervisor(org: Organization, name: str = "sup") -> Client:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user(name, password="unused-pass-1")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.SUPERVISOR)
    client = Client()
    client.force_login(user)
    return client


def _reports(year: int) -> None:
    """Reports in several states for about two thirds of the offices."""
    states = ["draft", "submitted", "returned", "approved", "published"]
    for i, org in enumerate(Organization.objects.filter(kind="department").order_by("code")):
        if i % 3 == 2:
            continue
        report = create_report(org, year)
        # An empty draft has errors; these tests set the counts they look for.
        Report.objects.filter(pk=report.pk).update(status=states[i % len(states)], error_count=0)


def test_it_keeps_the_path_on_create_and_rewrites_a_moved_subtree():
    province = _tree(2, 2, 2)
    office = Organization.objects.get(code="c0d1o1")
    district = office.parent
    city = district.parent
    assert office.path == f"/{province.pk}/{city.pk}/{district.pk}/{office.pk}/"
    other_city = Organization.objects.get(code="c1")
    district.parent = other_city
    district.save()
    office.refresh_from_db()
    assert office.path == f"/{province.pk}/{other_city.pk}/{district.pk}/{office.pk}/"
    assert permissions.subtree_ids([other_city.pk]) >= {district.pk, office.pk}
    assert office.pk not in permissions.subtree_ids([city.pk])
    with pytest.raises(ValueError):
        other_city.parent = office
        other_city.save()


def test_it_answers_subtree_membership_without_reading_every_organization(django_assert_num_queries):
    province = _tree(3, 2, 2)
    city = Organization.objects.get(code="c1")
    with django_assert_num_queries(2) as captured:  # the roots' paths, then one prefix scan
        ids = permissions.subtree_ids([city.pk])
    assert "LIKE" in captured.captured_queries[-1]["sql"].upper()
    assert ids == set(Organization.objects.filter(code__startswith="c1").values_list("pk", flat=True))
    assert len(permissions.subtree_ids([province.pk])) == Organization.objects.count()


def test_it_stores_findings_on_import_and_save_and_refreshes_them_by_command(world):
    result = import_document(balanced_document("2021", year=2021))
    report = result.report
    report.refresh_from_db()
    errors = sum(f.severity == "error" for f in result.findings)
    assert report.error_count == errors
    # A sum that no longer adds up is an error the dashboard sees at once.
    saved = save_edits(
        report,
        actor=world.users["owner_clerk"],
        expected_version=report.version,
        cells={"applications.new_received.natural_person": "999999"},
    )
    report.refresh_from_db()
    assert report.error_count > errors and report.finding_rules, saved.errors
    Report.objects.filter(pk=report.pk).update(error_count=0, warning_count=0, finding_rules=[])
    out = StringIO()
    call_command("refresh_findings", stdout=out)
    report.refresh_from_db()
    assert report.error_count > errors and "1 changed" in out.getvalue()


def _dashboard_queries(client, django_assert_num_queries, params: dict, expected: int) -> None:
    with django_assert_num_queries(expected):
        response = client.get(reverse("review:dashboard"), params)
    assert response.status_code == 200


@pytest.mark.parametrize(
    "params",
    [
        {"year": 2021},
        {"year": 2021, "status": "submitted"},
        {"year": 2021, "problem": "errors", "sort": "errors"},
        {"year": 2021, "problem": "late", "q": "局"},
        {"year": 2021, "org": "c1"},
    ],
)
def test_it_answers_the_province_dashboard_in_the_same_queries_at_two_sizes(django_assert_num_queries, params):
    province = _tree(2, 2, 3)
    _reports(2021)
    Report.objects.filter(organization__code__in=["c0d0o0", "c1d1o1"]).update(error_count=1)
    client = _supervisor(province)
    client.get(reverse("review:dashboard"), params)  # session, caches
    counted = {}

    def count(label):
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as ctx:
            assert client.get(reverse("review:dashboard"), params).status_code == 200
        counted[label] = len(ctx.captured_queries)

    count("small")
    # Three times the tree: more cities, districts, offices and reports.
    for c in range(2, 5):
        city = Organization.objects.create(name=f"第{c}市人民政府", code=f"c{c}", kind="government", parent=province)
        for d in range(3):
            district = Organization.objects.create(name=f"区{c}{d}", code=f"c{c}d{d}", kind="government", parent=city)
            for o in range(4):
                org = Organization.objects.create(
                    name=f"局{c}{d}{o}", code=f"c{c}d{d}o{o}", kind="department", parent=district
                )
                Report.objects.filter(pk=create_report(org, 2021).pk).update(error_count=c % 2)
    count("large")
    assert counted["small"] == counted["large"]
    _dashboard_queries(client, django_assert_num_queries, params, counted["small"])


def test_it_drills_down_from_the_province_to_an_office_with_roll_up_counts_and_a_breadcrumb():
    province = _tree(2, 2, 3)
    _reports(2021)
    Report.objects.filter(organization__code="c0d0o0").update(error_count=3)
    client = _supervisor(province)
    page = client.get(reverse("review:dashboard"), {"year": 2021})
    children = {c["org"].code: c for c in page.context["children"]}
    assert set(children) == {"c0", "c1"}
    c0 = children["c0"]
    # A city, 2 districts, 6 offices; the governments have no report, a third of the offices neither.
    assert c0["orgs"] == 9 and c0["errors"] == 1
    assert c0["missing"] == 3 + 2
    assert sum(c0[s] for s in ("draft", "submitted", "returned", "approved", "published")) == 4
    # 2021's deadlines are past: everything not published is late, not created included.
    assert c0["late"] == 9 - c0["published"] and c0["published"] >= 1
    totals = page.context["totals"]
    assert totals["orgs"] == Organization.objects.count() == 19
    assert totals["errors"] == 1
    assert "第0市人民政府" in page.text and "下级机关" in page.text
    city = client.get(reverse("review:dashboard"), {"year": 2021, "org": "c0"})
    assert {c["org"].code for c in city.context["children"]} == {"c0d0", "c0d1"}
    assert [b.code for b in city.context["breadcrumb"]] == ["prov", "c0"]
    district = client.get(reverse("review:dashboard"), {"year": 2021, "org": "c0d0", "problem": "errors"})
    assert [r["org"].code for r in district.context["rows"]] == ["c0d0o0"]
    assert 'href="?year=2021&amp;org=c0"' in district.text  # the breadcrumb back up
    assert [b.name for b in district.context["breadcrumb"]] == ["某省人民政府", "第0市人民政府", "第0市第0区人民政府"]


def test_it_reads_stored_counts_instead_of_running_the_rules():
    province = _tree(1, 1, 2)
    _reports(2021)
    Report.objects.filter(organization__code="c0d0o1").update(error_count=2, warning_count=1)
    client = _supervisor(province)
    rows = client.get(reverse("review:dashboard"), {"year": 2021, "problem": "errors"}).context["rows"]
    assert [(r["org"].code, r["errors"], r["warnings"]) for r in rows] == [("c0d0o1", 2, 1)]


def test_it_refuses_a_level_outside_the_users_scope():
    _tree(2, 1, 1)
    client = _supervisor(Organization.objects.get(code="c0"))
    assert client.get(reverse("review:dashboard"), {"org": "c1"}).status_code == 404
    assert client.get(reverse("review:dashboard"), {"org": "prov"}).status_code == 404
    page = client.get(reverse("review:dashboard"), {"org": "c0d0"})
    assert [b.code for b in page.context["breadcrumb"]] == ["c0", "c0d0"]  # nothing above the scope


def test_it_pages_the_rows_and_streams_every_filtered_row_and_the_roll_up_as_csv():
    province = _tree(2, 2, 15)
    _reports(2021)
    client = _supervisor(province)
    page = client.get(reverse("review:dashboard"), {"year": 2021})
    assert len(page.context["rows"]) == 50 and page.context["page"].paginator.count == 67
    second = client.get(reverse("review:dashboard"), {"year": 2021, "page": 2})
    assert len(second.context["rows"]) == 17
    response = client.get(reverse("review:dashboard"), {"year": 2021, "format": "csv"})
    assert response.streaming
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 67
    summary = client.get(reverse("review:dashboard"), {"year": 2021, "format": "csv", "view": "summary"})
    text = b"".join(summary.streaming_content).decode("utf-8-sig").splitlines()
    assert text[0].startswith("机关代码,机关,机关数,未创建")
    assert text[1].startswith("c0,第0市人民政府,33,") and text[-1].startswith("prov,某省人民政府（合计）,67,")


def test_it_caches_the_statistics_until_the_next_publication(
    django_assert_num_queries, django_capture_on_commit_callbacks
):
    from disclosure.workflow import publish_imported

    report = import_document(balanced_document("2021", year=2021), status="published").report
    publish_imported(report)
    first = portal.statistics(None)
    assert first[0]["reports"] == 1
    with django_assert_num_queries(0):
        assert portal.statistics(None) == first
    doc = balanced_document("2019", year=2020)
    with django_capture_on_commit_callbacks(execute=True):
        publish_imported(import_document(doc, status="published").report)
    assert [y["year"] for y in portal.statistics(None)] == [2020, 2021]


def test_it_lists_jurisdictions_by_path(world, report):
    from disclosure.workflow import publish_imported

    Report.objects.filter(pk=report.pk).update(status="published")
    publish_imported(report)
    assert {j.code for j in portal.jurisdictions()} == {"city", "district-a"}


def test_it_adds_up_the_statistics_in_one_aggregate_query_at_two_sizes(django_assert_num_queries):
    from django.core.cache import cache

    from disclosure.workflow import publish_imported

    def publish(code: str, year: int, fmt: str) -> None:
        doc = balanced_document(fmt, year=year, org_code=code)
        publish_imported(import_document(doc, status="published").report)

    publish("a", 2021, "2021")
    with django_assert_num_queries(1):
        small = portal.statistics(None)
    publish("b", 2021, "2021")
    publish("c", 2020, "2019")
    cache.clear()
    with django_assert_num_queries(1):
        large = portal.statistics(None)
    assert [y["reports"] for y in small] == [1] and [y["reports"] for y in large] == [1, 2]
    one = small[0]
    assert large[1]["received"] == 2 * one["received"] and large[1]["mix"][0]["value"] == 2 * one["mix"][0]["value"]


def test_it_orders_a_subtree_for_the_workbook_reading_that_subtree_only(django_assert_num_queries):
    _tree(3, 2, 2)
    city = Organization.objects.get(code="c1")
    everything = list(Organization.objects.filter(code__startswith="c1"))  # the export job passes its whole scope
    with django_assert_num_queries(1) as captured:
        ordered = permissions.tree_order(everything)
    assert "LIKE" in captured.captured_queries[0]["sql"].upper()
    assert ordered[0] == city and {o.code for o in ordered} == {o.code for o in everything}
    codes = [o.code for o in ordered]
    assert codes.index("c1d0") < codes.index("c1d0o0") < codes.index("c1d1")


def test_it_fills_the_paths_of_existing_organizations_in_the_migration():
    import importlib

    from django.apps import apps

    migration = importlib.import_module("disclosure.migrations.0007_scale_reads")
    _tree(2, 1, 1)
    expected = dict(Organization.objects.values_list("pk", "path"))
    Organization.objects.update(path="")
    migration.fill_paths(apps, None)
    assert dict(Organization.objects.values_list("pk", "path")) == expected
