"""End to end with a real Celery worker process and Redis (not eager): upload →
preview → confirm → submit → approve → publish → the public PDF.

The worker is ``celery -A reportsite worker`` started here with the test
settings, told the test database's name and the test's MEDIA_ROOT through the
environment; the test commits for real (``transaction=True``) so that the
worker sees its rows. Jobs go to this run's own queue on Redis database 15
(reportsite/settings_test.py), which is emptied before and after.
"""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from disclosure.models import Job, PendingImport, Publication, Report
from reportsite.celery import app as celery_app

from .factories import balanced_document

pytestmark = pytest.mark.django_db(transaction=True)
CELERY = Path(sys.executable).with_name("celery")


def redis_listens(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname, parsed.port or 6379), timeout=1).close()
    except OSError:
        return False
    return True


def purge_queue() -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(celery_app.conf.task_default_queue)


@pytest.fixture
def worker(settings, tmp_path, monkeypatch):
    from reportsite import settings_test

    broker = celery_app.conf.broker_url
    if not redis_listens(broker):
        pytest.fail(f"Redis does not answer at {broker}: `make test` starts it (redis-server --daemonize yes).")
    settings.MEDIA_ROOT = tmp_path / "media"
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    purge_queue()
    log = (tmp_path / "worker.log").open("wb")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reportsite.settings_test",
        "TEST_RUN_ID": settings_test._RUN,
        "REPORTSITE_TEST_WORKER": "1",
        "REPORTSITE_TEST_WORKER_DB": str(connection.settings_dict["NAME"]),
        "REPORTSITE_TEST_WORKER_MEDIA": str(settings.MEDIA_ROOT),
    }
    process = subprocess.Popen(
        [str(CELERY), "-A", "reportsite", "worker", "--concurrency=1", "--loglevel=INFO"]
        + ["--without-gossip", "--without-mingle", "--without-heartbeat", "-n", f"test-{settings_test._RUN}@%h"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    yield process
    process.terminate()  # a warm shutdown: the job in hand finishes first
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
    log.close()
    purge_queue()


def wait_for(client, status_url: str, worker, tmp_path, seconds: float = 120) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if status["done"]:
            return status
        assert worker.poll() is None, (tmp_path / "worker.log").read_text(errors="replace")
        time.sleep(0.3)
    pytest.fail("job not done in time:\n" + (tmp_path / "worker.log").read_text(errors="replace")[-4000:])


def test_it_reads_reviews_and_publishes_through_a_real_worker(world, worker, tmp_path):
    from disclosure.office import export_report_docx

    clerk, reviewer, public = world.client("owner_clerk"), world.client("office_reviewer"), world.client("anonymous")
    args = ["test-org", 2021]

    # Upload: answered at once; the worker reads the file and the status leads to the preview.
    # The Word file in the official layout: every table and narrative part, so it can be submitted as read.
    data = export_report_docx(balanced_document("2021", year=2021))
    upload = {"file": SimpleUploadedFile("2021年报.docx", data), "year": 2021}
    answer = clerk.post(reverse("workspace:upload", args=["test-org"]), upload)
    job = Job.objects.get(kind=Job.Kind.READ_UPLOAD)
    assert answer["Location"] == reverse("workspace:import_job", args=["test-org", job.pk])
    status = wait_for(clerk, reverse("workspace:import_job_status", args=["test-org", job.pk]), worker, tmp_path)
    assert status["status"] == "succeeded", status
    preview = clerk.get(status["url"])
    assert preview.status_code == 200 and "识别为 2021 年度报告" in preview.text

    # Confirm, submit, approve: ordinary requests.
    pending = PendingImport.objects.get()
    clerk.post(reverse("workspace:confirm_import", args=["test-org", pending.pk]))
    report = Report.objects.get(organization__code="test-org", year=2021)
    clerk.post(reverse("workspace:submit", args=args))
    reviewer.post(reverse("review:action", args=[*args, "approve"]))
    assert Report.objects.get(pk=report.pk).status == Report.Status.APPROVED

    # Publish: answered at once; the worker renders and publishes.
    started = time.monotonic()
    answer = reviewer.post(reverse("review:action", args=[*args, "publish"]), follow=True)
    assert "正在生成正式文本…" in answer.text and time.monotonic() - started < 5
    publish = Job.objects.get(kind=Job.Kind.PUBLISH)
    status = wait_for(reviewer, reverse("review:job_status", args=[*args, publish.pk]), worker, tmp_path)
    assert status["status"] == "succeeded", status
    publication = Publication.objects.get(report=report)
    assert Report.objects.get(pk=report.pk).status == Report.Status.PUBLISHED

    pdf = public.get(reverse("portal:download", args=[*args, "pdf"]))
    assert pdf.status_code == 200
    body = b"".join(pdf.streaming_content)
    assert body.startswith(b"%PDF") and hashlib.sha256(body).hexdigest() == publication.pdf_sha256
    publish.refresh_from_db()
    assert (publish.attempts, publish.result["pdf_sha256"]) == (1, publication.pdf_sha256)
    # The e-mails of the transitions went through the worker as well.
    wait_deadline = time.monotonic() + 60
    while Job.objects.filter(kind=Job.Kind.MAIL).exclude(status="succeeded").exists():
        assert time.monotonic() < wait_deadline, list(Job.objects.values_list("kind", "status", "error"))
        time.sleep(0.3)
    assert set(Job.objects.filter(kind=Job.Kind.MAIL).values_list("params__action", flat=True)) == {
        "submit",
        "approve",
        "publish",
    }


def test_it_refuses_the_three_attack_files_in_the_worker_while_the_portal_answers(world, worker, tmp_path):
    """Issue 11's files: a 2.4 KB PDF of forms nested ten deep, a 408 KB PDF hiding a 400 MB
    form, an 8 MB workbook of 84 MB sheet XML. Each upload is answered at once, the worker
    refuses each in Chinese and stores nothing, the portal answers meanwhile, and the worker
    reads a good file afterwards."""
    from .test_sandbox import bloated_xlsx, hidden_stream_pdf, nested_forms_pdf

    clerk, public = world.client("owner_clerk"), world.client("anonymous")
    attacks = {"nested.pdf": nested_forms_pdf(), "hidden.pdf": hidden_stream_pdf(), "bloated.xlsx": bloated_xlsx()}
    for name, data in attacks.items():
        answer = clerk.post(reverse("workspace:upload", args=["test-org"]), {"file": SimpleUploadedFile(name, data)})
        assert answer.status_code == 302
    # The portal is answered while the worker has the files in hand.
    for url in (reverse("portal:list"), reverse("portal:stats"), reverse("portal:data")):
        assert public.get(url).status_code == 200, url
    for job in Job.objects.filter(kind=Job.Kind.READ_UPLOAD).order_by("created_at"):
        status = wait_for(clerk, reverse("workspace:import_job_status", args=["test-org", job.pk]), worker, tmp_path)
        assert status["status"] == "failed" and "文件过于复杂或已损坏，无法读取" in status["error"], status
        job.refresh_from_db()
        assert job.result["code"] == "too_complex"
    assert not PendingImport.objects.exists()
    assert worker.poll() is None  # the worker survived every file

    from disclosure.office import export_report_docx

    good = SimpleUploadedFile("2021年报.docx", export_report_docx(balanced_document("2021", year=2021)))
    clerk.post(reverse("workspace:upload", args=["test-org"]), {"file": good, "year": 2021})
    job = Job.objects.filter(kind=Job.Kind.READ_UPLOAD).order_by("-created_at").first()
    status = wait_for(clerk, reverse("workspace:import_job_status", args=["test-org", job.pk]), worker, tmp_path)
    assert status["status"] == "succeeded", status
