"""A province supervisor drills from the province to one office in the browser
(issue 16): the roll-up counts of each level against the data made here, the
breadcrumb back up, a filter that narrows the rows, and pages that read in
Chinese without the codes the data is stored under."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from disclosure.calendar import deadline
from disclosure.models import Membership, Organization, Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "province-pass-2026"
YEAR = 2025  # every deadline of 2025 is past: whatever is not published is late
STATES = ("draft", "submitted", "returned", "approved", "published")
# code: (name, parent, state of its 2025 report: None = not created, "errors" = a draft with an error)
TREE = {
    "prov": ("某省人民政府", None, None),
    "c1": ("甲市人民政府", "prov", None),
    "c2": ("乙市人民政府", "prov", None),
    "c1d1": ("甲市东区人民政府", "c1", None),
    "c1d2": ("甲市西区人民政府", "c1", None),
    "c2d1": ("乙市南区人民政府", "c2", None),
    "c2d2": ("乙市北区人民政府", "c2", None),
    "c1d1-edu": ("东区教育局", "c1d1", "errors"),
    "c1d1-fin": ("东区财政局", "c1d1", "submitted"),
    "c1d1-hea": ("东区卫生健康局", "c1d1", None),
    "c1d2-edu": ("西区教育局", "c1d2", "published"),
    "c1d2-fin": ("西区财政局", "c1d2", "approved"),
    "c2d1-edu": ("南区教育局", "c2d1", "returned"),
    "c2d1-fin": ("南区财政局", "c2d1", "draft"),
    "c2d2-edu": ("北区教育局", "c2d2", "published"),
    "c2d2-fin": ("北区财政局", "c2d2", None),
}
# What a supervisor must never read: stored status values, keys, cell references, event names.
RAW = re.compile(r"\b(?:missing|draft|submitted|returned|approved|published|late|errors|warnings)\b|\b[a-z_]+\.[a-z_]+")


def _subtree(code: str) -> list[str]:
    below = [c for c, (_n, parent, _s) in TREE.items() if parent == code]
    return [code, *[c for b in below for c in _subtree(b)]]


def _expected(code: str) -> list[str]:
    """The roll-up row of ``code`` as the page should print it, counted from TREE."""
    states = ["errors" if TREE[c][2] == "errors" else TREE[c][2] for c in _subtree(code)]
    drafts = sum(s in ("draft", "errors") for s in states)
    counts = [len(states), states.count(None), drafts, *[states.count(s) for s in STATES[1:]]]
    counts += [len(states) - states.count("published"), states.count("errors")]
    return [str(n) for n in counts]


@pytest.fixture
def province(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    orgs = {}
    for code, (name, parent, _state) in TREE.items():
        kind = "department" if "-" in code else "government"
        orgs[code] = Organization.objects.create(name=name, code=code, kind=kind, parent=orgs.get(parent))
    for code, (name, _parent, state) in TREE.items():
        if state is None:
            continue
        doc = balanced_document("2021", year=YEAR, org_code=code)
        doc["organization"]["name"] = name
        doc["title"] = f"{name}{YEAR}年政府信息公开工作年度报告"
        if state == "errors":
            # One application granted that was never received: the tables no longer balance.
            doc["applications"]["granted"]["natural_person"] += 1
        report = import_document(doc, status="draft" if state == "errors" else state).report
        if state == "published":
            publish_imported(report)
    user = get_user_model().objects.create_user("province", password=PASSWORD, first_name="省督办")
    Membership.objects.create(user=user, organization=orgs["prov"], role=Membership.Role.SUPERVISOR)
    # The data is what the test thinks it is: one report with errors, the states as listed.
    assert list(Report.objects.filter(error_count__gt=0).values_list("organization__code", flat=True)) == ["c1d1-edu"]
    return orgs


def _reads_in_chinese(page) -> str:
    text = page.locator("main").inner_text()
    assert not RAW.findall(text), RAW.findall(text)
    return text


def _rollup(page, code: str):
    return page.locator(f'#rollup tr[data-org="{code}"] td')


def test_a_province_supervisor_drills_down_to_one_office_and_back(sign_in, live_server, province, shots):
    page = sign_in("province", PASSWORD, path=f"/review/?year={YEAR}")
    heading = page.locator("h1")
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 某省人民政府")
    # The province: one roll-up row per city, counted over its whole subtree.
    expect(page.locator("#rollup tbody tr")).to_have_count(2)
    expect(page.locator("#rollup thead th")).to_have_text(
        ["机关", "机关数", "未创建", "草稿", "已提交", "已退回", "已审核", "已发布", "逾期未发布", "有错误"]
    )
    expect(_rollup(page, "c1")).to_have_text(_expected("c1"))
    expect(_rollup(page, "c2")).to_have_text(_expected("c2"))
    assert _expected("c1") == ["8", "4", "1", "1", "0", "1", "1", "7", "1"]  # the arithmetic, once by hand
    expect(page.locator("#totals strong")).to_have_text(_expected("prov"))
    expect(page.locator("caption")).to_have_text(f"共 {len(TREE)} 个机关")
    _reads_in_chinese(page)
    shots(page, "province")

    # A city: its districts.
    page.locator("#rollup").get_by_role("link", name="甲市人民政府").click()
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 甲市人民政府")
    expect(page.locator("#breadcrumb li")).to_have_text(["某省人民政府", "甲市人民政府"])
    expect(page.locator("#rollup tbody tr")).to_have_count(2)
    expect(_rollup(page, "c1d1")).to_have_text(_expected("c1d1"))
    expect(_rollup(page, "c1d2")).to_have_text(_expected("c1d2"))
    expect(page.locator("#totals strong")).to_have_text(_expected("c1"))
    _reads_in_chinese(page)
    shots(page, "city")

    # A district: its offices are the rows (no roll-up of ones), in Chinese.
    page.locator("#rollup").get_by_role("link", name="甲市东区人民政府").click()
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 甲市东区人民政府")
    expect(page.locator("#breadcrumb li")).to_have_text(["某省人民政府", "甲市人民政府", "甲市东区人民政府"])
    expect(page.locator("#rollup")).to_have_count(0)
    rows = page.locator("table:not(#rollup) tbody tr")
    expect(rows).to_have_count(4)
    expect(page.locator('tr[data-org="c1d1-edu"] td').nth(1)).to_have_text("草稿")
    expect(page.locator('tr[data-org="c1d1-fin"] td').nth(1)).to_have_text("已提交")
    expect(page.locator('tr[data-org="c1d1-hea"] td').nth(1)).to_have_text("未创建")
    late = (deadline(YEAR) - timezone.localdate()).days  # a department's deadline
    assert late < 0
    expect(page.locator('tr[data-org="c1d1-edu"] td').nth(3)).to_have_text(f"已逾期 {-late} 天")
    expect(page.locator('tr[data-org="c1d1-edu"]')).to_have_class(re.compile("table-danger"))
    _reads_in_chinese(page)
    shots(page, "district")

    # 有错误 narrows the rows to the one report with errors, and says so.
    page.select_option("#f-problem", label="有错误")
    page.get_by_role("button", name="筛选").click()
    expect(page.locator("caption")).to_have_text("共 1 个机关")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-org", "c1d1-edu")
    expect(page.locator("#f-problem")).to_have_value("errors")
    expect(page.locator("#breadcrumb li")).to_have_count(3)  # the filter stays at this level
    _reads_in_chinese(page)
    shots(page, "district-errors")

    # The office's report: its title, status and the error found.
    rows.first.get_by_role("link", name="东区教育局").click()
    expect(page.locator("h1.h4")).to_have_text(f"东区教育局{YEAR}年政府信息公开工作年度报告")
    expect(page.locator("#status")).to_have_text("草稿")
    expect(page.locator(".finding-error").first).to_be_visible()
    shots(page, "office")

    # Back to the district, then up the breadcrumb to the province.
    page.go_back()
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 甲市东区人民政府")
    page.locator("#breadcrumb").get_by_role("link", name="甲市人民政府").click()
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 甲市人民政府")
    page.locator("#breadcrumb").get_by_role("link", name="某省人民政府").click()
    expect(heading).to_have_text(f"审核与督办 · {YEAR}年度 · 某省人民政府")
    expect(page.locator("#breadcrumb")).to_have_count(0)  # the top: nothing above it
    expect(_rollup(page, "c2")).to_have_text(_expected("c2"))
    shots(page, "back-at-province")


def test_the_offices_report_page_reads_in_chinese(sign_in, live_server, province, shots):
    page = sign_in("province", PASSWORD, path=f"/review/c1d1-edu/{YEAR}/")
    expect(page.locator("#status")).to_have_text("草稿")
    expect(page.get_by_role("heading", name="操作记录")).to_be_visible()
    shots(page, "office-report")
    _reads_in_chinese(page)
