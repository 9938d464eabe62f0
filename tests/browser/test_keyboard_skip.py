"""The statutory grid's skip link (issue 13 follow-up): table 三 has over 100 cells, each a
Tab stop, so a keyboard user skips it in one step to the buttons below, and can come back."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure import formats as reg
from disclosure.models import Membership, Organization, Report
from disclosure.services import import_document
from disclosure.services.editing import explain_finding
from disclosure.wizard import steps
from disclosure.workflow import Action, readiness, transition

from ..factories import balanced_document
from .conftest import axe_violations, describe_violations
from .test_keyboard import assert_focus_visible, focused

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "keyboard-skip-2026"
YEAR = 2021
STEP = f"/workspace/test-org/{YEAR}/applications/"
NEXT = 'button[name="goto"].btn-primary'  # 下一步
MAX_TABS = 400
TITLE = {s.code: s.title for s in steps(reg.format_for_year(YEAR))}["applications"]

# Where the focus is relative to table 三: "after" when it follows the table and is not inside it.
WHERE = """() => {
    const table = document.querySelector("table.statutory-table");
    const el = document.activeElement;
    if (!el || el === document.body) return "nowhere";
    if (table.contains(el)) return "inside";
    return table.compareDocumentPosition(el) & Node.DOCUMENT_POSITION_FOLLOWING ? "after" : "before";
}"""


@pytest.fixture
def report(db):
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    user = get_user_model().objects.create_user("clerk", password=PASSWORD, first_name="填报人")
    Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    report = import_document(balanced_document("2021", year=YEAR)).report
    for warning in readiness(report).unexplained:
        explain_finding(report, warning.key, "与台账核对无误。", actor=user)
    return report


def tabs_to(page, selector: str) -> int:
    """Presses Tab until ``selector`` has the focus; returns how many presses it took."""
    for count in range(1, MAX_TABS + 1):
        page.keyboard.press("Tab")
        if focused(page, selector):
            return count
    raise AssertionError(f"{selector} not reached in {MAX_TABS} Tab presses")


def test_it_skips_table_three_from_the_step_heading_and_comes_back(report, sign_in, live_server, shots):
    page = sign_in("clerk", PASSWORD, path=STEP)
    expect(page.locator("h2.h5")).to_have_text(TITLE)
    skip = page.locator("a.grid-skip", has_text="跳过表格")
    expect(skip).to_have_count(1)
    expect(page.locator("#step-form")).not_to_contain_text("Tab stop")  # the template's comment stays out
    # Hidden until focused, but never display:none (Tab must reach it).
    assert skip.evaluate("(a) => getComputedStyle(a).display") != "none"
    assert skip.evaluate("(a) => a.getBoundingClientRect().width") <= 1

    page.click("h2.h5")  # the sequential focus starting point: the step's heading
    assert tabs_to(page, "a.grid-skip#grid-skip-applications") <= 3
    assert_focus_visible(page)
    assert skip.evaluate("(a) => a.getBoundingClientRect().width") > 20, "the focused skip link is not shown"
    shots(page, "skip-link-focused")
    shown = axe_violations(page)  # shown, the link passes WCAG AA too (contrast, name)
    assert not shown, describe_violations(shown)

    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({WHERE})() === 'after'", timeout=3000)
    assert_focus_visible(page)
    assert focused(page, "#grid-end-applications")
    # The next stops are the step's own controls below the table, not its cells.
    page.keyboard.press("Tab")
    assert page.evaluate(WHERE) == "after"
    assert focused(page, "#no-applications")
    assert tabs_to(page, NEXT) <= 4

    # And back: 返回表格开头 from after the table, then one Tab into the table's first cell.
    page.keyboard.press("Shift+Tab")
    for _ in range(5):
        if focused(page, "#grid-end-applications"):
            break
        page.keyboard.press("Shift+Tab")
    assert focused(page, "#grid-end-applications")
    expect(page.locator(":focus")).to_have_text("返回表格开头")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'grid-skip-applications'", timeout=3000)
    page.keyboard.press("Tab")
    assert page.evaluate(WHERE) == "inside"
    assert focused(page, "input.cell")


def test_it_makes_next_step_a_few_tabs_away_instead_of_over_a_hundred(report, sign_in, live_server, shots):
    page = sign_in("clerk", PASSWORD, path=STEP)
    expect(page.locator("#grid-skip-applications")).to_have_count(1)

    # Without the skip link: Tab through every cell from the page top.
    page.reload()
    through = tabs_to(page, NEXT)

    # With it: Tab to the link, Enter, Tab on to 下一步 (every key press counted).
    page.reload()
    before = tabs_to(page, "#grid-skip-applications")  # the page's own chrome, then the link
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.activeElement.id === 'grid-end-applications'", timeout=3000)
    after = tabs_to(page, NEXT)
    presses = before + 1 + after
    print(f"key presses from the page top to 下一步: {through} through the table, {presses} with the skip link")
    assert through > 100
    # The navigation bar and the step list come first (17 stops today, not the grid's to cut):
    # past the link, the table costs one Enter, and 下一步 is a handful of stops on.
    assert after <= 5
    assert presses < 25
    assert through - presses > 100

    # The skip keeps the editor working: 下一步 still saves and moves on.
    page.keyboard.press("Enter")
    expect(page.locator("h2.h5")).not_to_have_text(TITLE)


def test_it_skips_the_read_only_grid_of_a_submitted_report(report, sign_in, live_server, shots):
    clerk = get_user_model().objects.get(username="clerk")
    transition(Report.objects.get(pk=report.pk), Action.SUBMIT, actor=clerk)
    page = sign_in("clerk", PASSWORD, path=STEP)
    expect(page.locator("#save-state")).to_have_text("只读")
    page.click("h2.h5")
    assert tabs_to(page, "#grid-skip-applications") <= 3
    page.keyboard.press("Enter")
    page.wait_for_function(f"() => ({WHERE})() === 'after'", timeout=3000)
    assert focused(page, "#grid-end-applications")
    assert_focus_visible(page)


def test_it_skips_the_navigation_with_the_first_tab(report, sign_in, live_server):
    page = sign_in("clerk", PASSWORD, path=STEP)
    expect(page.locator("h2.h5")).to_have_text(TITLE)
    page.evaluate("document.activeElement && document.activeElement.blur()")
    page.keyboard.press("Tab")
    link = page.locator("a.skip-link")
    assert page.evaluate("document.activeElement.textContent.trim()") == "跳到正文"
    assert link.evaluate("(a) => a.getBoundingClientRect().width") > 20, "the focused skip link is not shown"
    assert_focus_visible(page)
    shown = axe_violations(page)
    assert not shown, describe_violations(shown)
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")  # past the navigation: the next stop is inside the page's content
    assert page.evaluate("document.getElementById('main').contains(document.activeElement)")
    assert not page.evaluate("document.getElementById('main-nav').contains(document.activeElement)")
