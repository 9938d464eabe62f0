"""Sending e-mail from a job: no request ever waits on a mail server.

The messages are worked out on the first attempt and kept on the job; each
recipient is recorded once their message is accepted, so a retry (a mail
server that timed out half-way) sends only what is still owed.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage, get_connection

from .. import notifications
from ..models import Job, Report
from ..services import record_event
from . import core


def _send(job: Job, messages: list[list]) -> int:
    sent = set(job.result.get("sent", []))
    owed = [m for i, m in enumerate(messages) if i not in sent]
    if owed:
        # One connection for the batch; EMAIL_TIMEOUT bounds every wait on it.
        with get_connection(fail_silently=False, timeout=settings.EMAIL_TIMEOUT) as connection:
            for index, (subject, body, sender, recipients) in enumerate(messages):
                if index in sent:
                    continue
                EmailMessage(subject, body, sender, recipients, connection=connection).send()
                sent.add(index)
                core.save_progress(job, sent=sorted(sent))
    return len(sent)


def queue_mail(
    messages: list[notifications.Message],
    *,
    actor=None,
    organization=None,
    forget_after_sending: bool = False,
) -> Job:
    """Send these messages from a job (after the current transaction commits).

    ``forget_after_sending``: the messages hold a secret (a password reset
    link); the job keeps only who was written to once they are sent.
    """
    return core.submit(
        Job.Kind.MAIL,
        actor=actor,
        organization=organization,
        params={"forget": forget_after_sending},
        result={"messages": [list(m) for m in messages], "sent": []},
    )


def send_notification(job: Job) -> dict[str, Any]:
    """The e-mail after a workflow transition (``workflow.notify``), or given messages (``queue_mail``)."""
    if "messages" not in job.result:
        report = Report.objects.select_related("organization").get(pk=job.report_id)
        messages = notifications.after_transition(
            report, job.params["action"], job.actor, job.params.get("comment", "")
        )
        core.save_progress(job, messages=[list(m) for m in messages], sent=[])
    delivered = _send(job, job.result["messages"])
    if job.params.get("forget"):
        job.result = core.without_secrets(job)
        job.save(update_fields=["result", "updated_at"])
    return {"delivered": delivered}


def send_reminders(job: Job) -> dict[str, Any]:
    """The deadline reminders of one day (celery beat, ``remind_deadline``)."""
    import datetime as dt

    if "messages" not in job.result:
        reminders = notifications.deadline_reminders(
            days=job.params["days"], year=job.params.get("year"), today=dt.date.fromisoformat(job.params["today"])
        )
        core.save_progress(job, messages=[list(m) for m in reminders.messages], offices=reminders.offices, sent=[])
    delivered = _send(job, job.result["messages"])
    record_event(
        "deadline.reminded",
        year=job.params.get("year"),
        days=job.params["days"],
        sent=delivered,
        offices=len(job.result["offices"]),
        job=str(job.pk),
    )
    return {"delivered": delivered}
