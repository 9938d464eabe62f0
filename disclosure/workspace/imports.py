"""Starting a report from a published file: upload, preview, confirm or discard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import permissions, services
from ..calendar import current_report_year
from ..models import PendingImport, Report
from ..pdf.presentation import report_context
from ..rules import Severity, check_document
from .views import _report_url


@login_required
@require_POST
def upload(request: HttpRequest, org_code: str) -> HttpResponse:
    org = permissions.clerk_organization(request.user, org_code)
    from ..interchange import InvalidDocument
    from ..parsing import max_upload_bytes

    file = request.FILES.get("file")
    if file is None:
        messages.error(request, "请选择要导入的文件。")
        return redirect("workspace:dashboard")
    if file.size > max_upload_bytes():
        messages.error(
            request, f"文件过大（{file.size / 1048576:.1f} MB），上限为 {max_upload_bytes() // 1048576} MB。"
        )
        return redirect("workspace:dashboard")
    try:
        year = int(request.POST["year"]) if request.POST.get("year") else None
    except ValueError:
        year = None
    try:
        pending = services.stage_upload(org, actor=request.user, filename=file.name, data=file.read(), year=year)
    except InvalidDocument as exc:
        for message in exc.messages:
            messages.error(request, f"无法读取“{file.name}”：{message}")
        return redirect("workspace:dashboard")
    return redirect("workspace:pending", org.code, pending.pk)


def _pending(request: HttpRequest, org_code: str, pk) -> PendingImport:
    org = permissions.clerk_organization(request.user, org_code)
    pending = PendingImport.objects.filter(pk=pk, organization=org).first()
    if pending is None:
        raise Http404("没有找到这次导入。")
    return pending


@login_required
@require_GET
def pending_import(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    pending = _pending(request, org_code, pk)
    doc = pending.document
    current = current_report_year(timezone.localdate(), government_level=pending.organization.is_government)
    existing = Report.objects.filter(organization=pending.organization, year=doc["year"]).first()
    findings = check_document(doc)
    return render(
        request,
        "workspace/pending_import.html",
        {
            "pending": pending,
            "doc": doc,
            "preview": report_context(doc, draft=True)["report"],
            "findings": findings,
            "counts": {s.value: sum(f.severity == s for f in findings) for s in Severity},
            "existing": existing,
            "can_replace": existing is None or existing.status in services.EDITABLE_STATUSES,
            "future": doc["year"] > current,
        },
    )


@login_required
@require_POST
def confirm_import(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    from ..interchange import InvalidDocument

    pending = _pending(request, org_code, pk)
    try:
        report = services.confirm_import(
            pending,
            actor=request.user,
            current_year=current_report_year(timezone.localdate(), government_level=pending.organization.is_government),
            replace=request.POST.get("replace") == "1",
        )
    except InvalidDocument as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("workspace:pending", org_code, pk)
    messages.success(request, f"已导入{report.year}年度报告（{report.get_status_display()}）。")
    return redirect(_report_url(report))


@login_required
@require_POST
def discard_import(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    services.discard_import(_pending(request, org_code, pk), actor=request.user)
    messages.info(request, "已放弃这次导入。")
    return redirect("workspace:dashboard")
