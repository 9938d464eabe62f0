"""Jobs (ADR 0009): states, retries, final failure, publishing through a job,
reading uploads through a job, e-mail that never holds a request.

Jobs run eagerly here, when the test's transaction "commits"
(``django_capture_on_commit_callbacks(execute=True)``); tests/test_jobs_worker.py
runs them in a real worker.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import smtplib
import socket
import threading
import time

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.urls import reverse

from disclosure.jobs import tasks
from disclosure.models import AuditEvent, Job, PendingImport, Publication, Report, Revision
from disclosure.services.uploads import display_filename, queue_upload
from disclosure.workflow import Action, transition
from reportsite.celery import app as celery_app

from .factories import balanced_document
from .test_workspace import make_clerk

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def approved(world, report):
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    transition(report, Action.APPROVE, actor=world.users["office_reviewer"])
    report.refresh_from_db()
    assert report.status == Report.Status.APPROVED
    return report


def stored_files(under: str) -> list[str]:
    found = []

    def walk(path: str) -> None:
        if not default_storage.exists(path):
            return
        dirs, files = default_storage.listdir(path)
        found.extend(f"{path}/{f}" for f in files)
        for d in dirs:
            walk(f"{path}/{d}")

    walk(under)
    return found


def fewer_retries(monkeypatch, kind: str, **changes) -> None:
    """The kind's policy with shorter waits, so that a test does not sit through back-offs."""
    monkeypatch.setitem(tasks.POLICIES, kind, dataclasses.replace(tasks.POLICIES[kind], **changes))


# -- states and retries ------------------------------------------------------------------


class FlakyMail(LocmemBackend):
    """Accepts the first message, then refuses once (a mail server that drops the connection)."""

    calls = 0

    def send_messages(self, messages):
        FlakyMail.calls += 1
        if FlakyMail.calls == 2:
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


def test_it_retries_a_transient_failure_and_sends_each_mail_once(
    world, report, settings, django_capture_on_commit_callbacks
):
    from disclosure.models import Membership

    settings.EMAIL_BACKEND = "tests.test_jobs.FlakyMail"
    FlakyMail.calls = 0
    # Two recipients: the first mail goes out, the second fails once and goes out on the retry.
    Membership.objects.create(user=world.users["parent_supervisor"], organization=world.office, role="reviewer")
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    job = Job.objects.get(kind=Job.Kind.MAIL)
    assert (job.status, job.attempts, job.error) == ("succeeded", 2, "")
    assert sorted(m.to[0] for m in mail.outbox) == ["office_reviewer@example.org", "parent_supervisor@example.org"]
    assert not AuditEvent.objects.filter(action="job.failed").exists()


def test_it_sends_given_messages_and_forgets_a_secret_once_sent(django_capture_on_commit_callbacks):
    from disclosure.jobs.mail import queue_mail

    link = "https://reports.example.gov.cn/accounts/reset/MQ/secret-token/"
    with django_capture_on_commit_callbacks(execute=True):
        message = ("重设密码", f"请打开：{link}", "site@example.org", ["a@example.org"])
        job = queue_mail([message], forget_after_sending=True)
    assert [m.to for m in mail.outbox] == [["a@example.org"]] and link in mail.outbox[0].body
    job.refresh_from_db()
    assert job.status == "succeeded" and link not in str(job.result) and job.result["recipients"] == ["a@example.org"]


class DeadMail(LocmemBackend):
    """A mail server that always drops the connection."""

    def send_messages(self, messages):
        raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")


def test_it_forgets_a_secret_when_its_mail_finally_fails(monkeypatch, settings, django_capture_on_commit_callbacks):
    """A reset link left in a failed job stayed readable (and valid for days) in the database and admin."""
    from disclosure.jobs.mail import queue_mail

    settings.EMAIL_BACKEND = "tests.test_jobs.DeadMail"
    fewer_retries(monkeypatch, Job.Kind.MAIL, max_retries=1, backoff=0)
    link = "https://reports.example.gov.cn/accounts/reset/MQ/secret-token/"
    with django_capture_on_commit_callbacks(execute=True):
        job = queue_mail(
            [("重设密码", f"请打开：{link}", "site@example.org", ["a@example.org"])], forget_after_sending=True
        )
    job.refresh_from_db()
    assert job.status == "failed" and mail.outbox == []
    assert link not in str(job.result) and job.result["recipients"] == ["a@example.org"]


def test_it_leaves_a_failed_job_audited_and_never_a_half_publication(
    world, approved, monkeypatch, django_capture_on_commit_callbacks
):
    from disclosure.jobs import publishing

    fewer_retries(monkeypatch, Job.Kind.PUBLISH, max_retries=2)
    real_store, calls = publishing._store, []

    def store_the_pdf_then_fail(name, content):
        calls.append(name)
        if name.endswith(".json"):
            raise OSError("No space left on device")
        return real_store(name, content)

    monkeypatch.setattr(publishing, "_store", store_the_pdf_then_fail)
    reviewer = world.client("office_reviewer")
    url = reverse("review:action", args=["test-org", 2021, "publish"])
    with django_capture_on_commit_callbacks(execute=True):
        answer = reviewer.post(url, follow=True)
    assert "正在生成正式文本" in answer.text

    job = Job.objects.get(kind=Job.Kind.PUBLISH)
    assert (job.status, job.attempts) == ("failed", 3) and len(calls) == 6
    assert job.error == "生成正式文本时出错，报告未发布。"
    failed = AuditEvent.objects.get(action="job.failed")
    assert (failed.report_id, failed.data["kind"], failed.data["code"]) == (approved.pk, "publish", "gave_up")
    # Nothing of the publication exists: no row, no revision, no file, the report still approved.
    assert Report.objects.get(pk=approved.pk).status == Report.Status.APPROVED
    assert not Publication.objects.exists()
    assert not Revision.objects.filter(event="publication").exists()
    assert stored_files("published") == []
    assert not AuditEvent.objects.filter(action="report.publish").exists()

    # The review page says so, with 重试 for whoever may publish.
    page = reviewer.get(reverse("review:report", args=["test-org", 2021]))
    assert "发布未成功：生成正式文本时出错，报告未发布。" in page.text and 'data-action="retry-publish"' in page.text
    assert "重试" not in world.client("owner_clerk").get(reverse("review:report", args=["test-org", 2021])).text
    monkeypatch.setattr(publishing, "_store", real_store)
    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(url)
    assert Report.objects.get(pk=approved.pk).status == Report.Status.PUBLISHED
    assert Publication.objects.get().number == 1
    assert "发布未成功" not in reviewer.get(reverse("review:report", args=["test-org", 2021])).text


# -- publishing ----------------------------------------------------------------------------


def test_it_answers_the_publish_click_at_once_and_shows_the_report_as_publishing(world, approved):
    reviewer = world.client("office_reviewer")
    answer = reviewer.post(reverse("review:action", args=["test-org", 2021, "publish"]), follow=True)
    assert "正在生成正式文本…" in answer.text
    # The job is queued (its transaction has not "committed" in this test): nothing is published yet.
    job = Job.objects.get(kind=Job.Kind.PUBLISH)
    assert (job.status, job.params["version"]) == ("queued", approved.version)
    assert Report.objects.get(pk=approved.pk).status == Report.Status.APPROVED
    page = reviewer.get(reverse("review:report", args=["test-org", 2021]))
    assert page.context["status_label"] == "发布中"
    assert "publish" not in {a for a, _ in page.context["actions"]}
    rows = world.client("parent_supervisor").get(reverse("review:dashboard"), {"year": 2021}).context["rows"]
    assert next(r for r in rows if r["org"].code == "test-org")["status_label"] == "发布中"
    status_url = reverse("review:job_status", args=["test-org", 2021, job.pk])
    assert f'data-job-status="{status_url}"' in page.text and "js/jobs.js" in page.text
    status = reviewer.get(status_url).json()
    assert (status["status"], status["done"], status["url"]) == ("queued", False, "")
    assert world.client("sibling_clerk").get(status_url).status_code == 404
    # The public sees nothing until the job has stored and hashed the files.
    assert world.client("anonymous").get(reverse("portal:download", args=["test-org", 2021, "pdf"])).status_code == 404


def test_it_publishes_once_under_a_double_click_and_a_redelivered_job(
    world, approved, django_capture_on_commit_callbacks
):
    reviewer, supervisor = world.client("office_reviewer"), world.client("parent_supervisor")
    url = reverse("review:action", args=["test-org", 2021, "publish"])
    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(url)
        reviewer.post(url)  # the second click, before the job has run
        supervisor.post(url)  # and someone else at the same moment
    job = Job.objects.get(kind=Job.Kind.PUBLISH)
    assert job.status == "succeeded"
    with django_capture_on_commit_callbacks(execute=True):
        reviewer.post(url)  # a click on a stale page after publication
    tasks.publish.apply(args=[str(job.pk)])  # the same message delivered again (a worker lost after commit)
    assert Job.objects.filter(kind=Job.Kind.PUBLISH).count() == 1
    assert AuditEvent.objects.filter(action="report.publish_requested").count() == 1
    assert AuditEvent.objects.filter(action="report.publish").count() == 1
    publication = Publication.objects.get()
    assert publication.revision.event == "publication" and Revision.objects.filter(event="publication").count() == 1
    assert hashlib.sha256(publication.pdf.read()).hexdigest() == publication.pdf_sha256 == job.result["pdf_sha256"]
    assert sorted(stored_files("published")) == ["published/test-org/2021/r1.json", "published/test-org/2021/r1.pdf"]
    assert Report.objects.get(pk=approved.pk).status == Report.Status.PUBLISHED
    public = world.client("anonymous").get(reverse("portal:download", args=["test-org", 2021, "pdf"]))
    assert hashlib.sha256(b"".join(public.streaming_content)).hexdigest() == publication.pdf_sha256


def test_it_does_not_publish_a_report_returned_while_its_pdf_was_rendering(
    world, approved, django_capture_on_commit_callbacks
):
    reviewer = world.users["office_reviewer"]
    with django_capture_on_commit_callbacks(execute=False) as queued:
        transition(approved, Action.PUBLISH, actor=reviewer)
    # Returned before the worker took the job up.
    transition(approved, Action.RETURN, actor=world.users["parent_supervisor"], comment="第二部分请补充。")
    for callback in queued:
        callback()
    job = Job.objects.get(kind=Job.Kind.PUBLISH)
    assert (job.status, job.attempts, job.result["code"]) == ("failed", 1, "stale")
    assert "未发布" in job.error
    assert Report.objects.get(pk=approved.pk).status == Report.Status.RETURNED
    assert not Publication.objects.exists() and stored_files("published") == []
    assert AuditEvent.objects.filter(action="job.failed", report=approved).exists()


# -- uploads -------------------------------------------------------------------------------


@pytest.fixture
def office_clerk(world):
    return make_clerk("uploader", world.office)


def upload(client, content: bytes, name: str):
    return client.post(
        reverse("workspace:upload", args=["test-org"]), {"file": SimpleUploadedFile(name, content), "year": 2021}
    )


def test_it_reads_an_upload_in_a_job_and_opens_the_preview_when_done(office_clerk, django_capture_on_commit_callbacks):
    from disclosure.office import export_report_xlsx

    data = export_report_xlsx(balanced_document("2021", year=2021))
    answer = upload(office_clerk, data, "2021年报.xlsx")
    job = Job.objects.get(kind=Job.Kind.READ_UPLOAD)
    job_url = reverse("workspace:import_job", args=["test-org", job.pk])
    status_url = reverse("workspace:import_job_status", args=["test-org", job.pk])
    assert answer["Location"] == job_url
    waiting = office_clerk.get(job_url)
    assert "正在读取…" in waiting.text and f'data-job-status="{status_url}"' in waiting.text
    assert 'data-job-done="navigate"' in waiting.text and "js/jobs.js" in waiting.text
    assert office_clerk.get(status_url).json()["done"] is False
    assert not PendingImport.objects.exists()

    tasks.read_upload.apply(args=[str(job.pk)])  # the worker
    pending = PendingImport.objects.get()
    preview = reverse("workspace:pending", args=["test-org", pending.pk])
    status = office_clerk.get(status_url).json()
    assert (status["status"], status["url"]) == ("succeeded", preview)
    assert office_clerk.get(job_url)["Location"] == preview
    assert "识别为 2021 年度报告" in office_clerk.get(preview).text
    assert stored_files("jobs/input") == []
    # Only the uploader follows the job.
    other = make_clerk("colleague", pending.organization)
    assert other.get(status_url).status_code == 404
    # Once the import is discarded, the job's page says so instead of waiting for ever.
    office_clerk.post(reverse("workspace:discard_import", args=["test-org", pending.pk]))
    gone = office_clerk.get(job_url, follow=True)
    assert gone.redirect_chain[-1][0] == reverse("workspace:dashboard") and "这次导入已经确认或放弃。" in gone.text


def test_it_refuses_a_file_too_complex_to_read_and_stores_nothing(
    office_clerk, settings, django_capture_on_commit_callbacks
):
    settings.REPORT_PARSE_TIMEOUT_SECONDS = 0.05
    with django_capture_on_commit_callbacks(execute=True):
        answer = upload(office_clerk, ("第一部分 总体情况\n" * 20000).encode(), "大文件.txt")
    job = Job.objects.get(kind=Job.Kind.READ_UPLOAD)
    assert (job.status, job.result["code"]) == ("failed", "too_complex")
    page = office_clerk.get(answer["Location"])
    assert "无法读取“大文件.txt”：文件过于复杂或已损坏，无法读取" in page.text
    status = office_clerk.get(reverse("workspace:import_job_status", args=["test-org", job.pk])).json()
    assert status["done"] and status["status"] == "failed" and "文件过于复杂" in status["error"]
    assert not PendingImport.objects.exists() and stored_files("jobs") == []
    assert AuditEvent.objects.filter(action="job.failed", data__code="too_complex").exists()


def test_it_refuses_overlong_names_and_strips_bidi_controls(world, office_clerk, django_capture_on_commit_callbacks):
    from disclosure.interchange import InvalidDocument
    from disclosure.office import export_report_xlsx

    with pytest.raises(InvalidDocument) as info:
        queue_upload(world.office, actor=world.users["owner_clerk"], filename="报" * 256 + ".txt", data=b"x")
    assert (info.value.code, info.value.params) == ("filename_too_long", {"length": 260, "limit": 255})
    # Through the web: Django cuts a longer name to 255 characters, which is refused too.
    answer = upload(office_clerk, b"x", "报" * 300 + ".txt")
    assert "文件名超过255个字符" in office_clerk.get(answer["Location"]).text
    assert not Job.objects.exists()

    assert display_filename("报告\u202etxt.exe\u202c\u2066\u200f.xlsx") == "报告txt.exe.xlsx"
    data = export_report_xlsx(balanced_document("2021", year=2021))
    with django_capture_on_commit_callbacks(execute=True):
        upload(office_clerk, data, "年报\u202excod.xlsx")
    assert Job.objects.get().params["filename"] == PendingImport.objects.get().filename == "年报xcod.xlsx"


# -- e-mail --------------------------------------------------------------------------------


@pytest.fixture
def silent_smtp():
    """A mail server that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held, stop = [], threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.fixture
def real_queue(monkeypatch):
    """Jobs go to this run's queue on Redis instead of running in the request (as in production)."""
    monkeypatch.setitem(celery_app.conf, "task_always_eager", False)
    yield
    with celery_app.connection_for_write() as connection:
        connection.default_channel.queue_purge(celery_app.conf.task_default_queue)


def test_it_approves_at_once_when_the_mail_server_never_greets(
    world, report, settings, silent_smtp, real_queue, monkeypatch, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    # Long enough that an approval waiting on the server could not pass for a slow machine.
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", silent_smtp, 10
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        answer = world.client("office_reviewer").post(reverse("review:action", args=["test-org", 2021, "approve"]))
    assert time.monotonic() - started < settings.EMAIL_TIMEOUT  # nobody waited on the mail server
    assert answer.status_code == 302 and Report.objects.get(pk=report.pk).status == Report.Status.APPROVED
    job = Job.objects.get(kind=Job.Kind.MAIL, params__action="approve")
    assert job.status == "queued"

    # The worker meets the silent server: each attempt ends at EMAIL_TIMEOUT, then the job fails visibly.
    settings.EMAIL_TIMEOUT = 1
    fewer_retries(monkeypatch, Job.Kind.MAIL, max_retries=1)
    started = time.monotonic()
    tasks.mail.apply(args=[str(job.pk)])
    assert 2 <= time.monotonic() - started < 10
    job.refresh_from_db()
    assert (job.status, job.attempts, job.error) == ("failed", 2, "通知邮件未能发出（邮件服务器无响应或拒收）。")
    assert AuditEvent.objects.filter(action="job.failed", data__kind="mail", report=report).exists()
    assert Report.objects.get(pk=report.pk).status == Report.Status.APPROVED


def test_it_reminds_once_a_day_however_often_beat_fires(world, report, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setattr("disclosure.jobs.tasks.timezone.localdate", lambda: dt.date(2022, 1, 25))
    with django_capture_on_commit_callbacks(execute=True):
        tasks.remind_deadline.apply(kwargs={"days": 10})
        tasks.remind_deadline.apply(kwargs={"days": 10})  # beat restarted, or the same tick delivered twice
    assert sorted(m.to[0] for m in mail.outbox) == ["owner_clerk@example.org", "sibling_clerk@example.org"]
    job = Job.objects.get(kind=Job.Kind.REMIND)
    assert (job.status, job.key, job.result["delivered"]) == ("succeeded", "remind:2022-01-25:10", 2)
    assert AuditEvent.objects.get(action="deadline.reminded").data["sent"] == 2


def test_it_sweeps_lost_and_killed_jobs(world, report, monkeypatch):
    from django.utils import timezone

    sent = []
    monkeypatch.setattr("disclosure.jobs.core.send", sent.append)
    long_ago = timezone.now() - dt.timedelta(hours=2)
    lost = Job.objects.create(kind=Job.Kind.MAIL, report=report, params={"action": "submit"})
    died = Job.objects.create(kind=Job.Kind.EXPORT, status="running", started_at=long_ago, attempts=1)
    killed = Job.objects.create(kind=Job.Kind.PUBLISH, report=report, status="running", started_at=long_ago, attempts=2)
    fresh = Job.objects.create(kind=Job.Kind.EXPORT, status="running", started_at=timezone.now(), attempts=1)
    Job.objects.filter(pk=lost.pk).update(updated_at=long_ago)
    assert tasks.sweep.apply().get() == {"requeued": 2, "failed": 1, "purged": 0}
    assert sorted(str(j.pk) for j in sent) == sorted([str(lost.pk), str(died.pk)])
    assert Job.objects.get(pk=died.pk).status == "queued"  # its worker died: run once more
    killed.refresh_from_db()
    assert (killed.status, killed.error) == ("failed", "生成正式文本超时，报告未发布。")
    assert Job.objects.get(pk=fresh.pk).status == "running"
    # A message of a job that another worker runs now does nothing.
    assert tasks.export.apply(args=[str(fresh.pk)]).get() == "running"
    assert Job.objects.get(pk=fresh.pk).attempts == 1
