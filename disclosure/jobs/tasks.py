"""The Celery tasks: one per kind of job, each with its own limits and retries.

A task is only the entry point; ``core.run`` keeps the Job row's state and
the body does the work. Task results are not kept: the Job row is the result.
"""

from __future__ import annotations

import smtplib
from datetime import timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone
from django.utils.module_loading import import_string

from ..models import Job
from . import core
from .core import Policy, TransientError

Kind = Job.Kind

POLICIES: dict[str, Policy] = {
    # The sandbox has its own limits (45 s wall clock); these catch everything around it.
    Kind.READ_UPLOAD: Policy(
        soft_time_limit=90,
        time_limit=120,
        max_retries=2,
        backoff=5,
        message="读取文件时出错，请稍后重新上传。",
        timeout_message="读取文件超时，文件过于复杂，请另存为较简单的格式后重新上传。",
    ),
    # A report with many long narrative parts renders for minutes; nobody waits for it.
    Kind.PUBLISH: Policy(
        soft_time_limit=600,
        time_limit=660,
        max_retries=3,
        backoff=30,
        message="生成正式文本时出错，报告未发布。",
        timeout_message="生成正式文本超时，报告未发布。",
        retry_on=(OSError, TransientError, DatabaseError),
    ),
    # EMAIL_TIMEOUT bounds each attempt; a mail server that never answers only delays the mail.
    Kind.MAIL: Policy(
        soft_time_limit=300,
        time_limit=330,
        max_retries=5,
        backoff=60,
        message="通知邮件未能发出（邮件服务器无响应或拒收）。",
        timeout_message="发送通知邮件超时。",
        retry_on=(OSError, smtplib.SMTPException, TransientError),
    ),
    Kind.EXPORT: Policy(
        soft_time_limit=600,
        time_limit=660,
        max_retries=2,
        backoff=30,
        message="生成汇总表时出错，请稍后重试。",
        timeout_message="生成汇总表超时，请缩小范围后重试。",
    ),
    Kind.YEAR_ZIP: Policy(
        soft_time_limit=600,
        time_limit=660,
        max_retries=2,
        backoff=30,
        message="生成年度数据包时出错，请稍后再试。",
        timeout_message="生成年度数据包超时。",
    ),
    Kind.REMIND: Policy(
        soft_time_limit=600,
        time_limit=660,
        max_retries=5,
        backoff=60,
        message="截止提醒邮件未能全部发出。",
        timeout_message="发送截止提醒超时。",
        retry_on=(OSError, smtplib.SMTPException, TransientError),
    ),
    # An archive is read file by file in the sandbox (45 s each at most); a retry skips what
    # is already imported, so a long archive cut by the limit goes on where it stopped.
    Kind.ARCHIVE: Policy(
        soft_time_limit=3600,
        time_limit=3660,
        max_retries=1,
        backoff=30,
        message="导入历史报告包时出错，已导入的报告保留，请稍后重新上传。",
        timeout_message="导入历史报告包超时；已导入的报告保留，请重新上传，已有的报告不会重复导入。",
    ),
}


def _options(kind: str) -> dict:
    policy = POLICIES[kind]
    return {
        "bind": True,
        "name": f"disclosure.jobs.{kind}",
        "soft_time_limit": policy.soft_time_limit,
        "time_limit": policy.time_limit,
        "max_retries": policy.max_retries,
        "ignore_result": True,
        "acks_late": True,
    }


# Each kind's work: a function of the Job, imported when a worker runs it.
BODIES: dict[str, str] = {
    Kind.READ_UPLOAD: "disclosure.services.uploads.read_upload",
    Kind.PUBLISH: "disclosure.jobs.publishing.publish",
    Kind.MAIL: "disclosure.jobs.mail.send_notification",
    Kind.EXPORT: "disclosure.jobs.exports.jurisdiction_workbook",
    Kind.YEAR_ZIP: "disclosure.jobs.exports.year_zip",
    Kind.REMIND: "disclosure.jobs.mail.send_reminders",
    Kind.ARCHIVE: "disclosure.jobs.archive.run_job",
}


def _task(kind: str):
    @shared_task(**_options(kind))
    def task(self, job_id: str) -> str:
        return core.run(self, job_id, import_string(BODIES[kind]), POLICIES[kind])

    return task


TASKS = {kind: _task(kind) for kind in BODIES}
read_upload, publish, mail, export, year_zip, remind, archive = (
    TASKS[kind]
    for kind in (Kind.READ_UPLOAD, Kind.PUBLISH, Kind.MAIL, Kind.EXPORT, Kind.YEAR_ZIP, Kind.REMIND, Kind.ARCHIVE)
)


@shared_task(name="disclosure.jobs.remind_deadline", ignore_result=True)
def remind_deadline(days: int = 14) -> str:
    """Started by celery beat (reportsite/celery.py): one reminder job per day and
    distance, however often beat fires it (a restarted beat catches up)."""
    from django.db import IntegrityError, transaction

    today = timezone.localdate()
    key = f"remind:{today.isoformat()}:{days}"
    try:
        with transaction.atomic():
            job = core.submit(Kind.REMIND, params={"days": days, "today": today.isoformat()}, key=key)
    except IntegrityError:
        return "already"
    return str(job.pk)


STALE_QUEUED = timedelta(minutes=30)
RESULTS_KEPT = timedelta(days=7)


@shared_task(name="disclosure.jobs.sweep", ignore_result=True)
def sweep() -> dict[str, int]:
    """Started by celery beat: jobs whose message was lost are sent again; a job
    whose worker died (past its hard time limit, nobody runs it any more) is
    run once more, and fails visibly the second time; old results go."""
    now = timezone.now()
    requeued = failed = purged = 0
    for job in Job.objects.filter(status=Job.Status.QUEUED, updated_at__lt=now - STALE_QUEUED):
        Job.objects.filter(pk=job.pk).update(updated_at=now)
        core.send(job)
        requeued += 1
    for job in Job.objects.filter(status=Job.Status.RUNNING).select_related("report__organization"):
        policy = POLICIES[job.kind]
        if job.started_at and job.started_at < now - timedelta(seconds=policy.time_limit + 60):
            if job.attempts < 2:
                running = Job.objects.filter(pk=job.pk, status=Job.Status.RUNNING)
                running.update(status=Job.Status.QUEUED, updated_at=now)
                core.send(job)
                requeued += 1
            else:
                core.fail(job, policy.timeout_message, code="timeout", params={"seconds": policy.time_limit})
                failed += 1
    for job in Job.objects.filter(finished_at__lt=now - RESULTS_KEPT).exclude(result_file=""):
        job.result_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(result_file="")
        purged += 1
    return {"requeued": requeued, "failed": failed, "purged": purged}
