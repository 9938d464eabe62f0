"""Large exports built by a worker and kept in default storage: the jurisdiction
workbook (/review/export.xlsx) for the reviewer who asked for it, and a
province's year data package (/data/<year>.zip) for everyone."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone

from .. import formats as reg
from ..formats import REPORT_NAME
from ..interchange import format_amount
from ..models import ActiveDisclosureRow, ApplicationRow, Job, Organization, Report, ReviewRow
from . import core
from .core import JobFailed

if TYPE_CHECKING:
    from ..office import JurisdictionRow  # imported when a workbook is built: openpyxl and lxml are heavy

NO_SCOPE_MESSAGE = "没有需要您审核或督办的机关。"


def export_filename(year: int) -> str:
    return f"{year}年度报告数据汇总.xlsx"


def status_labels() -> dict[str, str]:
    """The dashboard's words for a report's status, keyed by Report.Status and
    ``missing`` (no report created): the workbook says what the dashboard says."""
    from ..review.views import ROLLUP_COLUMNS, STATUS_LABELS

    return {**STATUS_LABELS, "missing": dict(ROLLUP_COLUMNS)["missing"]}


def _tables(fmt: reg.Format, unit: str, active: dict, applications: dict, reviews: dict) -> dict[str, Any]:
    """The three statutory tables of a report as selectors.export_report shapes
    them (same keys, blanks as None, amounts as canonical text), nothing else."""
    doc: dict[str, Any] = {"format": fmt.code, "active_disclosure": {}}
    for table in fmt.active_disclosure:
        rows = {}
        for row in table.rows:
            values = active.get((table.code, row.code))
            rows[row.code] = {
                col.code: (
                    None
                    if values is None
                    else format_amount(values[col.code])
                    if col.kind == reg.CellKind.AMOUNT
                    else values[col.code]
                )
                for col in table.columns
            }
        if table.has_unit:
            rows["unit"] = unit
        doc["active_disclosure"][table.code] = rows
    doc["applications"] = _rows(applications, [r.code for r in fmt.applications_rows], fmt.applications_columns)
    doc["reviews"] = _rows(reviews, [b.code for b in fmt.reviews_blocks], fmt.reviews_columns)
    return doc


def _rows(stored: dict, codes: list[str], columns: tuple) -> dict[str, dict]:
    return {code: {c.code: stored[code][c.code] if code in stored else None for c in columns} for code in codes}


def workbook_rows(organizations: Iterable[Organization], year: int, *, batch: int = 1000) -> Iterator[JurisdictionRow]:
    """Each organization with its report's tables for ``year`` (or none) and the
    dashboard's word for its status, for the jurisdiction workbook.

    Read a batch at a time as plain values, four queries a batch: a province's
    reports are never all in memory, and no model instance is built for its
    ≈150 table rows each (the former selectors.jurisdiction_rows built whole
    documents, spent half the build there). The workbook needs the tables only.
    """
    from ..office import JurisdictionRow

    labels = status_labels()
    organizations = list(organizations)
    for start in range(0, len(organizations), batch):
        chunk = organizations[start : start + batch]
        reports = {
            org_id: (report_id, status, fmt, unit)
            for report_id, org_id, status, fmt, unit in Report.objects.filter(
                organization__in=[o.pk for o in chunk], year=year
            ).values_list("id", "organization_id", "status", "format", "procurement_unit")
        }
        ids = [r[0] for r in reports.values()]
        active: dict[int, dict] = {i: {} for i in ids}
        for row in ActiveDisclosureRow.objects.filter(report_id__in=ids).values():
            active[row["report_id"]][row["subtable"], row["row"]] = row
        applications: dict[int, dict] = {i: {} for i in ids}
        for row in ApplicationRow.objects.filter(report_id__in=ids).values():
            applications[row["report_id"]][row["row"]] = row
        reviews: dict[int, dict] = {i: {} for i in ids}
        for row in ReviewRow.objects.filter(report_id__in=ids).values():
            reviews[row["report_id"]][row["block"]] = row
        for org in chunk:
            found = reports.get(org.pk)
            if found is None:
                yield JurisdictionRow(org.name, org.code, labels["missing"], None)
                continue
            report_id, status, fmt_code, unit = found
            fmt = reg.get_format(fmt_code)
            doc = _tables(fmt, unit, active[report_id], applications[report_id], reviews[report_id])
            yield JurisdictionRow(org.name, org.code, labels[status], doc)


def jurisdiction_workbook(job: Job) -> dict[str, Any]:
    from .. import permissions
    from ..office import jurisdiction_xlsx

    year = job.params["year"]
    # The scope as it is now: a role taken away meanwhile takes its offices out.
    scope = permissions.review_scope(job.actor) if job.actor is not None else set()
    if not scope:
        raise JobFailed(NO_SCOPE_MESSAGE, code="no_scope")
    orgs = [o for o in permissions.tree_order(Organization.objects.filter(pk__in=scope)) if o.pk in scope]
    # Written row by row to a temporary file (write-only mode), then stored: a
    # province's workbook never sits in memory whole.
    with tempfile.TemporaryFile() as spool:
        jurisdiction_xlsx(year, workbook_rows(orgs, year), title=f"{year}年度{REPORT_NAME}数据", out=spool)
        size = spool.tell()
        spool.seek(0)
        if job.result_file:
            job.result_file.delete(save=False)  # a retry replaces what an earlier attempt stored
        job.result_file.save(f"{job.pk}.xlsx", File(spool), save=True)
    return {"filename": export_filename(year), "size": size, "organizations": len(orgs)}


# A failed package is tried again by the next visitor after this long, not at every request.
YEAR_ZIP_RETRY_AFTER = timedelta(minutes=5)


def year_zip_job(year: int, digest: str) -> Job:
    """The job that builds (or built) the package of ``year`` whose files hash to ``digest``.

    One per package: visitors asking at once share it (the key is unique); a
    package swept from storage or failed a while ago is built again.
    """
    key = f"year_zip:{year}:{digest}"
    job = Job.objects.filter(key=key).first()
    if job is not None:
        failed_long_ago = job.status == Job.Status.FAILED and job.finished_at < timezone.now() - YEAR_ZIP_RETRY_AFTER
        swept = job.status == Job.Status.SUCCEEDED and not (
            job.result_file and job.result_file.storage.exists(job.result_file.name)
        )
        if not (failed_long_ago or swept):
            return job
        Job.objects.filter(pk=job.pk).delete()
    try:
        with transaction.atomic():
            return core.submit(Job.Kind.YEAR_ZIP, params={"year": year, "digest": digest}, key=key)
    except IntegrityError:  # another visitor's request recorded it first
        return Job.objects.get(key=key)


def year_zip(job: Job) -> dict[str, Any]:
    from ..portal.published import year_digest, year_publications, year_zip_chunks

    year = job.params["year"]
    # Without their snapshot documents: year_zip_chunks reads those a batch at a time.
    publications = list(year_publications(year).defer("revision__document"))
    if year_digest(p.data_sha256 for p in publications) != job.params["digest"]:
        # Published meanwhile: this package would carry another's ETag; the next visitor asks for the new one.
        raise JobFailed("该年度有新发布的报告，数据包将重新生成。", code="stale")
    storage = job.result_file.storage
    missing = [p.data.name for p in publications if not storage.exists(p.data.name)]
    if missing:
        raise JobFailed("部分正式文本文件暂时无法读取，数据包未生成。", code="missing", params={"files": missing[:20]})
    with tempfile.TemporaryFile() as spool:
        for chunk in year_zip_chunks(publications, year):
            spool.write(chunk)
        size = spool.tell()
        spool.seek(0)
        if job.result_file:
            job.result_file.delete(save=False)  # a retry replaces what an earlier attempt stored
        job.result_file.save(f"{job.pk}.zip", File(spool), save=True)
    return {"year": year, "publications": len(publications), "size": size}
