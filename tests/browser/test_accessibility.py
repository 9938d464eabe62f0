"""axe-core on every page type, as each role sees it (issue 13): no serious or
critical WCAG 2 A/AA violation. One parametrized test per role, one case per
page, so a failure names the page and lists each rule and element."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from accounts.services import require_password_change
from disclosure import formats as reg
from disclosure.interchange import derive_totals
from disclosure.jobs.archive import queue_archive
from disclosure.models import Job, Membership, Organization, PendingImport, Publication, Report
from disclosure.services import import_document
from disclosure.services.core import create_report
from disclosure.services.editing import explain_finding, save_edits
from disclosure.services.uploads import queue_upload, stage_upload
from disclosure.wizard import steps
from disclosure.workflow import Action, publish_imported, readiness, transition

from ..factories import balanced_document
from ..test_import_archive_job import _doc as archive_doc
from ..test_import_archive_job import _text as archive_text
from ..test_import_archive_job import _zip
from ..test_import_choices import ambiguous_text
from ..test_parse_real import _balance, _set_row
from ..test_rollup import _report as random_report
from .test_pages_read_in_chinese import assert_reads_in_chinese

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "axe-pass-2026"
DRAFT_YEAR = 2021  # the clerk's draft, written step by step
REVIEW_YEAR = 2022  # submitted, returned with a comment, fixed, submitted again
STEPS = [step.code for step in steps(reg.format_for_year(DRAFT_YEAR))]
JURISDICTION_YEAR = 2023  # the district's offices: roll-up, completeness, quality


def _reads_in_chinese(page, what: str) -> None:
    """No code nor English word on the page; organization codes are the people's own words."""
    assert_reads_in_chinese(page, what, names=tuple(Organization.objects.values_list("code", flat=True)))


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
    for username, name, org, role in [
        ("clerk", "王填报", office, Membership.Role.CLERK),
        ("leader", "李审核", office, Membership.Role.REVIEWER),
        ("province", "赵省督办", province, Membership.Role.SUPERVISOR),
        ("district", "钱区督办", district, Membership.Role.SUPERVISOR),
    ]:
        users[username] = get_user_model().objects.create_user(username, password=PASSWORD, first_name=name)
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


def _received(code: str, year: int, value: int, status: str) -> Report:
    """A report whose 新收申请 is ``value``, which no outcome accounts for (the balance rule breaks)."""
    doc = _document(year, code, Organization.objects.get(code=code).name)
    for column in doc["applications"]["new_received"]:
        doc["applications"]["new_received"][column] = 0
    doc["applications"]["new_received"]["natural_person"] = value
    return import_document(derive_totals(doc, overwrite=True), status=status).report


@pytest.fixture
def jurisdiction(people):
    """The district's offices in JURISDICTION_YEAR, every case the jurisdiction pages tell apart:
    approved reports with blank cells (the roll-up shows 空白N份), one ten times last year's
    figure and breaking a rule (quality), a draft (not rolled up), one published late and
    one office with no report at all (completeness). The district reports for itself and
    its departments (汇总), and has a clerk who fills its report from the roll-up."""
    district = Organization.objects.get(code="dist")
    year = JURISDICTION_YEAR
    offices = {}
    names = [("jyj", "甲区教育局"), ("czj", "甲区财政局"), ("wjw", "甲区卫生健康委员会"), ("late", "甲区商务局")]
    for code, name in names:
        offices[code] = Organization.objects.create(name=name, code=code, kind="department", parent=district)
    _received("jyj", year - 1, 20, Report.Status.PUBLISHED)
    _received("jyj", year, 200, Report.Status.APPROVED)
    random_report(offices["czj"], year, Report.Status.APPROVED, random.Random(13), blank=0.2)
    import_document(_document(year, "test-org", "测试局"))  # a draft: pending
    late = import_document(_document(year, "late", "甲区商务局"), status=Report.Status.PUBLISHED)
    publish_imported(late.report)
    when = timezone.make_aware(dt.datetime(year + 1, 2, 20, 10, 0))  # three weeks after 31 January
    Publication.objects.filter(report=late.report).update(published_at=when)
    Organization.objects.filter(pk=district.pk).update(report_scope="rollup")
    create_report(district, year)
    clerk = get_user_model().objects.create_user("gov-clerk", password=PASSWORD, first_name="区政务公开办")
    Membership.objects.create(user=clerk, organization=district, role=Membership.Role.CLERK)
    return district


def _docx(year: int) -> bytes:
    from disclosure.office import export_report_docx

    return export_report_docx(_document(year, "test-org", "测试局"))


# --- public -------------------------------------------------------------------------------------

PUBLIC = {
    "portal-list": "/reports/",
    "published-report": "/reports/pub-org/2021/",
    "data-index": "/data/",
    "stats": "/stats/",
    "organization": "/reports/pub-org/",  # its years and trend
    "stats-compare": "/stats/?jurisdiction=prov&year=2021",  # 下级辖区对比
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
        _reads_in_chinese(page, name)
        page.fill("#id_username", "nobody")
        page.fill("#id_password", "wrong-password")
        page.click("button[type=submit]")
        expect(page.locator(".alert-danger, .invalid-feedback, .errorlist").first).to_be_visible()
        name = "login-refused"
    shots(page, name)
    axe(page, name)
    _reads_in_chinese(page, name)


# --- clerk --------------------------------------------------------------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_it_finds_no_serious_violation_on_each_step_of_a_report(step, people, sign_in, live_server, axe, shots):
    page = sign_in("clerk", PASSWORD, path=f"/workspace/test-org/{DRAFT_YEAR}/{step}/")
    expect(page.locator("h2.h5")).to_be_visible()
    shots(page, step)
    axe(page, f"step {step}")
    _reads_in_chinese(page, f"step {step}")


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
    _reads_in_chinese(page, name)


def _choices_text() -> bytes:
    """A report pasted from a web page, printed under another office's name, whose 予以公开 row
    runs together (1030121228: several splits add up) and whose 重复申请 row leaves blanks that
    the table's sums make 0 (tests/test_import_choices.py builds each case alone)."""
    doc = balanced_document("2021", rng=random.Random(7))
    _set_row(doc, "applications", "new_received", [217, 1, 0, 0, 0, 0, 218])
    _set_row(doc, "applications", "granted", [1, 0, 3, 0, 12, 12, 28])
    _set_row(doc, "applications", "rejected_repeat", [0, 0, 0, 0, 0, 17, 17])
    _balance(doc)
    for block in doc["reviews"].values():
        for code in block:
            block[code] = 0
    text = ambiguous_text(doc).decode()
    assert text.count(" 0 0 0 0 0 17 17 ") == 1
    return text.replace(" 0 0 0 0 0 17 17 ", " / / / / / 17 17 ").encode()


def test_it_finds_no_serious_violation_on_an_import_preview_asking_for_choices(
    people, sign_in, live_server, axe, shots
):
    office = Organization.objects.get(code="test-org")
    pending = stage_upload(office, actor=people["clerk"], filename="网页复制.txt", data=_choices_text())
    assert pending.info["mismatch"]["organization"]["office"] == "测试局"
    page = sign_in("clerk", PASSWORD, path=f"/workspace/test-org/import/{pending.pk}/")
    expect(page.locator("#mismatch")).to_contain_text("演示区财政局")
    expect(page.locator("#splits fieldset")).not_to_have_count(0)
    expect(page.locator("#zeros")).to_contain_text("重复申请")
    shots(page, "import-preview-choices")
    axe(page, "import preview with choices")
    _reads_in_chinese(page, "import preview with choices")


def test_it_finds_no_serious_violation_on_a_clerks_reports_returned_and_published(
    reviewed, people, sign_in, live_server, axe, shots
):
    """The dashboard with a returned report's reason and the 撤回 / 申请更正 buttons, and a
    published report's page with 申请更正."""
    transition(reviewed, Action.RETURN, actor=people["leader"], comment="第二次退回：请补充说明。")
    published = import_document(_document(2020, "test-org", "测试局"), status=Report.Status.PUBLISHED).report
    publish_imported(published)
    page = sign_in("clerk", PASSWORD, path="/workspace/")
    expect(page.locator(".return-reason")).to_contain_text("请补充说明")
    expect(page.locator('.clerk-action[data-action="correct"]')).to_have_count(1)
    shots(page, "dashboard-returned-and-published")
    axe(page, "dashboard with a returned and a published report")
    _reads_in_chinese(page, "dashboard with a returned and a published report")
    page.goto(f"{live_server.url}/workspace/test-org/2020/basic/")
    expect(page.locator(".clerk-actions")).to_be_visible()
    shots(page, "published-report-step")
    axe(page, "a published report's first step")
    _reads_in_chinese(page, "a published report's first step")


def test_it_finds_no_serious_violation_on_the_fill_from_the_roll_up(jurisdiction, sign_in, live_server, axe, shots):
    page = sign_in("gov-clerk", PASSWORD, path=f"/review/rollup/dist/{JURISDICTION_YEAR}/fill/")
    expect(page.get_by_role("heading", name="从下级汇总填入")).to_be_visible()
    expect(page.locator("#missing")).to_contain_text("甲区卫生健康委员会")
    expect(page.locator("#pending")).to_contain_text("测试局")
    expect(page.locator(".rollup-blank").first).to_be_visible()
    shots(page, "rollup-fill")
    axe(page, "fill from the roll-up")
    _reads_in_chinese(page, "fill from the roll-up")
    page.goto(f"{live_server.url}/workspace/dist/{JURISDICTION_YEAR}/applications/")  # links to it
    expect(page.locator("#rollup-fill-link")).to_be_visible()
    axe(page, "the government's report step")
    _reads_in_chinese(page, "the government's report step")


def test_it_finds_no_serious_violation_on_the_landing_page_of_a_clerk_who_also_reviews(
    reviewed, people, sign_in, live_server, axe, shots
):
    Membership.objects.create(
        user=people["district"], organization=Organization.objects.get(code="dist"), role=Membership.Role.CLERK
    )
    page = sign_in("district", PASSWORD, path="/workspace/")
    expect(page.get_by_role("heading", name="我的工作")).to_be_visible()
    expect(page.locator("#review-work")).to_be_visible()
    shots(page, "my-work")
    axe(page, "我的工作")
    _reads_in_chinese(page, "我的工作")


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
    _reads_in_chinese(page, name)


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
    _reads_in_chinese(page, name)


Y = JURISDICTION_YEAR
JURISDICTION_PAGES = {
    # name: (user, path, what must show)
    "rollup": ("district", f"/review/rollup/dist/{Y}/", "#missing"),
    "rollup-subtree-with-drafts": ("province", f"/review/rollup/prov/{Y}/?scope=subtree&drafts=1", "#drafts-mark"),
    "completeness": ("province", f"/review/completeness/?year={Y}", "#completeness"),
    "completeness-district": ("province", f"/review/completeness/?year={Y}&org=dist", "#completeness"),
    "quality": ("district", f"/review/quality/?year={Y}&org=dist", "table.outliers"),
    "quality-rule": ("district", f"/review/quality/?year={Y}&org=dist&rule=applications.balance", "#breaking"),
    "archive": ("district", "/review/archive/dist/", "#archive-jobs"),
    "archive-job": ("district", "/review/archive/dist/jobs/{job}/", "#archive-result"),
}


@pytest.fixture
def archive_job(jurisdiction, people, settings):
    """An archive imported (the job runs eagerly): one report matched, one office unknown, one unreadable."""
    data = _zip(
        {
            "2020/甲区教育局.txt": archive_text(archive_doc("甲区教育局", 2020, 1), 1).encode("utf-8"),
            "2020/乙区某局.txt": archive_text(archive_doc("乙区某局", 2020, 5), 5).encode("utf-8"),
            "2020/扫描件.pdf": b"%PDF-1.4\n garbage",
        }
    )
    queue_archive(jurisdiction, actor=people["district"], filename="历年报告.zip", data=data)
    job = Job.objects.get(kind=Job.Kind.ARCHIVE)
    assert job.status == Job.Status.SUCCEEDED, job.error
    return job


@pytest.mark.parametrize("name", JURISDICTION_PAGES)
def test_it_finds_no_serious_violation_on_a_jurisdiction_page(name, archive_job, sign_in, live_server, axe, shots):
    user, path, shown = JURISDICTION_PAGES[name]
    page = sign_in(user, PASSWORD, path=path.format(job=archive_job.pk))
    expect(page.locator(shown).first).to_be_visible()
    if name == "rollup":
        expect(page.locator("#missing")).to_contain_text("甲区卫生健康委员会")
        expect(page.locator(".rollup-blank").first).to_be_visible()
    elif name.startswith("completeness"):
        row = "甲区人民政府" if name == "completeness" else "甲区商务局"
        expect(page.locator("#completeness")).to_contain_text(row)
    elif name == "quality":
        expect(page.locator('tr[data-org="jyj"]').first).to_contain_text("10.0 倍")
    elif name == "archive-job":
        expect(page.locator("#archive-summary")).to_contain_text("共 3 个文件")
    shots(page, name)
    axe(page, name)
    _reads_in_chinese(page, name)


def test_it_finds_no_serious_violation_on_an_archive_import_still_running(
    jurisdiction, people, sign_in, live_server, axe, shots, monkeypatch
):
    monkeypatch.setattr("disclosure.jobs.core.send", lambda job: None)  # no worker: the job stays queued
    data = _zip({"2020/甲区教育局.txt": archive_text(archive_doc("甲区教育局", 2020, 1), 1).encode("utf-8")})
    job = queue_archive(jurisdiction, actor=people["district"], filename="历年报告.zip", data=data)
    page = sign_in("district", PASSWORD, path=f"/review/archive/dist/jobs/{job.pk}/")
    expect(page.locator("#job")).to_contain_text("共 1 个文件")
    shots(page, "archive-job-queued")
    axe(page, "archive import queued")
    _reads_in_chinese(page, "archive import queued")


# --- forced password change ---------------------------------------------------------------------


def test_it_finds_no_serious_violation_on_the_forced_password_change(people, sign_in, live_server, axe, shots):
    require_password_change(people["clerk"], actor=None)
    page = sign_in("clerk", PASSWORD, path="/workspace/")
    expect(page).to_have_url(live_server.url + "/accounts/password_change/")
    expect(page.locator("#id_new_password1")).to_be_visible()
    shots(page, "forced-password-change")
    axe(page, "forced password change")
    _reads_in_chinese(page, "forced password change")
