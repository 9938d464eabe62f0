"""A supervisor imports an archive of past reports from the review room (issue 14): the
same work as ``manage.py import_archive``, as a job for a zip upload; only the
jurisdiction's supervisors may; a second upload of the same zip changes nothing."""

from __future__ import annotations

import io
import random
import re
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from disclosure.models import AuditEvent, Job, Report
from disclosure.selectors import export_report

from .factories import balanced_document
from .test_parse import render_text
from .test_parse_real import _one_line, page_of

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _doc(name: str, year: int, seed: int) -> dict:
    doc = balanced_document("2021", year=year, rng=random.Random(seed))
    doc["organization"]["name"] = name
    doc["title"] = f"{name}{year}年政府信息公开工作年度报告"
    return doc


def _text(doc: dict, seed: int) -> str:
    return render_text(doc, random.Random(seed)).replace("\n测试局\n", "\n" + doc["organization"]["name"] + "\n")


def _zip(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)
    return buffer.getvalue()


@pytest.fixture
def archive() -> bytes:
    # 2022's 规章 row runs together (1035: 1|0|35 or 10|3|5); the 2021 report in the same zip
    # (sorted after it) has 现行有效件数 34, which leaves 1|0|35 only.
    last = _doc("测试局", 2021, 1)
    last["active_disclosure"]["art20_1"]["regulations"].update(issued=2, repealed=1, in_force=34)
    this = _doc("测试局", 2022, 2)
    this["active_disclosure"]["art20_1"]["regulations"].update(issued=1, repealed=0, in_force=35)
    flat = _one_line(_text(this, 7))
    assert flat.count(" 1 0 35 ") == 1
    flat = flat.replace(" 1 0 35 ", " 1035 ")
    ambiguous = _doc("邻局", 2022, 3)
    ambiguous["applications"]["granted"].update(
        zip(ambiguous["applications"]["granted"], [1, 0, 3, 0, 12, 12, 28], strict=True)
    )
    total = " ".join(str(v) for v in ambiguous["applications"]["outcome_total"].values())
    run = _one_line(_text(ambiguous, 3)).replace(" 1 0 3 0 12 12 28 ", "1030121228")
    run = run.replace(f" {total} ", " / / / / / / / ")
    assert "1030121228" in run
    return _zip(
        {
            "a/测试局2022.txt": flat.encode("utf-8"),
            "b/测试局2021.htm": page_of(_text(last, 1)).encode("gb18030"),
            "b/邻局2021.txt": _text(_doc("邻局", 2021, 4), 4).encode("utf-8"),
            "c/邻局2022.txt": run.encode("utf-8"),
            "c/扫描件.pdf": b"%PDF-1.4\n garbage",
            "c/乙区某局.txt": _text(_doc("乙区某局", 2021, 5), 5).encode("utf-8"),
            "说明.doc.bak": b"not a report",
        }
    )


def upload(client, data: bytes, name: str = "历年报告.zip", org: str = "district-a", **extra):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("review:archive_upload", args=[org]), {"file": SimpleUploadedFile(name, data), **extra}
        )


def test_a_supervisor_imports_an_archive_as_a_job_twice_with_the_same_result(world, archive):
    client = world.client("parent_supervisor")
    page = client.get(reverse("review:archive", args=["district-a"]))
    assert page.status_code == 200 and "上传并导入" in page.text
    response = upload(client, archive)
    job = Job.objects.get(kind=Job.Kind.ARCHIVE)
    assert response["Location"] == reverse("review:archive_job", args=["district-a", job.pk])
    assert job.status == Job.Status.SUCCEEDED and not job.input_file
    outcomes = {r["name"]: (r["outcome"], r["organization"], r["year"], r["action"]) for r in job.result["rows"]}
    assert outcomes == {
        "a/测试局2022.txt": ("complete", "test-org", 2022, "已导入"),
        "b/测试局2021.htm": ("complete", "test-org", 2021, "已导入"),
        "b/邻局2021.txt": ("complete", "sibling", 2021, "已导入"),
        "c/邻局2022.txt": ("ambiguous", "sibling", 2022, "已导入"),
        "c/扫描件.pdf": ("unreadable", "", None, ""),
        "c/乙区某局.txt": ("unmatched", "", 2021, ""),
    }
    assert job.result["counts"] == {"complete": 3, "gaps": 0, "ambiguous": 1, "unreadable": 1, "unmatched": 1}
    # Last year's report, imported first, settled the split of this year's 规章 row.
    doc = export_report(Report.objects.get(organization__code="test-org", year=2022))
    assert doc["active_disclosure"]["art20_1"]["regulations"] == {"issued": 1, "repealed": 0, "in_force": 35}
    published = {(r.organization.code, r.year): r.status for r in Report.objects.all()}
    assert set(published.values()) == {Report.Status.PUBLISHED}
    shown = client.get(response["Location"])
    assert "共 6 个文件：完整 3，有缺项 0，有待确认的数字 1，无法识别 1，未匹配机关 1。" in shown.text
    assert "辖区内没有名为“乙区某局”的机关" in shown.text
    versions = {(r.organization.code, r.year): r.version for r in Report.objects.all()}

    upload(client, archive)
    again = Job.objects.filter(kind=Job.Kind.ARCHIVE).order_by("-created_at").first()
    assert again.pk != job.pk
    first = [{k: v for k, v in r.items() if k != "action"} for r in job.result["rows"]]
    assert [{k: v for k, v in r.items() if k != "action"} for r in again.result["rows"]] == first
    assert {r["action"] for r in again.result["rows"] if r["outcome"] in ("complete", "ambiguous")} == {
        "已存在，未改变"
    }
    assert {(r.organization.code, r.year): r.version for r in Report.objects.all()} == versions
    assert AuditEvent.objects.filter(action="archive.imported").count() == 2


def test_it_imports_as_drafts_when_asked_and_uses_the_mapping(world):
    data = _zip({"jyj.txt": _text(_doc("区测试局", 2021, 5), 5).encode("utf-8")})
    client = world.client("parent_supervisor")
    upload(client, data, drafts="1", mapping="jyj.txt\ttest-org\n")
    report = Report.objects.get()
    assert (report.organization.code, report.status) == ("test-org", Report.Status.DRAFT)


@pytest.mark.parametrize("persona", ["owner_clerk", "office_reviewer", "sibling_clerk", "other_supervisor"])
def test_only_the_jurisdictions_supervisors_may(world, archive, persona):
    client = world.client(persona)
    assert client.get(reverse("review:archive", args=["district-a"])).status_code == 404
    assert upload(client, archive).status_code == 404
    assert not Job.objects.exists()


def test_another_supervisor_cannot_follow_the_job(world, archive):
    upload(world.client("parent_supervisor"), archive)
    job = Job.objects.get()
    other = world.client("other_supervisor")
    assert other.get(reverse("review:archive_job", args=["district-a", job.pk])).status_code == 404
    assert other.get(reverse("review:archive_job", args=["district-b", job.pk])).status_code == 404
    status = world.client("parent_supervisor").get(reverse("review:archive_job_status", args=["district-a", job.pk]))
    assert status.json()["status"] == "succeeded" and status.json()["done"]


def test_it_refuses_a_bomb_an_oversized_zip_and_a_zip_without_reports(world, settings):
    client = world.client("parent_supervisor")
    bomb = _zip({"r.txt": b"0" * (30 * 1024 * 1024)})
    response = upload(client, bomb)
    assert response["Location"] == reverse("review:archive", args=["district-a"])
    assert "压缩炸弹" in client.get(response["Location"]).text
    assert "没有可识别的报告文件" in client.get(upload(client, _zip({"a.bin": b"x"}))["Location"]).text
    settings.REPORT_ARCHIVE_MAX_BYTES = 100
    assert "压缩包过大" in client.get(upload(client, _zip({"r.txt": b"x" * 1000}))["Location"]).text
    assert not Job.objects.exists()


def test_the_job_page_follows_a_running_job(world, archive, monkeypatch):
    held = []
    monkeypatch.setattr("disclosure.jobs.core.send", held.append)
    client = world.client("parent_supervisor")
    upload(client, archive)
    [job] = held
    page = client.get(reverse("review:archive_job", args=["district-a", job.pk]))
    assert 'data-job-status="' in page.text and "js/jobs.js" in page.text and "共 7 个文件" not in page.text
    assert re.search(r"共 6 个文件，逐个识别后导入", page.text)
    from disclosure.jobs import core

    core.save_progress(job, progress={"phase": "read", "done": 3, "total": 6, "file": "b/邻局2021.txt"})
    status = client.get(reverse("review:archive_job_status", args=["district-a", job.pk])).json()
    assert status["progress"] == "读取 3/6：b/邻局2021.txt" and not status["done"]
