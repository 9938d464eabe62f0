"""What a clerk sees on a 1366×900 screen (issue 13): tables 三 and 四 and a
returned report's first page, with no column hidden and no internal code on
screen. With SCREENSHOTS_DIR set, the screenshots are written there (the ones
committed under docs/screenshots/ come from this test)."""

from __future__ import annotations

import os
import re
from pathlib import Path

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
from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "screen-pass-2026"
YEAR = 2021
SCREEN = {"width": 1366, "height": 900}
# Stored names a person must never read: cell references, event and position codes.
CODE = re.compile(r"\b(?:applications|reviews|active_disclosure|narrative|header|report|comment|import)\.[a-z_]+")

# Every table cell that is neither inside the viewport nor reachable through a scroll
# container whose horizontal bar is drawn and on screen (the container no taller than the
# screen): a column the clerk cannot see nor scroll to.
HIDDEN_CELLS = """() => {
    const width = document.documentElement.clientWidth, height = window.innerHeight;
    const hidden = [];
    const scrollsTo = (box, rect) => {
        const style = getComputedStyle(box);
        const borders = parseFloat(style.borderTopWidth) + parseFloat(style.borderBottomWidth);
        const bar = box.offsetHeight - box.clientHeight - borders;
        return ["auto", "scroll"].includes(style.overflowX) && box.scrollWidth > box.clientWidth
            && bar > 0 && box.getBoundingClientRect().height <= height;
    };
    for (const cell of document.querySelectorAll("main table td, main table th")) {
        const rect = cell.getBoundingClientRect();
        if (rect.width < 2 || rect.height < 2) continue;  // visually hidden on purpose
        let reachable = false, clipped = false;
        for (let box = cell.parentElement; box && box !== document.body; box = box.parentElement) {
            const style = getComputedStyle(box);
            if (style.overflowX === "visible") continue;
            const outer = box.getBoundingClientRect();
            if (rect.left >= outer.left - 1 && rect.right <= outer.right + 1) continue;
            if (scrollsTo(box, rect)) { reachable = true; break; }
            clipped = true; break;
        }
        if (!reachable && (clipped || rect.left < -1 || rect.right > width + 1)) {
            hidden.push(`${cell.tagName.toLowerCase()}${cell.dataset.ref ? "[data-ref=" + cell.dataset.ref + "]" : ""}`
                + ` «${cell.innerText.trim().slice(0, 20)}» x ${Math.round(rect.left)}–${Math.round(rect.right)}`);
        }
    }
    return hidden;
}"""


@pytest.fixture(scope="module")
def screen_browser(browser):
    """Chromium as a clerk has it: scroll bars drawn (Playwright hides them by default)."""
    browser = browser.browser_type.launch(
        executable_path=CHROMIUM, args=CHROMIUM_ARGS, ignore_default_args=["--hide-scrollbars"]
    )
    yield browser
    browser.close()


@pytest.fixture
def screen(screen_browser, shots, live_server):
    """Signs the clerk in on a 1366×900 page."""
    context = screen_browser.new_context(viewport=SCREEN, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(10_000)
    shots.pages.append(page)
    page.goto(live_server.url + "/accounts/login/")
    page.fill("#id_username", "clerk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="我的报告")).to_be_visible()
    yield page
    context.close()


@pytest.fixture
def office(db):
    org = Organization.objects.create(name="测试局", code="test-org", kind="department")
    clerk = get_user_model().objects.create_user("clerk", password=PASSWORD, first_name="填报人")
    leader = get_user_model().objects.create_user("leader", password=PASSWORD, first_name="审核人")
    Membership.objects.create(user=clerk, organization=org, role=Membership.Role.CLERK)
    Membership.objects.create(user=leader, organization=org, role=Membership.Role.REVIEWER)
    return {"clerk": clerk, "leader": leader}


@pytest.fixture
def returned(office):
    """A report the reviewer sent back with a comment at one cell of table 三."""
    report = import_document(balanced_document("2021", year=YEAR)).report
    for warning in readiness(report).unexplained:
        explain_finding(report, warning.key, "与台账核对无误。", actor=office["clerk"])
    report = transition(Report.objects.get(pk=report.pk), Action.SUBMIT, actor=office["clerk"])
    return transition(
        report,
        Action.RETURN,
        actor=office["leader"],
        comment="予以公开的自然人申请数与台账不符，请核对。",
        anchor="applications.granted.natural_person",
    )


def keep(page, name: str, *, full_page: bool) -> None:
    """Writes the screenshot to SCREENSHOTS_DIR when it is set."""
    folder = os.environ.get("SCREENSHOTS_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=full_page)


def assert_nothing_hidden_and_no_code(page) -> None:
    hidden = page.evaluate(HIDDEN_CELLS)
    listing = "\n".join(hidden[:40])
    assert not hidden, f"{len(hidden)} table cell(s) off screen with no visible scroll bar on {page.url}:\n{listing}"
    codes = sorted(set(CODE.findall(page.locator("body").inner_text())))
    assert not codes, f"internal codes on screen at {page.url}: {codes}"


STEP_SHOTS = {"applications": "table-3-applications", "reviews": "table-4-reviews"}


@pytest.mark.parametrize("step", STEP_SHOTS)
def test_it_shows_every_column_of_the_tables_on_a_1366_screen(step, office, returned, screen, live_server, shots):
    title = next(s.title for s in steps(reg.format_for_year(YEAR)) if s.code == step)
    screen.goto(f"{live_server.url}/workspace/test-org/{YEAR}/{step}/")
    expect(screen.locator("h2.h5")).to_have_text(title)
    expect(screen.locator("main table").first).to_be_visible()
    shots(screen, step)
    keep(screen, STEP_SHOTS[step], full_page=True)
    assert_nothing_hidden_and_no_code(screen)


def test_it_shows_a_returned_reports_first_page_without_codes(office, returned, screen, live_server, shots):
    row = screen.locator("tr", has_text="已退回")
    expect(row).to_have_count(1)
    row.get_by_role("link").first.click()
    expect(screen.locator("h1").first).to_be_visible()
    expect(screen.locator("main")).to_contain_text("请核对")  # the reviewer's reason is on the first page
    shots(screen, "returned")
    keep(screen, "returned-report-first-page", full_page=False)
    assert_nothing_hidden_and_no_code(screen)
