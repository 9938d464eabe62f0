"""A clerk uploads a published report in the browser: the upload is answered
with 正在读取…, and the page opens the preview by itself once the read job is
done (static/js/jobs.js); a refused file shows why."""

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure.models import Job, Membership, Organization, PendingImport

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "upload-pass-2026"


@pytest.fixture
def clerk(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    office = Organization.objects.create(name="测试局", code="test-org", kind="department")
    user = get_user_model().objects.create_user("clerk", password=PASSWORD, first_name="clerk")
    Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    return user


@pytest.fixture
def held(monkeypatch):
    """Jobs wait for the test to play the worker."""
    jobs = []
    monkeypatch.setattr("disclosure.jobs.core.send", jobs.append)
    return jobs


def upload(page, base_url: str, path) -> None:
    page.goto(base_url + "/workspace/")
    page.get_by_text("从已发布的报告文件导入").click()
    page.locator('input[type="file"][name="file"]').set_input_files(str(path))
    page.locator('input[name="year"]').fill("2021")
    page.get_by_role("button", name="读取并预览").click()


def test_it_opens_the_preview_when_the_read_job_is_done(sign_in, live_server, clerk, held, shots, tmp_path):
    from disclosure.jobs import tasks
    from disclosure.office import export_report_docx

    path = tmp_path / "2021年报.docx"
    path.write_bytes(export_report_docx(balanced_document("2021", year=2021)))
    page = sign_in("clerk", PASSWORD)
    upload(page, live_server.url, path)
    expect(page.locator("#job")).to_contain_text("正在读取…")
    shots(page, "reading")
    [job] = held
    tasks.read_upload.apply(args=[str(job.pk)])
    pending = PendingImport.objects.get()
    expect(page).to_have_url(f"{live_server.url}/workspace/test-org/import/{pending.pk}/", timeout=15000)
    expect(page.locator("h1.h4")).to_have_text("导入预览：2021年报.docx")
    shots(page, "preview")


def test_it_says_why_a_file_was_refused(sign_in, live_server, clerk, held, shots, tmp_path):
    from disclosure.jobs import tasks

    path = tmp_path / "坏文件.docx"
    path.write_bytes(b"PK\x03\x04 not really a docx")
    page = sign_in("clerk", PASSWORD)
    upload(page, live_server.url, path)
    expect(page.locator("#job")).to_be_visible()
    [job] = held
    tasks.read_upload.apply(args=[str(job.pk)])
    expect(page.locator("#job-error")).to_contain_text("无法读取“坏文件.docx”", timeout=15000)
    expect(page.locator("#job")).to_be_hidden()
    shots(page, "refused")
    assert Job.objects.get().status == "failed" and not PendingImport.objects.exists()
