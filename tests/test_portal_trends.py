"""The public side of issue 15 and the portal items of issue 13: an organization's
reports across years with a trend, jurisdictions compared side by side, a chart
that spaces years by their value, PDFs that download."""

from __future__ import annotations

import random

import pytest
from django.urls import reverse

from disclosure.models import Organization, Report
from disclosure.portal import views as portal_views
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import balanced_document

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def publish(year: int, code: str = "test-org", seed: int = 0) -> dict:
    fmt = "2019" if year < 2021 else "2021"
    doc = balanced_document(fmt, year=year, org_code=code, rng=random.Random(seed))
    publish_imported(import_document(doc, status=Report.Status.PUBLISHED).report)
    return doc


def rate(doc: dict) -> float:
    apps = doc["applications"]
    return (apps["granted"]["total"] + apps["partially_granted"]["total"]) / apps["outcome_total"]["total"]


def test_it_shows_an_organizations_reports_across_years_with_a_trend(client, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        docs = {2020: publish(2020, seed=1), 2021: publish(2021, seed=2)}
    url = reverse("portal:organization", args=["test-org"])
    page = client.get(url)
    assert page.status_code == 200
    years = page.context["years"]
    assert [y["year"] for y in years] == [2020, 2021]
    for y in years:
        apps = docs[y["year"]]["applications"]
        assert y["received"] == apps["new_received"]["total"]
        assert y["outcomes"] == apps["outcome_total"]["total"]
        assert sum(m["value"] for m in y["mix"]) == apps["outcome_total"]["total"]
        assert y["disclosure_rate"] == pytest.approx(rate(docs[y["year"]]))
    # The definition is written on the page, with table 三's own labels.
    assert "实质公开率 =（予以公开 + 部分公开）÷ 办理结果总计" in page.text and "“（七）总计”的“总计”列" in page.text
    assert 'class="trend-chart"' in page.text
    assert reverse("portal:report", args=["test-org", 2021]) in page.text

    # Cached until the next publication: a new year shows at once after it.
    with django_capture_on_commit_callbacks(execute=True):
        publish(2023, seed=3)
    again = client.get(url)
    assert [y["year"] for y in again.context["years"]] == [2020, 2021, 2023]
    # 2022 is a gap in the trend, not a neighbour of 2023.
    chart = again.context["chart"]
    assert [g["year"] for g in chart["gaps"]] == [2022]
    assert len(again.context["rate_chart"]["lines"]) == 1  # 2020–2021 joined, 2023 alone

    report_page = client.get(reverse("portal:report", args=["test-org", 2021]))
    assert url in report_page.text
    assert client.get(reverse("portal:organization", args=["sibling"])).status_code == 404


def test_it_spaces_the_years_by_their_value_and_shows_missing_years_as_gaps():
    years = [{"year": y, "received": 10 * i + 5} for i, y in enumerate([2020, 2021, 2026], 1)]
    chart = portal_views._bars(years)
    x = {b["year"]: b["label_x"] for b in chart["bars"]}
    step = x[2021] - x[2020]
    assert step > 0 and x[2026] - x[2021] == pytest.approx(5 * step, abs=2)
    assert [g["year"] for g in chart["gaps"]] == [2022, 2023, 2024, 2025]
    assert all(x[2021] < g["label_x"] < x[2026] for g in chart["gaps"])


def test_it_compares_the_jurisdictions_under_a_node(client, world, django_capture_on_commit_callbacks):
    other = Organization.objects.create(
        name="乙区教育局", code="b-edu", kind="department", parent=Organization.objects.get(code="district-b")
    )
    with django_capture_on_commit_callbacks(execute=True):
        a = publish(2021, seed=1)
        b = publish(2021, code=other.code, seed=2)
    page = client.get(reverse("portal:stats"), {"jurisdiction": "city"})
    compared = page.context["compared"]
    assert compared["year"] == 2021
    rows = {r["code"]: r for r in compared["rows"]}
    assert set(rows) == {"district-a", "district-b"}
    assert rows["district-a"]["received"] == a["applications"]["new_received"]["total"]
    assert rows["district-b"]["received"] == b["applications"]["new_received"]["total"]
    assert rows["district-b"]["disclosure_rate"] == pytest.approx(rate(b))
    assert 'id="compare-table"' in page.text and "甲区人民政府" in page.text and "乙区人民政府" in page.text

    # The top of the site: the city, both districts summed.
    top = client.get(reverse("portal:stats")).context["compared"]["rows"]
    assert [r["code"] for r in top] == ["city"]
    assert top[0]["received"] == rows["district-a"]["received"] + rows["district-b"]["received"]
    assert top[0]["reports"] == 2

    # A district's children are its offices; one with nothing published is named, not hidden.
    district = client.get(reverse("portal:stats"), {"jurisdiction": "district-a"}).context["compared"]
    assert [r["code"] for r in district["rows"]] == ["test-org"]
    assert [w["code"] for w in district["without"]] == ["sibling"]

    # Cached, and forgotten on the next publication.
    with django_capture_on_commit_callbacks(execute=True):
        publish(2021, code="sibling", seed=3)
    district = client.get(reverse("portal:stats"), {"jurisdiction": "district-a"}).context["compared"]
    assert {r["code"] for r in district["rows"]} == {"sibling", "test-org"}
    assert district["without"] == []


def test_it_downloads_the_official_pdf_as_an_attachment_with_its_chinese_name(client, world):
    publish(2021)
    response = client.get(reverse("portal:download", args=["test-org", 2021, "pdf"]))
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="test-org-2021.pdf"; ')
    # RFC 5987: the Chinese name, percent-encoded UTF-8 (测试局 …).
    assert "filename*=UTF-8''%E6%B5%8B%E8%AF%95%E5%B1%80" in disposition
    page = client.get(reverse("portal:report", args=["test-org", 2021]))
    assert "download>下载正式文本（PDF）" in page.text
