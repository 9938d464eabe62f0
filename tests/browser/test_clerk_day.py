"""A clerk's day without friction (issue 13): what a walk-through in the browser found.

Tables fit the screen, the findings agree with the cells, 下一步 stops at a bad
cell and says why, cells are named by their labels, a returned report says why,
and 撤回 / 申请更正 are where the report is.
"""

import os
import re
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure import workflow
from disclosure.models import Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import import_document
from disclosure.services.comments import add_comment

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "clerk-day-2026"
YEAR = 2021


@pytest.fixture
def people(db):
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    users = {}
    for username, name, role in (
        ("clerk", "王填报", Membership.Role.CLERK),
        ("reviewer", "李审核", Membership.Role.REVIEWER),
    ):
        user = get_user_model().objects.create_user(username, password=PASSWORD, first_name=name)
        Membership.objects.create(user=user, organization=office, role=role)
        users[username] = user
    report = import_document(balanced_document("2021", year=YEAR)).report
    return users | {"report": report}


def keep(page, name: str) -> None:
    """With SCREENSHOTS_DIR set (docs/screenshots/), the pages issue 13 asks to see are kept."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"))


def open_step(sign_in, step: str, *, width: int = 1400, height: int = 1000, query: str = ""):
    page = sign_in("clerk", PASSWORD, f"/accounts/login/?next=/workspace/test-org/{YEAR}/{step}/{query}")
    page.set_viewport_size({"width": width, "height": height})
    expect(page.locator("#step-form")).to_be_visible()
    return page


# What a person sees of a table: each value cell inside the visible part of its
# scroll box, or reachable through a scroll bar that is really there; row labels
# in at most three lines.
TABLE_FIT = """(grid) => {
  const table = document.querySelector(`table[data-grid="${grid}"]`);
  const box = table.parentElement;
  const shown = box.getBoundingClientRect();
  const scrolls = box.scrollWidth > box.clientWidth + 1;
  const bar = box.offsetHeight - box.clientHeight - box.clientTop * 2;
  const barVisible = scrolls && bar > 0 && getComputedStyle(box).overflowX !== "hidden";
  const hidden = [];
  table.querySelectorAll("td[data-ref]").forEach((td) => {
    const r = td.getBoundingClientRect();
    const inside = r.left >= shown.left - 1 && r.right <= shown.right + 1;
    if (!inside && !barVisible) hidden.push(td.dataset.ref);
  });
  const pageScrolls = document.documentElement.scrollWidth > window.innerWidth + 1;
  const lines = Array.from(table.querySelectorAll('th[scope="row"]')).map((th) => {
    const style = getComputedStyle(th);
    const lh = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.5;
    const inner = th.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom);
    return { text: th.textContent.trim(), lines: Math.round(inner / lh), rowspan: th.rowSpan };
  });
  return { hidden, scrolls, barVisible, pageScrolls, width: table.offsetWidth, box: box.clientWidth,
           worst: lines.filter((l) => l.rowspan === 1).sort((a, b) => b.lines - a.lines)[0] };
}"""


@pytest.mark.parametrize("width", [1366, 1280])
def test_it_fits_tables_three_and_four_on_a_laptop_and_a_projector(sign_in, people, shots, width):
    for step in ("reviews", "applications", "active_disclosure"):
        page = open_step(sign_in, step, width=width, height=900)
        fit = page.evaluate(TABLE_FIT, step)
        shots(page, f"{step}-{width}")
        if width == 1366 and step != "active_disclosure":
            page.locator(f'table[data-grid="{step}"]').scroll_into_view_if_needed()
            keep(page, f"table-{'three' if step == 'applications' else 'four'}-1366x900")
        assert fit["hidden"] == [], (step, width, fit)
        assert not fit["pageScrolls"], (step, width, fit)
        assert fit["worst"] is None or fit["worst"]["lines"] <= 3, (step, width, fit["worst"])
        page.context.close()


def test_it_keeps_the_findings_in_step_with_a_refused_cell_and_stops_next_at_it(sign_in, people, shots):
    report = people["report"]
    ref = "applications.granted.natural_person"
    stored = export_report(report)["applications"]["granted"]["natural_person"]
    page = open_step(sign_in, "applications", query="")
    page.add_init_script("window.reportEditorPollMs = 3600000;")
    cell = page.locator(f'input[data-ref="{ref}"]')

    # One more granted than applied for: the balance breaks, said with the stored sums.
    cell.fill(str(stored + 1))
    page.keyboard.press("Tab")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    balance = page.locator('#findings .finding[data-rule="applications.balance"]:visible')
    expect(balance).to_have_count(2)  # the column and the 总计 column

    # A refused value: the cell is marked, and the findings say so instead of the stored state.
    cell.fill("99999999999")
    page.keyboard.press("Tab")
    expect(page.locator(f'td[data-ref="{ref}"] .cell-error')).to_be_visible()
    refused = page.locator("#findings .local-refused")
    expect(refused).to_have_count(1)
    expect(refused).to_contain_text("数值过大")
    expect(refused).to_contain_text("予以公开")  # named by its labels
    expect(balance).to_have_count(0)  # they described the value no longer shown
    expect(page.locator("#findings")).not_to_contain_text("本步骤没有发现问题")
    assert int(page.locator("#count-error").inner_text()) >= 1
    shots(page, "refused")

    # 下一步 goes nowhere: it goes to the cell, focuses it and says why, beside it and aloud.
    page.mouse.wheel(0, -5000)
    page.get_by_role("button", name=re.compile("^下一步")).click()
    expect(page.locator("h2.h5")).to_have_text(report.spec.section("applications").title)
    expect(page.locator(f'td[data-ref="{ref}"] .cell-error[role="alert"]')).to_contain_text("数值过大")
    assert page.evaluate("document.activeElement.dataset.ref") == ref
    # Bootstrap scrolls smoothly: wait for the cell to arrive in view.
    page.wait_for_function(
        f"""() => {{
        const r = document.querySelector('input[data-ref="{ref}"]').getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight; }}""",
        timeout=5000,
    )
    expect(page.locator("#step-alert")).to_contain_text("数值过大")
    expect(page.locator("#step-alert")).to_have_attribute("aria-live", "assertive")
    shots(page, "next-stopped")

    # Put right: the panel is the server's again.
    cell.fill(str(stored))
    page.keyboard.press("Tab")
    expect(page.locator("#save-state")).to_contain_text("已保存")
    expect(page.locator("#findings .local-refused")).to_have_count(0)
    expect(page.locator("#step-alert")).to_be_hidden()


def test_it_shows_a_cell_in_error_with_its_finding_on_the_same_step(sign_in, people, shots):
    """A finding whose cells span two steps is listed on both: no red cell beside 本步骤没有发现问题。"""
    report = people["report"]
    doc = export_report(report)
    new = doc["applications"]["new_received"]["total"]
    report.narrative_parts.filter(path="overview.on_request").update(text=f"全年新收政府信息公开申请{new + 7}件。")
    page = open_step(sign_in, "applications")
    td = page.locator('td[data-ref="applications.new_received.total"]')
    expect(td).to_have_class(re.compile("finding-warning"))
    expect(page.locator('#findings .finding[data-rule="narrative.numbers"]')).to_be_visible()
    shots(page, "cross-step-finding")


def test_it_lands_each_role_and_opens_a_returned_report_on_why(sign_in, people, shots):
    report = people["report"]
    ref = "applications.unavailable_not_held.natural_person"
    workflow.transition(report, workflow.Action.SUBMIT, actor=people["clerk"])

    reviewer = sign_in("reviewer", PASSWORD)
    expect(reviewer).to_have_url(re.compile(r"/review/$"))  # straight to the review queue
    expect(reviewer.get_by_text("您还没有被指定为任何机关的填报人")).to_have_count(0)
    workflow.transition(
        report, workflow.Action.RETURN, actor=people["reviewer"], comment="本单元格与上年不符。\n请核对。", anchor=ref
    )
    add_comment(report, actor=people["reviewer"], anchor="narrative.problems", body="问题部分过于简单。")

    page = sign_in("clerk", PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    expect(page.get_by_role("heading", name="我的报告")).to_be_visible()
    expect(page.locator(".return-reason")).to_contain_text("本单元格与上年不符。")
    expect(page.locator(".return-reason")).not_to_contain_text("请核对")
    shots(page, "dashboard-returned")
    page.get_by_role("link", name="填写").click()

    summary = page.locator("#return-summary")
    expect(summary).to_be_visible()
    expect(summary.locator(".return-comment")).to_have_count(2)
    label = report.spec.label_of(ref)
    expect(summary).to_contain_text(label)
    expect(summary).to_contain_text("李审核")
    expect(summary).not_to_contain_text(ref)
    expect(page.locator('[data-step-comments="applications"]')).to_contain_text("1")
    expect(page.locator('[data-step-comments="problems"]')).to_contain_text("1")
    shots(page, "returned-first-page")
    keep(page, "returned-report-first-page")

    summary.get_by_role("link", name=label).click()
    expect(page.locator("h2.h5")).to_have_text(report.spec.section("applications").title)
    assert page.evaluate("document.activeElement.dataset.ref") == ref
    # Its accessible name: table, row and column, as the statute prints them.
    named = page.get_by_role(
        "textbox", name=re.compile("三、收到和处理政府信息公开申请情况.*本机关不掌握相关政府信息.*自然人")
    )
    expect(named).to_be_focused()
    shots(page, "cell-from-comment")


def test_it_lets_a_clerk_withdraw_and_ask_for_a_correction_where_the_report_is(sign_in, people, shots):
    report = people["report"]
    workflow.transition(report, workflow.Action.SUBMIT, actor=people["clerk"])
    page = sign_in("clerk", PASSWORD)
    page.get_by_role("button", name="撤回").click()
    expect(page.locator(".alert-success")).to_contain_text("已撤回")
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT
    expect(page.get_by_role("button", name="撤回")).to_have_count(0)

    Report.objects.filter(pk=report.pk).update(status=Report.Status.PUBLISHED)
    page.goto(page.url.split("/workspace/")[0] + f"/workspace/test-org/{YEAR}/basic/")
    page.get_by_role("button", name="申请更正").click()
    expect(page.locator(".alert-success")).to_contain_text("已申请更正")
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT
    expect(page.locator("#step-form")).to_be_visible()
    shots(page, "corrected")
