"""Two clerks edit the same report in two browsers: a clash is held, never overwritten."""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure.models import Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import import_document

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "conflict-pass-2026"
CELL = "applications.granted.natural_person"
OTHER = "applications.granted.research"


@pytest.fixture
def report(db):
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    for username in ("alice", "bob"):
        user = get_user_model().objects.create_user(username, password=PASSWORD)
        Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    return import_document(balanced_document("2021", year=2021)).report


def open_step(sign_in, username):
    page = sign_in(username, PASSWORD, "/accounts/login/?next=/workspace/test-org/2021/applications/")
    expect(page.locator("h2.h5")).to_contain_text("三、")
    return page


def value(report, ref):
    section, row, column = ref.split(".")
    return export_report(Report.objects.get(pk=report.pk))[section][row][column]


def test_it_holds_a_clashing_edit_until_the_clerk_decides(sign_in, report, shots):
    alice = open_step(sign_in, "alice")
    bob = open_step(sign_in, "bob")  # both loaded the same version

    alice.locator(f'input[data-ref="{CELL}"]').fill("41")
    alice.keyboard.press("Tab")
    expect(alice.locator("#save-state")).to_contain_text("已保存")

    bob.locator(f'input[data-ref="{CELL}"]').fill("42")
    bob.keyboard.press("Tab")
    expect(bob.locator("#conflict-live")).to_be_visible()
    expect(bob.locator("#conflict-live")).to_contain_text("41")
    expect(bob.locator(f'input[data-ref="{CELL}"]')).to_have_class(re.compile("is-invalid"))
    shots(bob, "conflict")
    assert value(report, CELL) == 41

    # Bob goes on working: his other edits save, the clash stays held.
    bob.locator(f'input[data-ref="{OTHER}"]').fill("7")
    bob.keyboard.press("Tab")
    expect(bob.locator("#save-state")).to_contain_text("其他修改已保存")
    expect(bob.locator("#save-state")).to_contain_text("1 处修改与他人的修改冲突")
    assert value(report, OTHER) == 7
    assert value(report, CELL) == 41

    bob.get_by_role("button", name="保留我的修改并保存").click()
    expect(bob.locator("#save-state")).to_contain_text("已保存")
    assert value(report, CELL) == 42
