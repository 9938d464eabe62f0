"""Starting a report from a published file: read by a job, reviewed by the clerk, then imported.

``queue_upload`` (the request) validates the name and size and records a
read job with the file's bytes; ``read_upload`` (the worker) reads the file
in the sandbox (``parsing.sandbox.parse_untrusted``) and stages the result
as a ``PendingImport`` for the clerk's preview.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db import transaction

from ..interchange import (
    InvalidDocument,
    validate_document,
)
from ..models import (
    Job,
    Organization,
    PendingImport,
    Report,
)
from .core import EDITABLE_STATUSES, User, import_document, record_event

# -- starting a report from a published file -----------------------------------------------

PENDING_IMPORT_DAYS = 7
MAX_FILENAME_CHARS = 255
# Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E/F) make "报告.exe.docx" read
# as something else; C0 controls have no place in a name either.
_HIDDEN = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\x00-\x1f\x7f]")
READING_MESSAGE = "正在读取…"
FILENAME_TOO_LONG = f"文件名超过{MAX_FILENAME_CHARS}个字符，请改短后重新上传。"


def display_filename(name: str) -> str:
    """An uploaded file's name as pages and the audit trail show it (no lone surrogates either:
    PostgreSQL stores none)."""
    name = name.encode("utf-8", "ignore").decode("utf-8")
    return _HIDDEN.sub("", name).strip() or "未命名文件"


def check_filename(name: str) -> None:
    if len(name) > MAX_FILENAME_CHARS:
        raise InvalidDocument(
            FILENAME_TOO_LONG,
            code="filename_too_long",
            params={"length": len(name), "limit": MAX_FILENAME_CHARS},
        )


@transaction.atomic
def queue_upload(
    organization: Organization, *, actor: User, filename: str, data: bytes, year: int | None = None
) -> Job:
    """Record a job that reads the uploaded file; the request answers at once."""
    from .. import jobs

    check_filename(filename)
    name = display_filename(filename)
    job = jobs.submit(
        Job.Kind.READ_UPLOAD,
        actor=actor,
        organization=organization,
        params={"filename": name, "year": year, "size": len(data)},
        input_data=data,
    )
    record_event("import.uploaded", actor=actor, organization=organization, filename=name, job=str(job.pk))
    return job


def read_upload(job: Job) -> dict[str, Any]:
    """The job: read the file in the sandbox and stage it; a refused file stages nothing."""
    from ..jobs import JobFailed

    organization, name = job.organization, job.params["filename"]
    with job.input_file.open("rb") as f:
        data = f.read()
    try:
        pending = stage_upload(
            organization, actor=job.actor, filename=name, data=data, year=job.params.get("year"), job=job
        )
    except InvalidDocument as exc:
        raise JobFailed(
            "；".join(f"无法读取“{name}”：{m}" for m in exc.messages), code=exc.code, params=exc.params
        ) from exc
    return {"pending": str(pending.pk)}


def stage_upload(
    organization: Organization,
    *,
    actor: User,
    filename: str,
    data: bytes,
    year: int | None = None,
    job: Job | None = None,
) -> PendingImport:
    """Parse an uploaded report (in the sandbox) for the clerk to review; nothing is imported yet.

    With ``job``, the job is marked done in the transaction that stages the
    result, so a retried job never stages a file twice.
    """
    from django.utils import timezone

    from ..parsing.sandbox import parse_untrusted

    check_filename(filename)
    filename = display_filename(filename)
    # Parsing takes a while: do it before touching the database.
    # The name as the file prints it (ADR 0002); the office's own only if it prints none,
    # decided in the same child process.
    result = parse_untrusted(
        data, filename=filename, year=year, org_code=organization.code, fallback_org_name=organization.name
    )
    doc = result.document
    # The file is this office's report, whatever name it prints.
    doc["organization"] = {
        "name": doc["organization"]["name"] or organization.name,
        "code": organization.code,
        "kind": organization.kind,
    }
    validate_document(doc)
    with transaction.atomic():
        if job is not None and Job.objects.select_for_update().get(pk=job.pk).status == Job.Status.SUCCEEDED:
            # The same job delivered twice (a worker lost after commit): staged already.
            return PendingImport.objects.get(pk=Job.objects.get(pk=job.pk).result["pending"])
        PendingImport.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=PENDING_IMPORT_DAYS)).delete()
        pending = PendingImport.objects.create(
            organization=organization,
            user=actor,
            filename=filename[:255],
            kind=result.kind,
            document=doc,
            problems=[p.as_dict() for p in result.problems],
        )
        record_event(
            "import.staged",
            actor=actor,
            organization=organization,
            filename=filename,
            year=doc["year"],
            problems=len(result.problems),
            **({"job": str(job.pk)} if job is not None else {}),
        )
        if job is not None:
            from ..jobs.core import succeed

            succeed(job, {"pending": str(pending.pk)})
    return pending


@transaction.atomic
def confirm_import(pending: PendingImport, *, actor: User, current_year: int, replace: bool = False) -> Report:
    """Store a reviewed upload as a draft report. Publishing it goes through
    review like any other report: a clerk never publishes alone."""
    doc = pending.document
    year = doc["year"]
    if year > current_year:
        raise InvalidDocument(f"不能导入{year}年度的报告：当前填报年度为{current_year}年。", code="future_year")
    existing = Report.objects.filter(organization=pending.organization, year=year).first()
    status = existing.status if existing is not None and existing.status in EDITABLE_STATUSES else Report.Status.DRAFT
    result = import_document(doc, actor=actor, replace=replace, status=status, only_editable=True)
    record_event("import.confirmed", actor=actor, report=result.report, filename=pending.filename)
    pending.delete()
    return result.report


@transaction.atomic
def discard_import(pending: PendingImport, *, actor: User) -> None:
    record_event("import.discarded", actor=actor, organization=pending.organization, filename=pending.filename)
    pending.delete()
