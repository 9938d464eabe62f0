"""A clerk starts a report from a published file: upload, review, confirm."""

import datetime as dt
from pathlib import Path

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from disclosure.models import Job, PendingImport, Publication, Report
from disclosure.selectors import export_report

from .factories import seed
from .test_workspace import make_clerk

pytestmark = pytest.mark.django_db
# Byte-for-byte copies of ../shared/seeds, so the suite runs from a bare clone.
SEEDS = Path(__file__).resolve().parent / "parse_fixtures"


@pytest.fixture(autouse=True)
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("disclosure.workspace.imports.timezone.localdate", lambda: dt.date(2026, 11, 23))


@pytest.fixture
def office():
    from disclosure.models import Organization

    return Organization.objects.create(name="兴庆区商务和经济技术合作局", code="xq-swj", kind="department")


@pytest.fixture
def clerk(office):
    return make_clerk("clerk", office)


def seed_text(prefix: str) -> bytes:
    return next(SEEDS.glob(f"seed_{prefix}_*.txt")).read_bytes()


def upload(client, content: bytes, name: str, **extra):
    """Upload, and run the read job as the commit of a real request would (eager in tests)."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("workspace:upload", args=["xq-swj"]), {"file": SimpleUploadedFile(name, content), **extra}
        )


def test_it_previews_an_uploaded_report_with_what_it_could_not_place(clerk):
    response = upload(clerk, seed_text("000"), "2020年报.txt")
    pending, job = PendingImport.objects.get(), Job.objects.get()
    preview = reverse("workspace:pending", args=["xq-swj", pending.pk])
    # The upload answers at once with the job; the job page and its status lead to the preview.
    assert response["Location"] == reverse("workspace:import_job", args=["xq-swj", job.pk])
    status = clerk.get(reverse("workspace:import_job_status", args=["xq-swj", job.pk])).json()
    assert (status["status"], status["done"], status["url"]) == ("succeeded", True, preview)
    assert clerk.get(response["Location"])["Location"] == preview
    assert not job.input_file and not any(default_storage.listdir("jobs/input")[1])  # the bytes are gone
    page = clerk.get(preview)
    assert page.status_code == 200
    assert "识别为 2020 年度报告" in page.text
    assert page.context["pending"].problems  # seed 000 lacks the first rows of table 三
    assert any("applications.new_received.natural_person" in p["cells"] for p in pending.problems)
    assert "三、收到和处理政府信息公开申请情况" in page.text
    assert not Report.objects.exists()  # nothing saved before confirmation


def test_it_never_publishes_an_upload_without_review(clerk):
    upload(clerk, seed_text("000"), "2020年报.txt")
    pending = PendingImport.objects.get()
    # Even asked to, a clerk's import is a draft: publishing goes through review.
    response = clerk.post(reverse("workspace:confirm_import", args=["xq-swj", pending.pk]), {"historical": "1"})
    report = Report.objects.get(organization__code="xq-swj", year=2020)
    assert response.status_code == 302
    assert report.status == Report.Status.DRAFT
    assert not Publication.objects.exists()
    assert export_report(report)["applications"] == seed("000")["applications"]
    assert not PendingImport.objects.exists()


def test_it_starts_a_draft_and_refuses_to_overwrite_a_published_report(clerk):
    upload(clerk, seed_text("000"), "a.txt")
    clerk.post(reverse("workspace:confirm_import", args=["xq-swj", PendingImport.objects.get().pk]))
    assert Report.objects.get().status == Report.Status.DRAFT
    upload(clerk, seed_text("000"), "b.txt")
    second = PendingImport.objects.get()
    page = clerk.get(reverse("workspace:pending", args=["xq-swj", second.pk]))
    assert "覆盖现有的2020年度草稿" in page.text
    Report.objects.update(status=Report.Status.SUBMITTED)
    response = clerk.post(
        reverse("workspace:confirm_import", args=["xq-swj", second.pk]), {"replace": "1"}, follow=True
    )
    assert "不能用导入覆盖" in response.text
    assert Report.objects.get().status == Report.Status.SUBMITTED


def test_it_says_why_a_file_cannot_be_read_and_stages_nothing(clerk, settings):
    response = upload(clerk, b"PK\x03\x04 not really a docx", "report.docx")
    assert response.status_code == 302
    follow = clerk.get(response["Location"])
    assert "无法读取“report.docx”" in follow.text
    settings.REPORT_UPLOAD_MAX_BYTES = 100
    follow = clerk.get(upload(clerk, seed_text("000"), "big.txt")["Location"])
    assert "文件过大" in follow.text
    assert not PendingImport.objects.exists()


def test_it_keeps_an_upload_private_to_its_office(clerk):
    from disclosure.models import Organization

    upload(clerk, seed_text("000"), "a.txt")
    pending = PendingImport.objects.get()
    other = make_clerk("other", Organization.objects.create(name="别的局", code="other-org", kind="department"))
    for url in [
        reverse("workspace:pending", args=["xq-swj", pending.pk]),
        reverse("workspace:pending", args=["other-org", pending.pk]),
    ]:
        assert other.get(url).status_code == 404
    assert other.post(reverse("workspace:confirm_import", args=["other-org", pending.pk])).status_code == 404
    assert other.post(reverse("workspace:upload", args=["xq-swj"])).status_code == 404
