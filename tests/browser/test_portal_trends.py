"""A visitor in the browser (issues 13 and 15): an organization's reports across years
with its trend, the jurisdictions under a node side by side, and the official PDF
that downloads under its Chinese name. Checked with axe-core on each page."""

from __future__ import annotations

import random

import pytest
from playwright.sync_api import expect

from disclosure.models import Organization, Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from ..factories import balanced_document
from ..personas import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def published(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    build_world()
    Organization.objects.create(
        name="乙区教育局", code="b-edu", kind="department", parent=Organization.objects.get(code="district-b")
    )
    docs = {}
    for year, code, seed in [(2020, "test-org", 1), (2021, "test-org", 2), (2023, "test-org", 3), (2021, "b-edu", 4)]:
        doc = balanced_document("2019" if year < 2021 else "2021", year=year, org_code=code, rng=random.Random(seed))
        publish_imported(import_document(doc, status=Report.Status.PUBLISHED).report)
        docs[(code, year)] = doc
    return docs


def test_it_shows_a_trend_compares_jurisdictions_and_downloads_the_pdf(new_page, live_server, published, axe):
    page = new_page()
    page.goto(f"{live_server.url}/reports/test-org/")
    expect(page.locator("h1")).to_have_text("测试局")
    rows = page.locator("#org-years tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first.locator("th")).to_have_text("2023")
    received = published[("test-org", 2021)]["applications"]["new_received"]["total"]
    expect(page.locator('#org-years tr[data-year="2021"] td').nth(1)).to_have_text(str(received))
    expect(page.locator("#rate-definition")).to_contain_text("实质公开率 =（予以公开 + 部分公开）÷ 办理结果总计")
    # 2022 has no report: a gap on the axis, not a bar.
    expect(page.locator("svg.trend-chart").first).to_contain_text("2022")
    axe(page, "an organization's page")

    page.goto(f"{live_server.url}/stats/?jurisdiction=city&year=2021")
    table = page.locator("#compare-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(table).to_contain_text("甲区人民政府")
    expect(table).to_contain_text("乙区人民政府")
    axe(page, "/stats/ with the comparison")
    table.get_by_role("link", name="甲区人民政府").click()
    expect(page.locator("h1")).to_contain_text("甲区人民政府")
    expect(page.locator("#compare-table tbody tr")).to_have_count(1)
    page.locator("#compare-table").get_by_role("link", name="测试局").click()
    expect(page).to_have_url(f"{live_server.url}/reports/test-org/")

    page.locator('#org-years tr[data-year="2021"] a').click()
    with page.expect_download() as download:
        page.get_by_role("link", name="下载正式文本（PDF）").click()
    assert download.value.suggested_filename == "测试局2021年政府信息公开工作年度报告.pdf"
