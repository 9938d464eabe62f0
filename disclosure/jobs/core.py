"""The job runner: one place for states, retries, time limits and final failure."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from ..errors import CodedError
from ..models import Job, Organization, Report
from ..services import User, record_event

logger = logging.getLogger(__name__)

Kind = Job.Kind
Status = Job.Status


class JobFailed(CodedError):
    """A failure no retry can mend (a refused file, a report changed meanwhile):
    the job fails at once with this Chinese message. Carries ``code`` and ``params``."""

    default_code = "failed"


class TransientError(Exception):
    """Worth another try after a pause (a race lost, a file not yet readable)."""


@dataclass(frozen=True)
class Policy:
    """How long a kind of job may run and how often it is tried again."""

    soft_time_limit: int
    time_limit: int
    max_retries: int
    backoff: int  # seconds before the first retry; doubled for each further one
    message: str  # shown when the job finally fails for a reason it cannot name
    timeout_message: str
    retry_on: tuple[type[BaseException], ...] = field(default=(OSError, TransientError))

    def countdown(self, retries: int) -> int:
        return self.backoff * 2**retries


def submit(
    kind: str,
    *,
    actor: User | None = None,
    organization: Organization | None = None,
    report: Report | None = None,
    params: dict[str, Any] | None = None,
    input_data: bytes | None = None,
    key: str | None = None,
    result: dict[str, Any] | None = None,
) -> Job:
    """Record a job and queue it when the current transaction commits.

    Queued on commit, so a worker never looks for a row (or a report state)
    that is not there yet, and a rolled-back request queues nothing.
    """
    if organization is None and report is not None:
        organization = report.organization
    job = Job.objects.create(
        kind=kind,
        actor=actor if actor is not None and actor.is_authenticated else None,
        organization=organization,
        report=report,
        params=params or {},
        result=result or {},
        key=key,
    )
    if input_data is not None:
        # Named by the job, never by the uploader: the stored name carries nothing of theirs.
        job.input_file.save(f"{job.pk}", ContentFile(input_data), save=True)
    # A broker that is down must not turn the committed request into an error:
    # the job stays queued, and ``requeue_stale`` sends it again.
    transaction.on_commit(lambda: send(job), robust=True)
    return job


def send(job: Job) -> None:
    from .tasks import TASKS

    TASKS[job.kind].apply_async(args=[str(job.pk)])


def latest_job(kind: str, **filters: Any) -> Job | None:
    return Job.objects.filter(kind=kind, **filters).order_by("-created_at").first()


def payload(job: Job, *, url: str = "") -> dict[str, Any]:
    """The job's state as the status endpoints answer it (polled by static/js/jobs.js)."""
    return {
        "id": str(job.pk),
        "kind": job.kind,
        "status": job.status,
        "label": job.get_status_display(),
        "done": not job.active,
        "error": job.error,
        "url": url if job.status == Status.SUCCEEDED else "",
    }


def succeed(job: Job, result: dict[str, Any] | None = None) -> None:
    """Mark the job done; inside the job's own transaction when its effect must
    commit together with it (a retry then sees the job done, never half of it)."""
    job.status = Status.SUCCEEDED
    job.result = {**job.result, **(result or {})}
    job.error = ""
    job.finished_at = timezone.now()
    job.save(update_fields=["status", "result", "error", "finished_at", "updated_at"])


def save_progress(job: Job, **result: Any) -> None:
    """Remember what a job has done so far (mails sent), so a retry does not do it again."""
    job.result = {**job.result, **result}
    job.save(update_fields=["result", "updated_at"])


def without_secrets(job: Job) -> dict[str, Any]:
    """A mail job's result once its messages must be forgotten (they hold a password reset link):
    who was written to, and what was sent."""
    messages = job.result.get("messages", [])
    return {
        **{k: v for k, v in job.result.items() if k != "messages"},
        "recipients": [to for m in messages for to in m[3]] or job.result.get("recipients", []),
    }


def fail(job: Job, message: str, *, code: str, params: dict | None = None) -> None:
    with transaction.atomic():
        if Job.objects.select_for_update().get(pk=job.pk).status == Status.SUCCEEDED:
            return  # done after all (a late report of an earlier attempt)
        job.status = Status.FAILED
        job.error = message
        job.finished_at = timezone.now()
        result = without_secrets(job) if job.params.get("forget") else job.result
        job.result = {**result, "code": code, **({"params": params} if params else {})}
        job.save(update_fields=["status", "error", "finished_at", "result", "updated_at"])
        record_event(
            "job.failed",
            actor=job.actor,
            report=job.report,
            organization=job.organization,
            job=str(job.pk),
            kind=job.kind,
            code=code,
            error=message,
            attempts=job.attempts,
        )


def _discard_input(job: Job) -> None:
    if job.input_file:
        job.input_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(input_file="")


def run(task, job_id: str, work: Callable[[Job], dict[str, Any] | None], policy: Policy) -> str:
    """Run one attempt of a job; retry it later, or leave it succeeded or failed.

    Idempotent: a message of a job that is finished, or that another worker
    runs now, does nothing. Each job body is itself safe to run again (an
    attempt cut short by a lost worker is repeated).
    """
    job = Job.objects.select_related("report__organization", "organization", "actor").filter(pk=job_id).first()
    if job is None:
        return "missing"  # its report or office was deleted meanwhile
    # Claimed atomically: of two deliveries of one job (a resent message), one runs it.
    # A job left running by a worker that died is taken up again by ``tasks.sweep``.
    now = timezone.now()
    claimed = Job.objects.filter(pk=job.pk, status=Status.QUEUED).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now, updated_at=now
    )
    if not claimed:
        return Job.objects.get(pk=job.pk).status
    job.refresh_from_db(fields=["status", "attempts", "started_at", "result"])
    try:
        result = work(job)
    except JobFailed as exc:
        fail(job, exc.message, code=exc.code, params=exc.params)
    except SoftTimeLimitExceeded:
        # The same input would take as long again: no retry.
        fail(job, policy.timeout_message, code="timeout", params={"seconds": policy.soft_time_limit})
    except policy.retry_on as exc:
        retries = task.request.retries or 0
        if retries >= policy.max_retries:
            logger.warning("Job %s (%s) failed after %d attempts: %r", job.pk, job.kind, job.attempts, exc)
            fail(job, policy.message, code="gave_up", params={"attempts": job.attempts})
        else:
            logger.info("Job %s (%s) will be retried: %r", job.pk, job.kind, exc)
            Job.objects.filter(pk=job.pk).update(status=Status.QUEUED, updated_at=timezone.now())
            if task.request.is_eager:
                # No worker to hand the retry to (CELERY_TASK_ALWAYS_EAGER): try again here, at once.
                return task.apply(args=[job_id], retries=retries + 1).get()
            raise task.retry(exc=exc, countdown=policy.countdown(retries)) from exc
    except Exception:
        logger.exception("Job %s (%s) failed", job.pk, job.kind)
        fail(job, policy.message, code="error")
    else:
        job.refresh_from_db(fields=["status", "result"])
        if job.status != Status.SUCCEEDED:
            succeed(job, result)
    if job.kind == Kind.READ_UPLOAD:
        _discard_input(job)  # read or refused: the uploaded bytes are kept no longer
    return job.status
