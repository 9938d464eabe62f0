"""A clerk's day without friction (issue 13): what a walk-through in the browser found.

Tables fit the screen, the findings agree with the cells, 下一步 stops at a bad
cell and says why, cells are named by their labels, a returned report says why,
and 撤回 / 申请更正 are where the report is.
"""

import re

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
        assert fit["hidden"] == [], (step, width, fit)
        assert not fit["pageScrolls"], (step, width, fit)
        assert fit["worst"] is None or fit["worst"]["lines"] <= 3, (step, width, fit["worst"])
        page.context.close()
