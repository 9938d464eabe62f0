"""The clerk's workspace: who sees what, saving, conflicts, submission."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from disclosure.models import AuditEvent, Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import import_document
from disclosure.services.editing import display, edit_values
from disclosure.wizard import steps

from .factories import balanced_document

pytestmark = pytest.mark.django_db
YEAR = 2021


def make_clerk(username: str, org: Organization) -> Client:
    user = get_user_model().objects.create_user(username, password="not-used-1")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.CLERK)
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def office():
    return Organization.objects.create(name="测试局", code="test-org", kind="department")


@pytest.fixture
def report(office) -> Report:
    doc = balanced_document("2021", year=YEAR)
    doc["applications"]["granted"]["natural_person"] = None  # one blank left to fill
    return import_document(doc).report


@pytest.fixture
def owner(office) -> Client:
    return make_clerk("owner", office)


@pytest.fixture
def member(office) -> Client:
    return make_clerk("member", office)


@pytest.fixture
def outsider() -> Client:
    other = Organization.objects.create(name="别的局", code="other-org", kind="department")
    return make_clerk("outsider", other)


def shown(report: Report) -> dict[str, str]:
    """What an editing page of the report shows now: the bases of the edits made on it."""
    report = Report.objects.get(pk=report.pk)
    return {ref: display(value) for ref, value in edit_values(export_report(report), report).items()}


def save(
    client: Client,
    report: Report,
    values: dict,
    version: int | None = None,
    step: str = "applications",
    bases: dict | None = None,
):
    """An autosave as the page sends it: each edit with the value it was typed over."""
    url = reverse("workspace:autosave", args=[report.organization.code, report.year])
    now = shown(report)
    bases = {ref: now.get(ref, "") for ref in values} | (bases or {})
    body = {"version": report.version if version is None else version, "step": step, "values": values, "bases": bases}
    return client.post(url, json.dumps(body), content_type="application/json")


def report_urls(report: Report) -> list[tuple[str, str]]:
    args = [report.organization.code, report.year]
    urls = [("get", reverse("workspace:step", args=[*args, s.code])) for s in steps(report.spec)]
    urls += [("post", reverse("workspace:step", args=[*args, "applications"]))]
    urls += [
        ("post", reverse(name, args=args))
        for name in ("workspace:autosave", "workspace:no_applications", "workspace:explain", "workspace:submit")
    ]
    return urls


# -- who sees what ---------------------------------------------------------------


def test_it_shows_a_clerk_their_offices_reports_only(owner, outsider, report):
    page = owner.get(reverse("workspace:dashboard"))
    assert page.status_code == 200
    assert "测试局" in page.text and str(YEAR) in page.text
    assert "别的局" not in page.text
    assert "测试局" not in outsider.get(reverse("workspace:dashboard")).text


def test_it_gives_an_outsider_404_on_every_url_of_the_report(outsider, report):
    for method, url in report_urls(report):
        response = getattr(outsider, method)(url)
        assert response.status_code == 404, (method, url)
    create = outsider.post(reverse("workspace:create", args=["test-org"]))
    assert create.status_code == 404
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_sends_anonymous_visitors_to_sign_in(client, report):
    for method, url in report_urls(report):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/"), url


def test_it_lets_the_owner_open_every_step(owner, report):
    for _method, url in report_urls(report)[: len(steps(report.spec))]:
        assert owner.get(url).status_code == 200, url


# -- creating ----------------------------------------------------------------------


def test_it_creates_this_years_report_in_one_click_and_carries_last_year_over(owner, office, monkeypatch):
    import datetime as dt

    last = balanced_document("2021", year=2025, org_code="test-org")
    import_document(last, status=Report.Status.PUBLISHED)
    monkeypatch.setattr("disclosure.workspace.views.timezone.localdate", lambda: dt.date(2026, 11, 23))

    response = owner.post(reverse("workspace:create", args=["test-org"]))

    report = Report.objects.get(organization=office, year=2026)
    assert response["Location"] == reverse("workspace:step", args=["test-org", 2026, "basic"])
    assert report.format == "2021" and report.status == Report.Status.DRAFT
    doc = export_report(report)
    assert doc["applications"]["carried_over"] == {**last["applications"]["carried_forward"]}
    assert doc["applications"]["new_received"]["natural_person"] is None
    assert AuditEvent.objects.filter(report=report, action="report.prefilled").exists()


def test_it_creates_a_late_report_for_an_earlier_year_with_that_years_format(owner, office):
    owner.post(reverse("workspace:create", args=["test-org"]), {"year": "2020"})
    assert Report.objects.get(organization=office, year=2020).format == "2019"
    response = owner.post(reverse("workspace:create", args=["test-org"]), {"year": "2999"})
    assert response.status_code == 302 and not Report.objects.filter(year=2999).exists()


# -- saving ------------------------------------------------------------------------


def test_it_saves_what_parses_and_returns_errors_at_their_cells(owner, report):
    response = save(
        owner,
        report,
        {
            "applications.granted.natural_person": "１,２３４",
            "applications.granted.commercial": "-1",
            "applications.granted.total": "99",
            "narrative.overview.platform": "新平台上线。",
        },
    )
    data = response.json()
    assert response.status_code == 200 and data["ok"]
    assert data["errors"] == {
        "applications.granted.commercial": "件数不能为负数。",
        "applications.granted.total": "总计由系统自动计算，无需填写。",
    }
    doc = export_report(Report.objects.get(pk=report.pk))
    assert doc["applications"]["granted"]["natural_person"] == 1234
    assert doc["narrative"]["overview"]["platform"] == "新平台上线。"
    assert data["values"]["applications.granted.natural_person"] == "1234"
    assert data["computed"]["applications.granted.total"] == str(doc["applications"]["granted"]["total"])
    assert data["version"] == report.version + 1
    assert "findings_html" in data and isinstance(data["findings"], list)


def test_it_keeps_blank_distinct_from_zero(owner, report):
    save(owner, report, {"applications.granted.natural_person": ""})
    assert export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["natural_person"] is None
    report.refresh_from_db()
    save(owner, report, {"applications.granted.natural_person": "0"})
    assert export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["natural_person"] == 0


def test_it_records_every_save_in_the_audit_trail(owner, report):
    save(owner, report, {"applications.granted.natural_person": "3"})
    event = AuditEvent.objects.filter(action="report.saved").get()
    assert event.actor.username == "owner"
    assert event.data["changes"]["applications.granted.natural_person"] == [None, 3]


def test_it_refuses_a_stale_cell_alone_and_says_who_changed_it(owner, member, report):
    """Two clients load the same values; the second save must not overwrite the first's cell."""
    loaded = shown(report)
    research_before = export_report(report)["applications"]["granted"]["research"]
    first = save(owner, report, {"applications.granted.natural_person": "7"})
    assert first.status_code == 200 and not first.json()["conflicts"]

    second = save(
        member,
        report,
        {"applications.granted.natural_person": "9", "applications.granted.research": str(research_before + 1)},
        bases=loaded,
    )

    assert second.status_code == 200
    data = second.json()
    conflict = data["conflicts"]["applications.granted.natural_person"]
    assert conflict["value"] == "7" and conflict["mine"] == "9" and conflict["by"] == "owner"
    assert conflict["label"] == report.spec.label_of("applications.granted.natural_person")
    assert "applications.granted.natural_person" not in data["values"]
    assert data["values"]["applications.granted.research"] == str(research_before + 1)
    doc = export_report(Report.objects.get(pk=report.pk))
    assert doc["applications"]["granted"]["natural_person"] == 7  # the stale cell did not land
    assert doc["applications"]["granted"]["research"] == research_before + 1  # the fresh one did

    # The clerk chooses to keep theirs: sent again, based on what they were shown.
    retry = save(
        member, report, {"applications.granted.natural_person": "9"}, bases={"applications.granted.natural_person": "7"}
    )
    assert retry.status_code == 200 and not retry.json()["conflicts"]
    assert export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["natural_person"] == 9


def test_it_saves_a_step_posted_without_javascript(owner, report):
    url = reverse("workspace:step", args=["test-org", YEAR, "applications"])
    response = owner.post(
        url, {"version": report.version, "applications.granted.natural_person": "4", "goto": "reviews"}
    )
    assert response.status_code == 302 and response["Location"].endswith("/reviews/")
    assert export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["natural_person"] == 4


def test_it_keeps_what_was_typed_when_a_posted_step_has_errors(owner, report):
    url = reverse("workspace:step", args=["test-org", YEAR, "applications"])
    response = owner.post(
        url,
        {
            "version": report.version,
            "applications.granted.natural_person": "abc",
            "applications.granted.research": "5",
            "goto": "reviews",
        },
    )
    assert response.status_code == 422
    assert 'value="abc"' in response.text and "不是数字" in response.text
    assert export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["research"] == 5


def test_it_fills_table_three_with_zeros_in_one_click(owner, report):
    owner.post(reverse("workspace:no_applications", args=["test-org", YEAR]), {"version": report.version})
    apps = export_report(Report.objects.get(pk=report.pk))["applications"]
    assert all(value == 0 for row in apps.values() for value in row.values())


# -- warnings, errors, submission ----------------------------------------------------------


def test_it_blocks_submission_while_errors_remain(owner, report):
    response = owner.post(reverse("workspace:submit", args=["test-org", YEAR]), follow=True)
    assert "错误" in response.text
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT


def test_it_needs_an_explanation_for_each_warning_before_submission(owner, report):
    save(owner, report, {"applications.granted.natural_person": "0"})
    report.refresh_from_db()
    # Re-balance after the fill, then make a warning: more than four decimal places.
    fixed = balanced_document("2021", year=YEAR)
    cells = {f"applications.granted.{k}": str(v) for k, v in fixed["applications"]["granted"].items() if k != "total"}
    cells["active_disclosure.art20_8.fees.amount"] = "1.23456"
    save(owner, report, cells)
    report.refresh_from_db()
    submit_url = reverse("workspace:submit", args=["test-org", YEAR])
    owner.post(submit_url)
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT

    key = "amount.precision:active_disclosure.art20_8.fees.amount"
    owner.post(reverse("workspace:explain", args=["test-org", YEAR]), {"key": key, "text": "按实际收费金额填写。"})
    response = owner.post(submit_url)

    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == Report.Status.SUBMITTED
    assert report.explanations[key] == "按实际收费金额填写。"
    owner.post(submit_url)  # a double click changes nothing
    assert AuditEvent.objects.filter(report=report, action="report.submit").count() == 1


def test_it_makes_a_submitted_report_read_only(owner, report):
    Report.objects.filter(pk=report.pk).update(status=Report.Status.SUBMITTED)
    response = save(owner, report, {"applications.granted.natural_person": "1"})
    assert response.status_code == 409 and "不能修改" in response.json()["message"]
    page = owner.get(reverse("workspace:step", args=["test-org", YEAR, "applications"]))
    assert "<fieldset disabled>" in page.text


def test_it_prefills_2019_item_counts_from_last_year(office):
    from disclosure.services import create_report, prefill_from_previous

    last = balanced_document("2019", year=2019, org_code="test-org")
    import_document(last, status=Report.Status.PUBLISHED)
    report = create_report(office, 2020)
    prefill_from_previous(report, actor=None)
    doc = export_report(report)
    before = last["active_disclosure"]["art20_6"]["penalty"]
    assert doc["active_disclosure"]["art20_6"]["penalty"]["previous"] == before["previous"] + before["change"]
    assert doc["active_disclosure"]["art20_6"]["penalty"]["decisions"] is None
    assert doc["applications"]["carried_over"]["research"] == last["applications"]["carried_forward"]["research"]


def test_it_suggests_the_stock_in_force_and_offers_last_years_text(owner, office):
    last = balanced_document("2021", year=2021, org_code="test-org")
    import_document(last, status=Report.Status.PUBLISHED)
    import_document(balanced_document("2021", year=2022, org_code="test-org"))
    args = ["test-org", 2022]
    page = owner.get(reverse("workspace:step", args=[*args, "active_disclosure"]))
    stock = last["active_disclosure"]["art20_1"]["regulations"]["in_force"]
    assert f'data-ref="active_disclosure.art20_1.regulations.in_force" data-last="{stock}"' in page.text
    overview = owner.get(reverse("workspace:step", args=[*args, "overview"]))
    assert "引用上年内容" in overview.text and last["narrative"]["overview"]["platform"] in overview.text


def test_it_suggests_the_stock_in_force_from_last_years_report(world):
    from disclosure.services import import_document

    from .factories import balanced_document, next_year_of

    last = balanced_document("2021", year=2021)
    import_document(last)
    import_document(next_year_of(last))
    page = world.client("owner_clerk").get(reverse("workspace:step", args=["test-org", 2022, "active_disclosure"]))
    hints = {h["ref"]: h["last"] for h in page.context["in_force_hints"]}
    rows = last["active_disclosure"]["art20_1"]
    assert hints == {
        f"active_disclosure.art20_1.{code}.in_force": cells["in_force"]
        for code, cells in rows.items()
        if cells["in_force"] is not None
    }
    assert hints and 'id="in-force-hints"' in page.text


def test_it_names_each_cell_as_the_statute_prints_it(owner, report):
    """A cell's accessible name is its table, row and column labels (issue 13 item 5), never its code."""
    fmt = report.spec
    for step, ref in (
        ("applications", "applications.granted.natural_person"),
        ("applications", "applications.unavailable_not_held.commercial"),
        ("reviews", "reviews.litigation_after.corrected"),
    ):
        page = owner.get(reverse("workspace:step", args=["test-org", YEAR, step]))
        name = re.search(rf'data-ref="{re.escape(ref)}"[^>]*aria-label="([^"]*)"', page.text).group(1)
        spec = fmt.cell(ref)
        assert name.startswith(fmt.section(step).title), name
        row = spec.row_label if step == "applications" else fmt.reviews_blocks[-1].label
        assert row.split("1.")[-1] in name and spec.column_label in name, name
        assert 'aria-label="applications.' not in page.text and 'aria-label="reviews.' not in page.text
    page = owner.get(reverse("workspace:step", args=["test-org", YEAR, "applications"]))
    commercial = re.search(r'data-ref="applications.granted.commercial"[^>]*aria-label="([^"]*)"', page.text).group(1)
    # The column's group heads the column label: 法人或其他组织 商业企业.
    group = next(c.group for c in fmt.applications_columns if c.code == "commercial")
    assert f"{group} {fmt.cell('applications.granted.commercial').column_label}" in commercial
