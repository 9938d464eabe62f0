"""The public portal: only published revisions, stable links, cache headers, open data."""

import csv
import hashlib
import io
import json
import zipfile

import pytest
from django.urls import reverse

from disclosure.interchange import dumps
from disclosure.models import Report
from disclosure.portal import published as portal
from disclosure.services import import_document, save_edits
from disclosure.workflow import Action, publish_imported, transition

from .factories import balanced_document, seed
from .personas import build_world

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def published():
    report = import_document(seed("002"), status=Report.Status.PUBLISHED).report
    publish_imported(report)
    return report


def urls(org: str, year: int, number: int = 1) -> list[str]:
    return [
        reverse("portal:report", args=[org, year]),
        *[reverse("portal:download", args=[org, year, ext]) for ext in ("pdf", "json", "csv")],
        *[reverse("portal:download_revision", args=[org, year, number, ext]) for ext in ("pdf", "json", "csv")],
    ]


@pytest.mark.parametrize("state", ["draft", "submitted", "returned", "approved"])
def test_it_hides_every_unpublished_report_on_every_url(client, state):
    report = import_document(balanced_document("2021", year=2021)).report
    Report.objects.filter(pk=report.pk).update(status=state)
    for url in [*urls("test-org", 2021), reverse("portal:year_zip", args=[2021])]:
        assert client.get(url).status_code == 404, url
    listing = client.get(reverse("portal:list"))
    assert "测试局" not in listing.text


def test_it_lists_and_searches_published_reports(client, published):
    page = client.get(reverse("portal:list"), {"q": "老城区"})
    assert "老城区商务和工业信息化局2021年政府信息公开工作年度报告" in page.text
    assert "老城区" not in client.get(reverse("portal:list"), {"year": 2020}).text
    assert "老城区" not in client.get(reverse("portal:list"), {"q": "不存在的机关"}).text


def test_it_filters_by_jurisdiction(client):
    world = build_world()
    doc = balanced_document("2021", year=2021)
    report = import_document(doc, status=Report.Status.PUBLISHED).report
    publish_imported(report)
    assert "测试局" in client.get(reverse("portal:list"), {"jurisdiction": "district-a"}).text
    assert "测试局" not in client.get(reverse("portal:list"), {"jurisdiction": "district-b"}).text
    assert world.office.code == "test-org"
    # Only jurisdictions where something is published are offered.
    offered = [j.code for j in client.get(reverse("portal:list")).context["jurisdictions"]]
    assert sorted(offered) == ["city", "district-a"]


def test_it_shows_the_report_as_an_accessible_page(client, published):
    page = client.get(reverse("portal:report", args=["lc-swj", 2021]))
    assert page.status_code == 200
    assert '<html lang="zh-CN">' in page.text
    assert "<h1" in page.text and 'scope="col"' in page.text
    assert "三、收到和处理政府信息公开申请情况" in page.text
    assert 'name="viewport"' in page.text


def test_it_serves_the_stored_pdf_with_cache_headers(client, published):
    pub = published.publications.get()
    response = client.get(reverse("portal:download_revision", args=["lc-swj", 2021, 1, "pdf"]))
    body = b"".join(response.streaming_content)
    assert response["Content-Type"] == "application/pdf"
    assert hashlib.sha256(body).hexdigest() == pub.pdf_sha256
    assert response["ETag"] == f'"{pub.pdf_sha256}"'
    assert "immutable" in response["Cache-Control"]
    assert response["Last-Modified"]
    disposition = response["Content-Disposition"]
    # Downloads, never opens in the browser (issue 13), under its Chinese name (RFC 6266/5987).
    assert disposition.startswith("attachment; filename=\"lc-swj-2021-r1.pdf\"; filename*=UTF-8''")
    assert "%E8%80%81%E5%9F%8E%E5%8C%BA" in disposition  # 老城区
    again = client.get(
        reverse("portal:download_revision", args=["lc-swj", 2021, 1, "pdf"]), HTTP_IF_NONE_MATCH=response["ETag"]
    )
    assert again.status_code == 304


def test_it_serves_the_json_and_a_cell_per_row_csv(client, published):
    pub = published.publications.get()
    data = client.get(reverse("portal:download", args=["lc-swj", 2021, "json"]))
    assert json.loads(b"".join(data.streaming_content)) == seed("002")
    assert "max-age=300" in data["Cache-Control"]
    response = client.get(reverse("portal:download", args=["lc-swj", 2021, "csv"]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    # Codes for programs, Chinese labels beside them for people (issue 13).
    assert rows[0][:3] == ["org_code（机关代码）", "org_name（机关名称）", "year（报告年度）"]
    assert [portal.csv_code(cell) for cell in rows[0]] == portal.CSV_CODES
    assert len(rows) == 1 + 10 + 175 + 15
    granted = next(r for r in rows if r[8] == "granted" and r[10] == "natural_person")
    assert granted[12] == ""  # blank in the published text: blank here too, never 0
    withheld = next(r for r in rows if r[8] == "withheld_prohibited" and r[10] == "total")
    assert withheld[9] == "（三）不予公开2.其他法律行政法规禁止公开" and withheld[12] == "0"
    assert pub.number == 1


def test_it_keeps_earlier_revisions_public_after_a_correction(client, django_capture_on_commit_callbacks):
    world = build_world()
    report = import_document(balanced_document("2021", year=2021)).report
    clerk, leader = world.users["owner_clerk"], world.users["office_reviewer"]
    with django_capture_on_commit_callbacks(execute=True):  # the publish job runs after commit
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, leader), (Action.PUBLISH, leader)]:
            transition(report, action, actor=actor)
    transition(report, Action.CORRECT, actor=clerk)
    report.refresh_from_db()
    save_edits(
        report, actor=clerk, expected_version=report.version, narrative={"overview.platform": "更正后的平台建设情况。"}
    )
    # While the correction is drafted, the public still sees r1.
    assert "更正后的平台建设情况" not in client.get(reverse("portal:report", args=["test-org", 2021])).text
    with django_capture_on_commit_callbacks(execute=True):  # the job publishes and drops the cached page
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, leader), (Action.PUBLISH, leader)]:
            transition(report, action, actor=actor)
    page = client.get(reverse("portal:report", args=["test-org", 2021]))
    assert "更正后的平台建设情况" in page.text and "历次版本" in page.text
    first = client.get(reverse("portal:download_revision", args=["test-org", 2021, 1, "json"]))
    assert "更正后的平台建设情况" not in b"".join(first.streaming_content).decode()
    assert client.get(reverse("portal:download_revision", args=["test-org", 2021, 3, "pdf"])).status_code == 404


def test_it_does_not_pin_a_replaced_publication_as_the_newest(
    client, published, monkeypatch, django_capture_on_commit_callbacks
):
    """A download that read r1 just before r2 committed must not leave r1 cached as the newest."""
    url = reverse("portal:download", args=["lc-swj", 2021, "json"])
    corrected = seed("002")
    corrected["issued_on"] = "2022-01-30"
    read = portal.publication

    def read_just_before_a_republication(*args, **kwargs):
        old = read(*args, **kwargs)
        with django_capture_on_commit_callbacks(execute=True):
            import_document(corrected, status=Report.Status.PUBLISHED, replace=True)
            publish_imported(published)
        return old

    monkeypatch.setattr(portal, "publication", read_just_before_a_republication)
    in_flight = client.get(url)
    monkeypatch.setattr(portal, "publication", read)
    assert json.loads(b"".join(in_flight.streaming_content))["issued_on"] == seed("002")["issued_on"]

    newest = client.get(url)
    assert json.loads(b"".join(newest.streaming_content))["issued_on"] == "2022-01-30"
    assert newest["ETag"] != in_flight["ETag"]


def test_it_bundles_a_years_open_data_as_a_zip(client, published):
    other = import_document(seed("004"), status=Report.Status.PUBLISHED).report
    publish_imported(other)
    assert client.get(reverse("portal:year_zip", args=[2019])).status_code == 404
    response = client.get(reverse("portal:year_zip", args=[2021]))
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(b"".join(response.streaming_content)))
    assert archive.namelist() == ["2021/lc-swj-2021-r1.json", "2021/2021-cells.csv"]
    assert archive.read("2021/lc-swj-2021-r1.json").decode() == dumps(seed("002"))
    lines = archive.read("2021/2021-cells.csv").decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + 200
    again = client.get(reverse("portal:year_zip", args=[2021]), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
    csv_url = reverse("portal:download", args=["lc-swj", 2021, "csv"])
    etag = client.get(csv_url)["ETag"]
    assert client.get(csv_url, HTTP_IF_NONE_MATCH=etag).status_code == 304


def test_it_builds_a_large_years_zip_once_in_a_job_and_serves_it_from_storage(
    client, published, settings, django_capture_on_commit_callbacks
):
    from disclosure.models import Job

    url = reverse("portal:year_zip", args=[2021])
    inline = client.get(url)
    inline_bytes = b"".join(inline.streaming_content)
    settings.REPORT_YEAR_ZIP_INLINE_MAX = 0  # a province's year: too many reports to zip in a request

    with django_capture_on_commit_callbacks(execute=False) as queued:
        first, second = client.get(url), client.get(url)
    for answer in (first, second):
        assert answer.status_code == 503 and answer["Retry-After"] == "15"
        assert "2021年度数据包正在生成" in answer.text and answer["Cache-Control"] == "no-store"
    assert Job.objects.filter(kind=Job.Kind.YEAR_ZIP).count() == 1 and len(queued) == 1  # one job for everyone
    queued[0]()  # the worker's turn

    built = client.get(url)
    assert built.status_code == 200 and built["ETag"] == inline["ETag"]
    assert b"".join(built.streaming_content) == inline_bytes
    assert client.get(url, HTTP_IF_NONE_MATCH=built["ETag"]).status_code == 304

    # Swept from storage after a week: the next visitor's request builds it again.
    job = Job.objects.get(kind=Job.Kind.YEAR_ZIP)
    job.result_file.delete(save=False)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 503
    assert client.get(url).status_code == 200

    # A new publication of the year is a new package, with its own job.
    other = import_document(balanced_document("2021", year=2021), status=Report.Status.PUBLISHED).report
    publish_imported(other)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.get(url).status_code == 503
    newest = client.get(url)
    assert newest["ETag"] != built["ETag"]
    names = zipfile.ZipFile(io.BytesIO(b"".join(newest.streaming_content))).namelist()
    assert len(names) == 3 and Job.objects.filter(kind=Job.Kind.YEAR_ZIP).count() == 2


def test_it_computes_statistics_per_jurisdiction(client):
    build_world()
    doc = balanced_document("2021", year=2021)
    report = import_document(doc, status=Report.Status.PUBLISHED).report
    publish_imported(report)
    page = client.get(reverse("portal:stats"), {"jurisdiction": "city"})
    (year,) = page.context["years"]
    apps = doc["applications"]
    assert year["received"] == apps["new_received"]["total"]
    rate = (apps["granted"]["total"] + apps["partially_granted"]["total"]) / apps["outcome_total"]["total"]
    assert year["disclosure_rate"] == pytest.approx(rate)
    assert sum(m["value"] for m in year["mix"]) == apps["outcome_total"]["total"]
    assert "<svg" in page.text
    assert client.get(reverse("portal:stats"), {"jurisdiction": "district-b"}).context["years"] == []


def test_it_can_hand_the_bytes_to_the_front_web_server(client, published, settings):
    settings.PUBLISHED_FILES_ACCEL_PREFIX = "/protected-media/"
    pub = published.publications.get()
    response = client.get(reverse("portal:download", args=["lc-swj", 2021, "pdf"]))
    assert response["X-Accel-Redirect"] == f"/protected-media/{pub.pdf.name}"
    assert response.content == b""
    assert response["ETag"] == f'"{pub.pdf_sha256}"' and response["Content-Type"] == "application/pdf"


def test_it_shows_each_visitor_their_own_header_on_a_cached_page(client, published):
    url = reverse("portal:report", args=["lc-swj", 2021])
    first = client.get(url)  # cached now
    assert "工作人员登录" in first.text and first["Cache-Control"] == "public, max-age=300"
    world = build_world()
    staff = world.client("office_reviewer")
    page = staff.get(url)
    assert "老城区商务和工业信息化局" in page.text
    assert "工作人员登录" not in page.text and "office_reviewer" in page.text
    assert page["Cache-Control"] == "private, no-store"


def test_it_titles_an_untitled_report_as_its_pdf_does_never_with_a_draft_title(
    client, django_capture_on_commit_callbacks
):
    doc = balanced_document("2021", year=2021)
    doc["title"] = None
    report = import_document(doc, status=Report.Status.PUBLISHED).report
    publish_imported(report)
    Report.objects.filter(pk=report.pk).update(title="更正中的草稿标题", status="draft")
    expected = "测试局2021年政府信息公开工作年度报告"
    page = client.get(reverse("portal:report", args=["test-org", 2021]))
    assert f"<title>{expected}</title>" in page.text
    listing = client.get(reverse("portal:list")).text
    assert expected in listing and "更正中的草稿标题" not in listing
