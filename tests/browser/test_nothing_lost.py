"""Two clerks in two browsers (issue 12): nothing typed is lost, nothing is saved over anyone unseen.

1. B leaves step 五 (下一步) or reloads with an unresolved conflict: A's text
   stays, B's stays held in B's browser until B chooses, and A is told.
2. A clerk reloads within half a second of typing: the page ends up showing
   what the server holds, says 已保存 only then, and blames nobody.
"""

import random

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure.models import Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import import_document

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "nothing-lost-2026"
PROBLEMS = 'textarea[data-ref="narrative.problems"]'
CELL = "applications.granted.natural_person"


@pytest.fixture
def report(db):
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    for username, name in (("alice", "张三"), ("bob", "李四")):
        user = get_user_model().objects.create_user(username, password=PASSWORD, first_name=name)
        Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    return import_document(balanced_document("2021", year=2021)).report


def open_step(sign_in, username, step="problems"):
    page = sign_in(username, PASSWORD, f"/accounts/login/?next=/workspace/test-org/2021/{step}/")
    # The test decides when a page hears of the other's saves (a focus event polls at once).
    page.add_init_script("window.reportEditorPollMs = 3600000;")
    page.reload()
    expect(page.locator("#step-form")).to_be_visible()
    return page


def problems(report) -> str:
    return export_report(Report.objects.get(pk=report.pk))["narrative"]["problems"]


def cell(report) -> int | None:
    return export_report(Report.objects.get(pk=report.pk))["applications"]["granted"]["natural_person"]


def poll_now(page):
    page.evaluate("window.dispatchEvent(new Event('focus'))")


def test_it_keeps_both_edits_when_b_leaves_or_reloads_with_an_unresolved_conflict(sign_in, report, shots):
    original = problems(report)
    alice = open_step(sign_in, "alice")
    bob = open_step(sign_in, "bob")  # both see the original text

    alice.fill(PROBLEMS, original + "（A补充）")
    alice.keyboard.press("Tab")
    expect(alice.locator("#save-state")).to_contain_text("已保存")
    assert problems(report) == original + "（A补充）"

    bob.fill(PROBLEMS, original + "（B补充）")
    bob.keyboard.press("Tab")
    box = bob.locator("#conflict-live")
    expect(box).to_be_visible()
    expect(box).to_contain_text("张三")  # who changed it
    expect(box).to_contain_text("存在的主要问题及改进情况")  # the part's label, not its ref
    expect(bob.locator("#save-state")).not_to_contain_text("已保存")
    shots(bob, "conflict")

    # 下一步 without choosing: the clerk is asked; saying no stays on the step.
    bob.once("dialog", lambda dialog: dialog.dismiss())
    bob.get_by_role("button", name="下一步：六、其他需要报告的事项").click()
    expect(bob.locator("h2.h5")).to_have_text("五、存在的主要问题及改进情况")
    expect(box).to_be_visible()
    assert problems(report) == original + "（A补充）"

    # Saying yes leaves; the held edit is not sent on the way out.
    bob.once("dialog", lambda dialog: dialog.accept())
    bob.get_by_role("button", name="下一步：六、其他需要报告的事项").click()
    expect(bob.locator("h2.h5")).to_have_text("六、其他需要报告的事项")
    assert problems(report) == original + "（A补充）"

    # Back on 五, and after a reload: still held, still shown, never sent.
    bob.goto(bob.url.replace("/other_matters/", "/problems/"))
    expect(box).to_be_visible()
    expect(bob.locator(PROBLEMS)).to_have_value(original + "（B补充）")
    bob.on("dialog", lambda dialog: dialog.accept())
    bob.reload()
    expect(box).to_be_visible()
    expect(box).to_contain_text("（A补充）")
    expect(bob.locator(PROBLEMS)).to_have_value(original + "（B补充）")
    bob.wait_for_timeout(1500)  # time for any wrongful autosave to land
    assert problems(report) == original + "（A补充）"
    shots(bob, "held-after-reload")

    # Bob's explicit choice is applied; Alice is told who changed what, and sees it.
    bob.get_by_role("button", name="保留我的修改并保存").click()
    expect(bob.locator("#save-state")).to_contain_text("已保存")
    assert problems(report) == original + "（B补充）"
    poll_now(alice)
    expect(alice.locator("#others-live")).to_contain_text("李四 刚刚修改了：存在的主要问题及改进情况")
    expect(alice.locator(PROBLEMS)).to_have_value(original + "（B补充）")
    expect(alice.locator("#presence")).to_contain_text("李四（五、存在的主要问题及改进情况）")
    shots(alice, "told")


def test_it_marks_a_cell_both_clerks_typed_in_and_applies_the_rest(sign_in, report, shots):
    alice = open_step(sign_in, "alice", "applications")
    bob = open_step(sign_in, "bob", "applications")
    other = "applications.granted.research"

    alice.locator(f'input[data-ref="{CELL}"]').fill("41")
    alice.locator(f'input[data-ref="{other}"]').fill("7")
    alice.keyboard.press("Tab")
    expect(alice.locator("#save-state")).to_contain_text("已保存")

    bob.locator(f'input[data-ref="{CELL}"]').fill("42")  # typed over the old value, not yet sent
    poll_now(bob)  # hears of Alice's save before sending
    expect(bob.locator("#conflict-live")).to_be_visible()
    expect(bob.locator(f'input[data-ref="{CELL}"]')).to_have_value("42")
    expect(bob.locator(f'input[data-ref="{other}"]')).to_have_value("7")  # untouched: applied
    expect(bob.locator("#others-live")).to_contain_text("张三 刚刚修改了")
    bob.get_by_role("button", name="采用对方的修改").click()
    expect(bob.locator(f'input[data-ref="{CELL}"]')).to_have_value("41")
    assert cell(report) == 41


def test_it_never_shows_an_old_value_as_saved_after_a_quick_reload(sign_in, report, shots):
    alice = open_step(sign_in, "alice", "applications")
    alice.on("dialog", lambda dialog: dialog.accept())  # the browser's "leave page?" on reload
    rng = random.Random(12)
    for attempt in range(6):
        typed = str(100 + attempt)
        alice.locator(f'input[data-ref="{CELL}"]').fill(typed)
        alice.wait_for_timeout(rng.randint(0, 500))
        alice.reload()
        expect(alice.locator(f'input[data-ref="{CELL}"]')).to_have_value(typed)
        expect(alice.locator("#save-state")).to_contain_text("已保存")
        assert cell(report) == int(typed), attempt  # 已保存 means the server holds it
        expect(alice.locator("#conflict-live")).to_be_hidden()  # nobody else is blamed
    shots(alice, "after-reloads")


def test_it_retries_a_failed_save_and_says_saved_only_when_the_server_has_it(sign_in, report, shots):
    alice = open_step(sign_in, "alice", "applications")

    def refuse_saves(route):
        if route.request.method == "POST":
            route.abort()
        else:
            route.continue_()

    alice.route("**/save/", refuse_saves)
    alice.locator(f'input[data-ref="{CELL}"]').fill("88")
    alice.keyboard.press("Tab")
    expect(alice.locator("#save-state")).to_have_text("保存失败，将重试")
    assert cell(report) != 88
    shots(alice, "failed")

    alice.unroute("**/save/", refuse_saves)
    expect(alice.locator("#save-state")).to_contain_text("已保存", timeout=15_000)
    assert cell(report) == 88


def test_it_saves_what_was_typed_before_the_editor_script_ran(sign_in, report, shots):
    """CI lost the first cell of a step: filled the moment the page showed, before the
    script that listens for typing had loaded. The typed value is now found and saved."""
    page = open_step(sign_in, "alice", "applications")
    release = []

    def slow_script(route):
        release.append(route)  # held until the cell has been typed into

    page.route("**/js/report-editor.js", slow_script)
    page.reload(wait_until="commit")
    page.locator(f'input[data-ref="{CELL}"]').fill("4321")
    release[0].continue_()
    expect(page.locator("#save-state")).to_contain_text("已保存")
    assert cell(report) == 4321
    shots(page, "typed-before-script")
