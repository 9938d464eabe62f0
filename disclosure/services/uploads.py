"""Starting a report from a published file: read by a job, reviewed by the clerk, then imported.

``queue_upload`` (the request) validates the name and size and records a
read job with the file's bytes; ``read_upload`` (the worker) reads the file
in the sandbox (``parsing.sandbox.parse_untrusted``) and stages the result
as a ``PendingImport`` for the clerk's preview.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction

from ..interchange import (
    InvalidDocument,
    canonicalize,
    validate_document,
)
from ..models import (
    Job,
    Organization,
    PendingImport,
    Report,
)
from ..parsing.choices import ambiguities, apply_candidate, apply_zero_groups, settle_with_previous
from ..parsing.labels import key
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
    # The clerk's year only where the file states none: a file that says 2020 is never
    # stored as another year (a differing year is a mismatch the clerk decides).
    result = parse_untrusted(
        data, filename=filename, default_year=year, org_code=organization.code, fallback_org_name=organization.name
    )
    doc = result.document
    printed = doc["organization"]["name"] or organization.name
    # Stored under this office's code; the printed name stays until the clerk decides a mismatch.
    doc["organization"] = {"name": printed, "code": organization.code, "kind": organization.kind}
    validate_document(doc)
    problems = [p.as_dict() for p in result.problems]
    info = result.info()
    info["requested_year"] = year
    mismatch = mismatches(organization, printed, result.sources.get("organization", ""), year, result.file_year)
    if mismatch:
        info["mismatch"] = mismatch
    if "organization" not in mismatch:
        # Another office's report is not continued by this office's last year.
        problems = settle_with_previous(doc, problems, _previous_document(organization, doc["year"]))
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
            problems=problems,
            info=info,
        )
        record_event(
            "import.staged",
            actor=actor,
            organization=organization,
            filename=filename,
            year=doc["year"],
            problems=len(problems),
            **({"mismatch": sorted(mismatch)} if mismatch else {}),
            **({"job": str(job.pk)} if job is not None else {}),
        )
        if job is not None:
            from ..jobs.core import succeed

            succeed(job, {"pending": str(pending.pk)})
    return pending


def same_office(printed: str, office: str) -> bool:
    """Whether a printed name is the office's: equal match keys, or one is the other with
    the higher levels' names before it (淄博市文昌湖区招商局 / 文昌湖区招商局)."""
    a, b = key(printed), key(office)
    if not a or not b:
        return True  # nothing printed: nothing contradicts
    return a == b or a.endswith(b) or b.endswith(a)


def mismatches(
    organization: Organization, printed: str, source: str, requested_year: int | None, file_year: int | None
) -> dict[str, dict[str, Any]]:
    """What the file says that contradicts where it lands: another office's name, another year."""
    out: dict[str, dict[str, Any]] = {}
    if source not in ("office", "given") and not same_office(printed, organization.name):
        out["organization"] = {"printed": printed, "office": organization.name}
    if requested_year and file_year and requested_year != file_year:
        out["year"] = {"requested": requested_year, "file": file_year}
    return out


def _previous_document(organization: Organization, year: int) -> dict | None:
    from types import SimpleNamespace

    from ..selectors import previous_document

    return previous_document(SimpleNamespace(organization=organization, year=year))


def with_office_name(doc: dict, organization: Organization) -> dict:
    """The document under the office's own name: the organization, and the title where it
    prints the other name (or no name at all)."""
    printed = doc["organization"]["name"]
    title = doc.get("title") or ""
    if printed and printed in title:
        title = title.replace(printed, organization.name, 1)
    elif printed and key(title).startswith(key(printed)):
        title = organization.name + title[len(printed) :]
    elif not title or re.match(r"^\s*(?:19|20)\d{2}", title):
        title = organization.name + title
    return {
        **doc,
        "title": title,
        "organization": {"name": organization.name, "code": organization.code, "kind": organization.kind},
    }


@dataclass(frozen=True)
class ImportChoices:
    """What the clerk decided in the preview; each is checked again when confirming."""

    organization: str = ""  # "office": use this office's name (needed when the file names another)
    year: str = ""  # "file": store under the year the file states (needed when the clerk asked another)
    candidates: dict[int, int] = field(default_factory=dict)  # problem index → candidate index
    zeros: tuple[str, ...] = ()  # zero group ids to fill with 0


MISMATCH_REFUSED = {
    "organization": "文件中的机关名称与本机关不一致：请选择“使用本机关名称”或放弃导入。",
    "year": "文件中的年度与所选年度不一致：请确认按文件中的年度导入，或放弃导入。",
}


def decided_document(pending: PendingImport, choices: ImportChoices) -> dict:
    """The staged document with the clerk's decisions applied and re-checked."""
    organization = pending.organization
    doc = copy.deepcopy(pending.document)
    mismatch = (pending.info or {}).get("mismatch") or {}
    if "organization" in mismatch:
        if choices.organization != "office":
            raise InvalidDocument(MISMATCH_REFUSED["organization"], code="organization_mismatch", params=mismatch)
        doc = with_office_name(doc, organization)
    if "year" in mismatch and choices.year != "file":
        raise InvalidDocument(MISMATCH_REFUSED["year"], code="year_mismatch", params=mismatch)
    if doc["organization"]["code"] != organization.code:
        raise InvalidDocument("导入的文件不属于本机关。", code="organization_mismatch", params={})
    offered = dict(ambiguities(pending.problems))
    chosen: set[str] = set()
    for index, candidate in sorted(choices.candidates.items()):
        if index not in offered:
            raise InvalidDocument("所选的拆分方式不在候选之列。", code="candidate_invalid", params={"index": index})
        apply_candidate(doc, offered[index], candidate)
    for problem in offered.values():
        chosen |= set(problem.get("cells") or ())  # rows under the split decision: never zero-filled
    apply_zero_groups(doc, list(choices.zeros), exclude=chosen)
    return canonicalize(doc)


@transaction.atomic
def confirm_import(
    pending: PendingImport,
    *,
    actor: User,
    current_year: int,
    replace: bool = False,
    choices: ImportChoices | None = None,
) -> Report:
    """Store a reviewed upload as a draft report. Publishing it goes through
    review like any other report: a clerk never publishes alone."""
    choices = choices or ImportChoices()
    doc = decided_document(pending, choices)
    year = doc["year"]
    if year > current_year:
        raise InvalidDocument(f"不能导入{year}年度的报告：当前填报年度为{current_year}年。", code="future_year")
    existing = Report.objects.filter(organization=pending.organization, year=year).first()
    status = existing.status if existing is not None and existing.status in EDITABLE_STATUSES else Report.Status.DRAFT
    result = import_document(doc, actor=actor, replace=replace, status=status, only_editable=True)
    decided = {}
    if choices.organization == "office" and "organization" in (pending.info or {}).get("mismatch", {}):
        decided["organization_choice"] = "office"
    if choices.year == "file" and "year" in (pending.info or {}).get("mismatch", {}):
        decided["year_choice"] = "file"
    if choices.candidates:
        decided["candidates"] = {str(k): v for k, v in sorted(choices.candidates.items())}
    if choices.zeros:
        decided["zeros"] = list(choices.zeros)
    record_event("import.confirmed", actor=actor, report=result.report, filename=pending.filename, **decided)
    pending.delete()
    return result.report


@transaction.atomic
def discard_import(pending: PendingImport, *, actor: User) -> None:
    record_event("import.discarded", actor=actor, organization=pending.organization, filename=pending.filename)
    pending.delete()
