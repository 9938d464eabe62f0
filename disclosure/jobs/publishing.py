"""Publishing a report: the official PDF rendered by a worker, outside any lock.

The reviewer's click (``workflow.transition(PUBLISH)``) only records a publish
job on the approved report. This job renders the PDF and the JSON, stores
them and checks what it stored, then commits the publication in one short
transaction that re-checks the report is still approved at the version the
reviewer saw. Until that commit the public sees the previous revision; a job
that fails leaves the report approved, with its files removed.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Max

from ..interchange import dumps
from ..models import Job, Publication, Report, Revision
from ..selectors import export_report
from ..services import record_event
from . import core
from .core import JobFailed, TransientError

logger = logging.getLogger(__name__)

S = Report.Status
STALE_MESSAGE = "报告在生成正式文本期间已被退回或修改，本次未发布；请重新审核后再发布。"


def _next_number(report: Report) -> int:
    return (report.publications.aggregate(n=Max("number"))["n"] or 0) + 1


def _store(name: str, content: bytes) -> str:
    """Store a file and read it back: the hash recorded is the hash of what is stored."""
    stored = default_storage.save(name, ContentFile(content))
    with default_storage.open(stored, "rb") as f:
        if hashlib.sha256(f.read()).digest() != hashlib.sha256(content).digest():
            default_storage.delete(stored)
            raise TransientError(f"stored file {stored} differs from what was written")
    return stored


def publish(job: Job) -> dict[str, Any]:
    from .. import workflow
    from ..pdf import render_pdf
    from ..portal import published as portal

    report = Report.objects.select_related("organization").get(pk=job.report_id)
    version = job.params["version"]
    if report.status != S.APPROVED or report.version != version:
        raise JobFailed(STALE_MESSAGE, code="stale", params={"version": version, "found": report.version})

    # The slow part, with no lock held and no transaction open.
    document = export_report(report)
    pdf = render_pdf(document)
    data = dumps(document).encode("utf-8")
    number = _next_number(report)
    base = f"published/{report.organization.code}/{report.year}/r{number}"
    stored: list[str] = []
    try:
        stored.append(_store(f"{base}.pdf", pdf))
        stored.append(_store(f"{base}.json", data))
        with transaction.atomic():
            locked = Report.objects.select_for_update(of=("self",)).select_related("organization").get(pk=report.pk)
            if locked.status != S.APPROVED or locked.version != version:
                raise JobFailed(STALE_MESSAGE, code="stale", params={"version": version, "found": locked.version})
            if _next_number(locked) != number:
                raise TransientError("a publication number was taken meanwhile")
            revision = workflow.freeze(locked, Revision.Event.PUBLICATION, job.actor, document=document)
            publication = Publication(
                report=locked,
                number=number,
                revision=revision,
                pdf=stored[0],
                data=stored[1],
                pdf_sha256=hashlib.sha256(pdf).hexdigest(),
                data_sha256=hashlib.sha256(data).hexdigest(),
                published_by=job.actor,
            )
            publication.save()
            locked.status = S.PUBLISHED
            locked.version += 1
            locked.save()
            record_event(
                "report.publish",
                actor=job.actor,
                report=locked,
                version=locked.version,
                changes={"status": [S.APPROVED, S.PUBLISHED]},
                revision=revision.number,
                publication=number,
                pdf_sha256=publication.pdf_sha256,
                job=str(job.pk),
            )
            result = {"publication": number, "revision": revision.number, "pdf_sha256": publication.pdf_sha256}
            # Done together with the publication: a retry or a second delivery finds it done.
            core.succeed(job, result)
            code, year = locked.organization.code, locked.year
            transaction.on_commit(lambda: portal.forget(code, year), robust=True)
            workflow.notify(locked, workflow.Action.PUBLISH, job.actor)
    except BaseException:
        for name in stored:
            try:
                default_storage.delete(name)
            except OSError:
                logger.warning("Could not remove %s of a publication that did not commit", name)
        raise
    return result
