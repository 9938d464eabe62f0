"""Starting a report from a published file: upload, wait for the read job,
preview, confirm or discard."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import formats as reg
from .. import jobs, permissions, services
from ..calendar import current_report_year
from ..models import Job, PendingImport, Report
from ..parsing.choices import ambiguities, row_name, zero_groups
from ..pdf.presentation import report_context
from ..rules import Severity, check_document
from ..services.uploads import (
    FILENAME_TOO_LONG,
    MAX_FILENAME_CHARS,
    READING_MESSAGE,
    ImportChoices,
    queue_upload,
)
from ..services.uploads import confirm_import as confirm
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
    if len(file.name) >= MAX_FILENAME_CHARS:
        # Django cuts longer names to 255 characters before a view sees them: 255 means cut.
        messages.error(request, FILENAME_TOO_LONG)
        return redirect("workspace:dashboard")
    try:
        job = queue_upload(org, actor=request.user, filename=file.name, data=file.read(), year=year)
    except InvalidDocument as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("workspace:dashboard")
    return redirect("workspace:import_job", org.code, job.pk)


def _read_job(request: HttpRequest, org_code: str, pk) -> Job:
    org = permissions.clerk_organization(request.user, org_code)
    # Only whoever uploaded the file follows its reading.
    job = Job.objects.filter(pk=pk, kind=Job.Kind.READ_UPLOAD, organization=org, actor=request.user).first()
    if job is None:
        raise Http404("没有找到这次上传。")
    return job


def _pending_url(job: Job) -> str:
    pending = job.result.get("pending")
    if job.status != Job.Status.SUCCEEDED or not pending:
        return ""
    return reverse("workspace:pending", args=[job.organization.code, pending])


@login_required
@require_GET
def import_job(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    """正在读取…: the page static/js/jobs.js keeps asking until the preview is ready."""
    job = _read_job(request, org_code, pk)
    if job.status == Job.Status.SUCCEEDED:
        if PendingImport.objects.filter(pk=job.result.get("pending")).exists():
            return redirect(_pending_url(job))
        messages.info(request, "这次导入已经确认或放弃。")
        return redirect("workspace:dashboard")
    return render(
        request,
        "workspace/pending_import.html",
        {
            "job": job,
            "filename": job.params.get("filename", ""),
            "reading": READING_MESSAGE,
            "status_url": reverse("workspace:import_job_status", args=[org_code, job.pk]),
        },
    )


@login_required
@require_GET
def import_job_status(request: HttpRequest, org_code: str, pk) -> JsonResponse:
    job = _read_job(request, org_code, pk)
    response = JsonResponse(jobs.payload(job, url=_pending_url(job)))
    response["Cache-Control"] = "no-store"
    return response


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
    fmt = reg.get_format(doc["format"])
    splits = [
        {
            "index": index,
            "row": row_name(fmt, problem["cells"][0]),
            "printed": problem["message"],
            "candidates": [
                [(fmt.cell(ref).column_label, value) for ref, value in zip(problem["cells"], c, strict=True)]
                for c in problem["candidates"]
            ],
        }
        for index, problem in ambiguities(pending.problems)
    ]
    under_choice = {ref for _i, p in ambiguities(pending.problems) for ref in p["cells"]}
    info = pending.info or {}
    return render(
        request,
        "workspace/pending_import.html",
        {
            "pending": pending,
            "info": info,
            "read_how": read_how(info),
            "mismatch": info.get("mismatch") or {},
            "splits": splits,
            "zero_groups": [g.as_dict() for g in zero_groups(doc, under_choice)],
            "doc": doc,
            "fmt": reg.get_format(doc["format"]),
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
        report = confirm(
            pending,
            actor=request.user,
            current_year=current_report_year(timezone.localdate(), government_level=pending.organization.is_government),
            replace=request.POST.get("replace") == "1",
            choices=_choices(request.POST),
        )
    except InvalidDocument as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("workspace:pending", org_code, pk)
    messages.success(request, f"已导入{report.year}年度报告（{report.get_status_display()}）。")
    return redirect(_report_url(report))


def _choices(post) -> ImportChoices:
    """The preview's decisions as posted: candidate-<problem index> = candidate index ("" keeps
    the row blank), zero = a group id per checked 按 0 填入."""
    candidates = {}
    for name, value in post.items():
        if not name.startswith("candidate-") or value == "":
            continue
        suffix = name.removeprefix("candidate-")
        if not (suffix.isascii() and suffix.isdigit() and len(suffix) <= 6):
            continue  # a field the page never offers
        # A value that is no index is refused by the service (-1 is never a candidate), not ignored.
        candidates[int(suffix)] = int(value) if value.isascii() and value.isdigit() and len(value) <= 6 else -1
    return ImportChoices(
        organization=post.get("organization_choice", ""),
        year=post.get("year_choice", ""),
        candidates=candidates,
        zeros=tuple(post.getlist("zero")),
    )


SOURCES = {
    "title_line": "标题行",
    "preamble": "正文开头",
    "meta:ArticleTitle": "网页标注（ArticleTitle）",
    "meta:ContentSource": "网页标注（ContentSource）",
    "title": "标题",
    "signature": "落款",
    "subtitle": "副标题",
    "given": "上传时填写",
    "default": "上传时所选年度（文件中未写年度）",
    "office": "本机关（文件中未写机关名称）",
}
KINDS = {"text": "文本", "html": "网页", "docx": "Word 文档", "pdf": "PDF", "xlsx": "Excel 表格"}


def read_how(info: dict) -> list[str]:
    """How the file was read, in a few short phrases for the preview."""
    out = []
    if info.get("kind"):
        kind = KINDS.get(info["kind"], info["kind"])
        out.append(f"{kind}，共 {info['pages']} 页" if info.get("pages") else kind)
    if info.get("encoding"):
        out.append(f"编码 {info['encoding']}")
    names = {"title": "标题", "organization": "机关名称", "issued_on": "成文日期", "year": "年度"}
    for field, label in names.items():
        source = (info.get("sources") or {}).get(field)
        if source:
            out.append(f"{label}取自{SOURCES.get(source, source)}")
    return out


@login_required
@require_POST
def discard_import(request: HttpRequest, org_code: str, pk) -> HttpResponse:
    services.discard_import(_pending(request, org_code, pk), actor=request.user)
    messages.info(request, "已放弃这次导入。")
    return redirect("workspace:dashboard")
