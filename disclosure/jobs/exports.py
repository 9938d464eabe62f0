"""The jurisdiction workbook (/review/export.xlsx) built by a worker and kept in
default storage for the reviewer who asked for it."""

from __future__ import annotations

from typing import Any

from django.core.files.base import ContentFile

from ..formats import REPORT_NAME
from ..models import Job, Organization
from .core import JobFailed

NO_SCOPE_MESSAGE = "没有需要您审核或督办的机关。"


def export_filename(year: int) -> str:
    return f"{year}年度报告数据汇总.xlsx"


def jurisdiction_workbook(job: Job) -> dict[str, Any]:
    from .. import permissions
    from ..office import jurisdiction_xlsx
    from ..selectors import jurisdiction_rows

    year = job.params["year"]
    # The scope as it is now: a role taken away meanwhile takes its offices out.
    scope = permissions.review_scope(job.actor) if job.actor is not None else set()
    if not scope:
        raise JobFailed(NO_SCOPE_MESSAGE, code="no_scope")
    orgs = [o for o in permissions.tree_order(Organization.objects.filter(pk__in=scope)) if o.pk in scope]
    data = jurisdiction_xlsx(year, jurisdiction_rows(orgs, year), title=f"{year}年度{REPORT_NAME}数据")
    if job.result_file:
        job.result_file.delete(save=False)  # a retry replaces what an earlier attempt stored
    job.result_file.save(f"{job.pk}.xlsx", ContentFile(data), save=True)
    return {"filename": export_filename(year), "size": len(data), "organizations": len(orgs)}
