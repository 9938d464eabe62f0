"""A clerk writes a whole report in the browser, from seed 004's published data."""

import json
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure import formats as reg
from disclosure.models import Membership, Organization, Report
from disclosure.selectors import export_report

from ..factories import seed

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "clerk-pass-2026"


@pytest.fixture
def clerk(db):
    org = Organization.objects.create(name="文昌湖区招商局", code="wch-zsj", kind="department")
    user = get_user_model().objects.create_user("wch-clerk", password=PASSWORD, first_name="招商局 填报人")
    Membership.objects.create(user=user, organization=org, role=Membership.Role.CLERK)
    return user


@pytest.fixture
def page(new_page, live_server):
    page = new_page()
    page.base = live_server.url
    return page


def saved(page):
    expect(page.locator("#save-state")).to_contain_text("已保存")


def cell(page, ref):
    return page.locator(f'input[data-ref="{ref}"]')


def fill_cells(page, values: dict[str, object]):
    for ref, value in values.items():
        if value is None:
            continue
        cell(page, ref).fill(str(value))
    page.keyboard.press("Tab")  # leaving the cell saves at once
    saved(page)


def paste(page, ref: str, text: str):
    cell(page, ref).focus()
    page.evaluate(
        """([ref, text]) => {
            const el = document.querySelector(`input[data-ref="${ref}"]`);
            const data = new DataTransfer();
            data.setData("text/plain", text);
            el.dispatchEvent(new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        [ref, text],
    )


def go(page, step_title: str):
    page.get_by_role("button", name=re.compile("^" + re.escape(step_title))).first.click()
    expect(page.locator("h2.h5")).to_have_text(step_title)


def test_it_takes_a_clerk_from_sign_in_to_submission(page, clerk, shots):
    doc = seed("004")
    fmt = reg.get_format(doc["format"])

    page.goto(page.base + "/workspace/")  # staff pages send visitors to sign in
    page.fill("#id_username", "wch-clerk")
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.get_by_role("heading", name="我的报告")).to_be_visible()
    shots(page, "dashboard")

    # The report year of seed 004 is 2020: created late, with that year's format.
    page.select_option("select[name=year]", "2020")
    page.get_by_role("button", name="创建", exact=True).click()
    expect(page.locator("h2.h5")).to_have_text("基本信息")
    report = Report.objects.get(organization__code="wch-zsj", year=2020)
    assert report.format == "2019"
    page.fill("#f-title", doc["title"])
    page.fill("#f-date", "2021-01-20")
    page.keyboard.press("Tab")
    saved(page)
    shots(page, "basic")

    go(page, fmt.section("overview").title)
    for key, text in doc["narrative"]["overview"].items():
        if text:
            page.fill(f'textarea[data-ref="narrative.overview.{key}"]', text)
    page.fill('textarea[data-ref="narrative.preamble"]', doc["narrative"]["preamble"])
    page.keyboard.press("Tab")
    saved(page)
    shots(page, "overview")

    go(page, fmt.section("active_disclosure").title)
    values = {}
    for table in fmt.active_disclosure:
        for row in table.rows:
            for col in table.columns:
                values[f"active_disclosure.{table.code}.{row.code}.{col.code}"] = doc["active_disclosure"][table.code][
                    row.code
                ][col.code]
    fill_cells(page, values)
    shots(page, "active_disclosure")

    go(page, fmt.section("applications").title)
    apps = doc["applications"]
    applicant = [c.code for c in fmt.applicant_columns]
    # One row pasted from a spreadsheet, full-width digits included.
    paste(page, "applications.new_received.natural_person", "１\t0\t0\t0\t0\t0\n")
    expect(cell(page, "applications.new_received.other_org")).to_have_value("0")
    saved(page)
    expect(page.locator('output[data-ref="applications.new_received.total"]')).to_have_text("1")
    # The rest typed, moving with the arrow keys as in a spreadsheet.
    for row in fmt.applications_rows[1:]:
        if row.computed:
            continue
        cell(page, f"applications.{row.code}.{applicant[0]}").click()
        for i, col in enumerate(applicant):
            page.keyboard.type(str(apps[row.code][col]))
            if i + 1 < len(applicant):
                page.keyboard.press("ArrowRight")
        expect(cell(page, f"applications.{row.code}.{applicant[-1]}")).to_be_focused()
    # Enter goes down the column, skipping nothing typed.
    cell(page, "applications.new_received.natural_person").click()
    page.keyboard.press("Enter")
    expect(cell(page, "applications.carried_over.natural_person")).to_be_focused()
    page.keyboard.press("Tab")
    saved(page)
    shots(page, "applications-typed")

    # A slip: one application carried forward too many breaks the 自然人 identity.
    carried = cell(page, "applications.carried_forward.natural_person")
    carried.fill("1")
    page.keyboard.press("Tab")
    saved(page)
    badge = page.locator('.balance-col[data-column="natural_person"]')
    expect(badge).to_have_class(re.compile("text-bg-danger"))
    broken = page.locator('td[data-ref="applications.carried_forward.natural_person"]')
    expect(broken).to_have_class(re.compile("finding-error"))
    expect(page.locator("#findings")).to_contain_text("勾稽关系")
    shots(page, "identity-broken")
    carried.fill("0")
    page.keyboard.press("Tab")
    saved(page)
    expect(badge).to_have_class(re.compile("text-bg-success"))
    expect(broken).not_to_have_class(re.compile("finding-error"))
    expect(page.locator('output[data-ref="applications.outcome_total.total"]')).to_have_text("1")
    shots(page, "identity-fixed")

    go(page, fmt.section("reviews").title)
    fill_cells(
        page,
        {
            f"reviews.{b.code}.{c.code}": doc["reviews"][b.code][c.code]
            for b in fmt.reviews_blocks
            for c in fmt.reviews_parts
        },
    )
    shots(page, "reviews")

    go(page, fmt.section("problems").title)
    page.fill('textarea[data-ref="narrative.problems"]', doc["narrative"]["problems"])
    go(page, fmt.section("other_matters").title)
    page.fill('textarea[data-ref="narrative.other_matters.other"]', doc["narrative"]["other_matters"]["other"])
    page.keyboard.press("Tab")
    saved(page)
    shots(page, "other_matters")

    # Leave, come back: everything was saved on the way.
    page.goto(page.base + "/workspace/")
    page.get_by_role("link", name="填写").click()
    go(page, fmt.section("applications").title)
    expect(cell(page, "applications.granted.natural_person")).to_have_value("1")
    stored = export_report(Report.objects.get(pk=report.pk))
    for section in ("active_disclosure", "applications", "reviews"):
        assert stored[section] == doc[section], section
    assert stored["narrative"]["overview"] == doc["narrative"]["overview"]
    assert stored["narrative"]["problems"] == doc["narrative"]["problems"]

    go(page, "预览与校验")
    expect(page.locator("#report-preview")).to_contain_text(fmt.section("applications").title)
    shots(page, "preview")
    go(page, "提交")
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".alert-success")).to_contain_text("已提交")
    shots(page, "submitted")
    assert Report.objects.get(pk=report.pk).status == Report.Status.SUBMITTED
    assert json.dumps(stored, ensure_ascii=False)
