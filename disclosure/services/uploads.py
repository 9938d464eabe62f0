"""Starting a report from a published file: staged, reviewed by the clerk, then imported."""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from ..interchange import (
    InvalidDocument,
    validate_document,
)
from ..models import (
    Organization,
    PendingImport,
    Report,
)
from .core import EDITABLE_STATUSES, User, import_document, record_event

# -- starting a report from a published file -----------------------------------------------

PENDING_IMPORT_DAYS = 7


def stage_upload(
    organization: Organization, *, actor: User, filename: str, data: bytes, year: int | None = None
) -> PendingImport:
    """Parse an uploaded report for the clerk to review; nothing is imported yet."""
    from django.utils import timezone

    from ..parsing import parse_report

    # Parsing takes a while: do it before touching the database.
    try:
        # The name as the file prints it (ADR 0002); the office's own only if it prints none.
        result = parse_report(data, filename=filename, year=year, org_code=organization.code)
    except InvalidDocument as exc:
        if exc.code != "no_organization":
            raise
        result = parse_report(
            data, filename=filename, year=year, org_name=organization.name, org_code=organization.code
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
        )
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
