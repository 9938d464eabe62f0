"""axe-core on every page type, as each role sees it (issue 13): no serious or
critical WCAG 2 A/AA violation. One parametrized test per role, one case per
page, so a failure names the page and lists each rule and element."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.services import require_password_change
from disclosure import formats as reg
from disclosure.models import Membership, Organization, PendingImport, Report
from disclosure.services import import_document
from disclosure.services.editing import explain_finding, save_edits
from disclosure.services.uploads import queue_upload, stage_upload
from disclosure.wizard import steps
from disclosure.workflow import Action, publish_imported, readiness, transition

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "axe-pass-2026"
DRAFT_YEAR = 2021  # the clerk's draft, written step by step
REVIEW_YEAR = 2022  # submitted, returned with a comment, fixed, submitted again
STEPS = [step.code for step in steps(reg.format_for_year(DRAFT_YEAR))]


def _document(year: int, code: str, name: str) -> dict:
    doc = balanced_document(reg.format_for_year(year).code, year=year, org_code=code)
    doc["organization"]["name"] = name
    doc["title"] = f"{name}{year}年政府信息公开工作年度报告"
    return doc


@pytest.fixture
def people(db, settings, tmp_path):
    """A province, a district, an office of it with a clerk and a reviewer, and supervisors at both levels."""
    settings.MEDIA_ROOT = tmp_path
    province = Organization.objects.create(name="某省人民政府", code="prov", kind="government")
    district = Organization.objects.create(name="甲区人民政府", code="dist", kind="government", parent=province)
    office = Organization.objects.create(name="测试局", code="test-org", kind="department", parent=district)
    users = {}
    for username, org, role in [
        ("clerk", office, Membership.Role.CLERK),
        ("leader", office, Membership.Role.REVIEWER),
        ("province", province, Membership.Role.SUPERVISOR),
        ("district", district, Membership.Role.SUPERVISOR),
    ]:
        users[username] = get_user_model().objects.create_user(username, password=PASSWORD, first_name=username)
        Membership.objects.create(user=users[username], organization=org, role=role)
    import_document(_document(DRAFT_YEAR, "test-org", "测试局"))
    return users


@pytest.fixture
def reviewed(people):
    """A report that went back and forth: a comment at a cell, a reply, two revisions to compare."""
    clerk, leader = people["clerk"], people["leader"]
    report = import_document(_document(REVIEW_YEAR, "test-org", "测试局")).report
    for warning in readiness(report).unexplained:  # the random numbers jump from the year before
        explain_finding(report, warning.key, "与台账核对无误。", actor=clerk)
    report = transition(Report.objects.get(pk=report.pk), Action.SUBMIT, actor=clerk)
    ref = "applications.granted.natural_person"
    report = transition(report, Action.RETURN, actor=leader, comment="与台账不符，请核对。", anchor=ref)
    granted = Report.objects.get(pk=report.pk)
    save_edits(granted, actor=clerk, expected_version=granted.version, header={"title": granted.title + "（修订）"})
    return transition(Report.objects.get(pk=report.pk), Action.SUBMIT, actor=clerk)


@pytest.fixture
def published(people):
    """A published report of another office of the district, for the public pages."""
    org = Organization.objects.create(
        name="邻局", code="pub-org", kind="department", parent=Organization.objects.get(code="dist")
    )
    report = import_document(_document(DRAFT_YEAR, org.code, org.name), status=Report.Status.PUBLISHED).report
    publish_imported(report)
    return report


def _docx(year: int) -> bytes:
    from disclosure.office import export_report_docx

    return export_report_docx(_document(year, "test-org", "测试局"))


# --- public -------------------------------------------------------------------------------------

PUBLIC = {
    "portal-list": "/reports/",
    "published-report": "/reports/pub-org/2021/",
    "data-index": "/data/",
    "stats": "/stats/",
    "login": "/accounts/login/",
    "password-reset": "/accounts/password_reset/",
    "not-found": "/reports/no-such-office/2021/",
}


@pytest.mark.parametrize("name", PUBLIC)
def test_it_finds_no_serious_violation_on_a_public_page(name, published, new_page, live_server, axe, shots):
    page = new_page()
    response = page.goto(live_server.url + PUBLIC[name])
    if name == "not-found":
        assert response.status == 404
        expect(page.locator("h1")).to_contain_text("页面不存在")
    else:
        assert response.status == 200
    if name == "login":  # and once more as it answers a wrong password
        axe(page, name)
        page.fill("#id_username", "nobody")
        page.fill("#id_password", "wrong-password")
        page.click("button[type=submit]")
        expect(page.locator(".alert-danger, .invalid-feedback, .errorlist").first).to_be_visible()
        name = "login-refused"
    shots(page, name)
    axe(page, name)


# --- clerk --------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_it_finds_no_serious_violation_on_each_step_of_a_report(step, people, sign_in, live_server, axe, shots):
    page = sign_in("clerk", PASSWORD, path=f"/workspace/test-org/{DRAFT_YEAR}/{step}/")
    expect(page.locator("h2.h5")).to_be_visible()
    shots(page, step)
    axe(page, f"step {step}")


CLERK_PAGES = ["dashboard", "returned-report", "import-upload", "import-preview", "import-job"]


@pytest.mark.parametrize("name", CLERK_PAGES)
def test_it_finds_no_serious_violation_on_a_clerk_page(
    name, people, sign_in, live_server, axe, shots, monkeypatch, request
):
    office, clerk = Organization.objects.get(code="test-org"), people["clerk"]
    path = "/workspace/"
    if name == "returned-report":  # its first page: the reviewer's comments on top
        report = request.getfixturevalue("reviewed")
        transition(report, Action.RETURN, actor=people["leader"], comment="第二次退回：请补充说明。")
        path = f"/workspace/test-org/{REVIEW_YEAR}/basic/"
    elif name == "import-preview":
        pending = stage_upload(office, actor=clerk, filename="2023年报.docx", data=_docx(2023), year=2023)
        path = f"/workspace/test-org/import/{pending.pk}/"
    elif name == "import-job":
        monkeypatch.setattr("disclosure.jobs.core.send", lambda job: None)  # no worker: the job stays queued
        job = queue_upload(office, actor=clerk, filename="2023年报.docx", data=_docx(2023), year=2023)
        path = f"/workspace/test-org/import/jobs/{job.pk}/"
    page = sign_in("clerk", PASSWORD, path=path)
    if name == "dashboard":
        expect(page.get_by_role("heading", name="我的报告")).to_be_visible()
    elif name == "returned-report":
        expect(page.locator("main")).to_contain_text("请核对")
    elif name == "import-upload":
        page.get_by_text("从已发布的报告文件导入").click()
        expect(page.locator('input[type="file"][name="file"]')).to_be_visible()
    elif name == "import-preview":
        assert PendingImport.objects.filter(pk=pending.pk).exists()
        expect(page.locator("h1.h4")).to_contain_text("导入预览")
    else:
        expect(page.locator("#job")).to_contain_text("正在读取")
    shots(page, name)
    axe(page, name)


# --- reviewer -----------------------------------------------------------------------------------

REVIEWER_PAGES = {
    "review-dashboard": "/review/?year={year}",
    "review-report": "/review/test-org/{year}/",
    "diff": "/review/test-org/{year}/diff/?from=1&to=current",
}


@pytest.mark.parametrize("name", REVIEWER_PAGES)
def test_it_finds_no_serious_violation_on_a_reviewer_page(name, reviewed, sign_in, live_server, axe, shots):
    page = sign_in("leader", PASSWORD, path=REVIEWER_PAGES[name].format(year=REVIEW_YEAR))
    expect(page.locator("h1").first).to_be_visible()
    if name == "review-report":
        expect(page.locator(".comment").first).to_contain_text("请核对")
    if name == "diff":
        expect(page.locator("main")).to_contain_text("（修订）")
    shots(page, name)
    axe(page, name)


# --- supervisors --------------------------------------------------------------------------------

SUPERVISOR_PAGES = ["province", "province-drilled-to-district", "district", "district-report"]


@pytest.mark.parametrize("name", SUPERVISOR_PAGES)
def test_it_finds_no_serious_violation_on_a_supervisor_page(name, reviewed, sign_in, live_server, axe, shots):
    user = "district" if name.startswith("district") else "province"
    path = f"/review/test-org/{REVIEW_YEAR}/" if name == "district-report" else f"/review/?year={REVIEW_YEAR}"
    page = sign_in(user, PASSWORD, path=path)
    expect(page.locator("h1").first).to_be_visible()
    if name == "province-drilled-to-district":
        page.locator("#rollup").get_by_role("link", name="甲区人民政府").click()
        expect(page.locator("h1")).to_contain_text("甲区人民政府")
    shots(page, name)
    axe(page, name)


# --- forced password change ---------------------------------------------------------------------


def test_it_finds_no_serious_violation_on_the_forced_password_change(people, sign_in, live_server, axe, shots):
    require_password_change(people["clerk"], actor=None)
    page = sign_in("clerk", PASSWORD, path="/workspace/")
    expect(page).to_have_url(live_server.url + "/accounts/password_change/")
    expect(page.locator("#id_new_password1")).to_be_visible()
    shots(page, "forced-password-change")
    axe(page, "forced password change")
