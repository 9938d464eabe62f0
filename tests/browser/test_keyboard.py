"""The clerk's whole flow with the keyboard alone (issue 13): sign in, open the
report, go through the steps, type into the grid, save and submit, using only
Tab, Shift+Tab, Enter and the arrow keys, with a visible focus at every stop."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from disclosure import formats as reg
from disclosure.models import Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import import_document
from disclosure.services.editing import explain_finding
from disclosure.wizard import steps
from disclosure.workflow import readiness

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "keyboard-pass-2026"
YEAR = 2021
# More stops than any page has (table 三 alone has well over 100 cells): a focus trap fails instead of looping.
MAX_TABS = 400

# What the focused element looks like: an outline or a focus ring (box-shadow) that is not transparent.
FOCUS_STYLE = """() => {
    const el = document.activeElement;
    if (!el || el === document.body) return {ok: false, what: "nothing focused"};
    // Past its year, month and day a date field's last stop is Chromium's own calendar button,
    // inside the field (the field loses :focus, keeps :focus-within), drawn with the browser's focus ring.
    if (el.type === "date" && !el.matches(":focus") && el.matches(":focus-within")) return {ok: true, what: "date"};
    const style = getComputedStyle(el);
    const visible = (c) => c && !/rgba\\([^)]*,\\s*0\\)$/.test(c) && c !== "transparent";
    const outline = style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0 && visible(style.outlineColor);
    const ring = style.boxShadow !== "none" && visible(style.boxShadow);
    const what = el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
        (el.dataset.ref ? `[data-ref=${el.dataset.ref}]` : "") + " " + (el.innerText || el.value || "").slice(0, 30);
    return {ok: outline || ring, what};
}"""


@pytest.fixture
def clerk(db):
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    user = get_user_model().objects.create_user("clerk", password=PASSWORD, first_name="填报人")
    Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    report = import_document(balanced_document("2021", year=YEAR)).report
    for warning in readiness(report).unexplained:  # ready to submit once the clerk's edits balance
        explain_finding(report, warning.key, "与台账核对无误。", actor=user)
    return report


def focused(page, selector: str) -> bool:
    return page.evaluate("(s) => !!document.activeElement && document.activeElement.matches(s)", selector)


def assert_focus_visible(page) -> None:
    try:  # focus rings fade in (Bootstrap's 0.15 s transition): give them a moment
        page.wait_for_function(f"() => ({FOCUS_STYLE})().ok", timeout=1000, polling=50)
    except PlaywrightTimeoutError:
        state = page.evaluate(FOCUS_STYLE)
        raise AssertionError(f"no visible focus on {state['what']!r} ({page.url})") from None


def tab_to(page, selector: str, *, back: bool = False) -> None:
    """Tab (or Shift+Tab) until the element matching ``selector`` has the focus (it may have it
    already, e.g. an autofocus field); every stop on the page shows its focus."""
    if focused(page, selector):
        return
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        if focused(page, "body"):
            continue  # past the last stop the focus leaves the page (the browser's own controls), then wraps
        assert_focus_visible(page)
        if focused(page, selector):
            return
    raise AssertionError(f"{selector} not reached with {'Shift+' if back else ''}Tab in {MAX_TABS} stops ({page.url})")


def next_step(page, title: str) -> None:
    tab_to(page, 'button[name="goto"].btn-primary')
    page.keyboard.press("Enter")
    expect(page.locator("h2.h5")).to_have_text(title)


def test_it_takes_a_clerk_through_the_report_with_the_keyboard_alone(new_page, live_server, clerk, shots):
    report = clerk
    fmt = reg.format_for_year(YEAR)
    titles = {s.code: s.title for s in steps(fmt)}
    doc = export_report(report)
    received = doc["applications"]["new_received"]["natural_person"]
    granted = doc["applications"]["granted"]["natural_person"]

    page = new_page()
    page.goto(live_server.url + "/workspace/")  # sent to sign in
    tab_to(page, "#id_username")
    page.keyboard.type("clerk")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="我的报告")).to_be_visible()
    shots(page, "dashboard")

    # Open the report from its row on the dashboard.
    tab_to(page, f'a[href^="/workspace/test-org/{YEAR}/"]')
    page.keyboard.press("Enter")
    expect(page.locator("h2.h5")).to_have_text(titles["basic"])

    # Shift+Tab goes back the way Tab came.
    tab_to(page, 'button[name="goto"].btn-primary')
    tab_to(page, 'button[name="goto"].btn-outline-primary', back=True)  # 保存
    expect(page.locator(":focus")).to_have_text("保存")

    for code in ("overview", "active_disclosure", "applications"):
        next_step(page, titles[code])
    shots(page, "applications")

    # Into the grid: one application more received and granted, typed as in a spreadsheet.
    tab_to(page, 'input[data-ref="applications.new_received.natural_person"]')
    page.keyboard.press("Control+A")
    page.keyboard.type(str(received + 1))
    target = 'input[data-ref="applications.granted.natural_person"]'
    for _ in range(len(fmt.applications_rows)):
        if focused(page, target):
            break
        page.keyboard.press("ArrowDown")
        assert_focus_visible(page)
        ref = page.evaluate("() => document.activeElement.dataset.ref || ''")
        assert ref.endswith(".natural_person"), f"ArrowDown left the column: {ref!r}"
    assert focused(page, target), "ArrowDown never reached 予以公开"
    page.keyboard.press("Control+A")
    page.keyboard.type(str(granted + 1))
    page.keyboard.press("ArrowRight")  # the next applicant column: the arrows move like a spreadsheet's
    assert focused(page, f'input[data-ref="applications.granted.{fmt.applicant_columns[1].code}"]')
    page.keyboard.press("ArrowLeft")
    assert focused(page, target)
    page.keyboard.press("Enter")  # Enter goes down the column
    assert not focused(page, target)
    expect(page.locator('.balance-col[data-column="natural_person"]')).to_have_class(re.compile("text-bg-success"))

    # Save with the keyboard: Tab to 保存, Enter.
    tab_to(page, 'button[name="goto"].btn-outline-primary')
    page.keyboard.press("Enter")
    expect(page.locator("h2.h5")).to_have_text(titles["applications"])
    stored = export_report(Report.objects.get(pk=report.pk))["applications"]
    assert (stored["new_received"]["natural_person"], stored["granted"]["natural_person"]) == (
        received + 1,
        granted + 1,
    )
    shots(page, "saved")

    for code in [s.code for s in steps(fmt)][4:]:
        next_step(page, titles[code])
    tab_to(page, "#submit-report")
    shots(page, "submit")
    page.keyboard.press("Enter")
    expect(page.locator(".alert-success")).to_contain_text("已提交")
    assert Report.objects.get(pk=report.pk).status == Report.Status.SUBMITTED
