"""Review and supervision: the supervisor's dashboard, a report's review page,
comments, workflow actions, revision diffs."""

from __future__ import annotations

import csv
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Max
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import jobs, permissions, services, workflow
from ..calendar import current_report_year, deadline
from ..downloads import DOCX, XLSX, disposition
from ..formats import FIRST_YEAR
from ..models import AuditEvent, Comment, Job, Organization, Report, Revision
from ..navigation import safe_next
from ..pdf.presentation import report_context
from ..rules import Severity
from ..selectors import anchor_label, check_report, comment_threads, export_report, report_queryset
from ..text import spreadsheet_safe, whole_number

STATUS_LABELS = dict(Report.Status.choices)
PUBLISHING_MESSAGE = "正在生成正式文本…"
EXPORTING_MESSAGE = "正在生成汇总表…"


def _report_url(report: Report) -> str:
    return reverse("review:report", args=[report.organization.code, report.year])


def dashboard_rows(user, year: int, today) -> list[dict[str, Any]]:
    """Every organization in the user's review scope, with its report for ``year``."""
    scope = permissions.review_scope(user)
    orgs = Organization.objects.filter(pk__in=scope).select_related("parent").order_by("parent__name", "name")
    reports = {r.organization_id: r for r in report_queryset().filter(organization__in=orgs, year=year)}
    # An approved report whose publish job is under way shows as 发布中 (ADR 0009).
    publishing = set(
        Job.objects.filter(kind=Job.Kind.PUBLISH, status__in=Job.ACTIVE, report__in=reports.values()).values_list(
            "report_id", flat=True
        )
    )
    activity = dict(
        AuditEvent.objects.filter(report__in=reports.values())
        .values_list("report__organization_id")
        .annotate(last=Max("created_at"))
    )
    rows = []
    for org in orgs:
        report = reports.get(org.pk)
        due = deadline(year, government_level=org.is_government)
        findings = check_report(report) if report else []
        rows.append(
            {
                "org": org,
                "report": report,
                "status": report.status if report else "missing",
                "status_label": ("发布中" if report.pk in publishing else STATUS_LABELS[report.status])
                if report
                else "未创建",
                "deadline": due,
                "days_left": (due - today).days,
                "late": (due - today).days < 0 and (report is None or report.status != Report.Status.PUBLISHED),
                "errors": sum(f.severity == Severity.ERROR for f in findings),
                "warnings": sum(f.severity == Severity.WARNING for f in findings),
                "last_activity": activity.get(org.pk),
                "url": _report_url(report) if report else "",
            }
        )
    return rows


def _year(value: str, today) -> int:
    """The report year asked for when reports of it can exist; else the one being written now."""
    year, current = whole_number(value, max_digits=4), current_report_year(today)
    return year if year is not None and FIRST_YEAR <= year <= current else current


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    year = _year(request.GET.get("year", ""), today)
    rows = dashboard_rows(request.user, year, today)
    status = request.GET.get("status", "")
    problem = request.GET.get("problem", "")
    query = request.GET.get("q", "").strip()
    if status:
        rows = [r for r in rows if r["status"] == status]
    if problem == "errors":
        rows = [r for r in rows if r["errors"]]
    elif problem == "late":
        rows = [r for r in rows if r["late"]]
    if query:
        rows = [r for r in rows if query in r["org"].name or query in r["org"].code]
    if request.GET.get("format") == "csv":
        return _csv(rows, year)
    return render(
        request,
        "review/dashboard.html",
        {
            "rows": rows,
            "year": year,
            "years": range(current_report_year(today), FIRST_YEAR - 1, -1),
            "statuses": [("missing", "未创建"), *Report.Status.choices],
            "filters": {"status": status, "problem": problem, "q": query},
            "exports": _export_jobs(request.user),
        },
    )


def _export_jobs(user) -> list[dict[str, Any]]:
    """The user's recent workbooks: being built, ready, or failed."""
    return [
        {
            "job": job,
            "status_url": reverse("review:export_status", args=[job.pk]),
            "download_url": reverse("review:export_download", args=[job.pk]) if job.result_file else "",
        }
        for job in Job.objects.filter(kind=Job.Kind.EXPORT, actor=user).order_by("-created_at")[:5]
    ]


def _csv(rows: list[dict], year: int) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(True, f"{year}年度报告进度.csv", f"reports-{year}.csv")
    response.write("\ufeff")  # Excel opens UTF-8 CSV correctly only with a BOM
    writer = csv.writer(response)
    writer.writerow(["机关代码", "机关", "上级机关", "状态", "截止日期", "距截止天数", "错误", "警示", "最后活动"])
    for r in rows:
        writer.writerow(
            [
                r["org"].code,
                spreadsheet_safe(r["org"].name),
                spreadsheet_safe(r["org"].parent.name) if r["org"].parent else "",
                r["status_label"],
                r["deadline"].isoformat(),
                r["days_left"],
                r["errors"],
                r["warnings"],
                timezone.localtime(r["last_activity"]).strftime("%Y-%m-%d %H:%M") if r["last_activity"] else "",
            ]
        )
    return response


def _anchor_choices(report: Report) -> list[tuple[str, str]]:
    fmt = report.spec
    choices = [("report", "整份报告")]
    for section in fmt.sections:
        choices.append((section.code, section.title))
        choices += [(p.ref, f"　{p.label}") for p in fmt.narrative if p.path.split(".")[0] == section.code]
    return choices


@login_required
@require_GET
def report_page(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    report, roles = permissions.visible_report(request.user, org_code, year)
    doc = export_report(report)
    findings = check_report(report)
    revisions = list(report.revisions.order_by("-number"))
    publish_job = _publish_job(report)
    return render(
        request,
        "review/report.html",
        {
            "report": report,
            "roles": roles,
            "preview": report_context(doc, draft=report.status != Report.Status.PUBLISHED, revision=report.version)[
                "report"
            ],
            "findings": findings,
            "explanations": report.explanations,
            "threads": comment_threads(report),
            "anchors": _anchor_choices(report),
            "actions": [(a.value, workflow.ACTION_LABELS[a]) for a in workflow.allowed_actions(request.user, report)],
            "own_work": workflow.reviews_own_work(request.user, report),
            "revisions": revisions,
            "publications": list(report.publications.order_by("-number")),
            "events": report.audit_events.select_related("actor")[:100],
            "publish_job": publish_job,
            "publish_status_url": reverse("review:job_status", args=[org_code, year, publish_job.pk])
            if publish_job
            else "",
            "status_label": "发布中" if publish_job and publish_job.active else report.get_status_display(),
        },
    )


def _publish_job(report: Report) -> Job | None:
    """The publish job of this approval: under way, or failed (with 重试). A job of an
    earlier round (before a return and a new approval) is history, not news."""
    if report.status != Report.Status.APPROVED:
        return None
    job = jobs.latest_job(Job.Kind.PUBLISH, report=report)
    if job is None or job.params.get("version") != report.version or job.status == Job.Status.SUCCEEDED:
        return None
    return job


@login_required
@require_GET
def job_status(request: HttpRequest, org_code: str, year: int, pk) -> JsonResponse:
    """A report's job (publishing), for static/js/jobs.js."""
    report, _roles = permissions.visible_report(request.user, org_code, year)
    job = get_object_or_404(Job, pk=pk, report=report)
    response = JsonResponse(jobs.payload(job, url=_report_url(report)))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def action(request: HttpRequest, org_code: str, year: int, name: str) -> HttpResponse:
    report, _roles = permissions.visible_report(request.user, org_code, year)
    try:
        act = workflow.Action(name)
    except ValueError:
        raise Http404("没有这个操作。") from None
    try:
        workflow.transition(
            report,
            act,
            actor=request.user,
            comment=request.POST.get("comment", ""),
            anchor=request.POST.get("anchor", ""),
        )
    except workflow.TransitionRefused as exc:
        messages.error(request, exc.message)
    else:
        report.refresh_from_db(fields=["status"])
        if act == workflow.Action.PUBLISH and report.status != Report.Status.PUBLISHED:
            # The job renders and publishes; the page follows it (static/js/jobs.js).
            messages.info(request, PUBLISHING_MESSAGE)
        else:
            messages.success(request, f"已{workflow.ACTION_LABELS[act]}。")
    return redirect(safe_next(request, _report_url(report)))


@login_required
@require_POST
def comment(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    report, _roles = permissions.visible_report(request.user, org_code, year)
    parent = None
    if request.POST.get("parent"):
        # isdigit() takes "²" and 5000 digits, which int() then refuses with a 500.
        pk = whole_number(request.POST["parent"], max_digits=18)
        if pk is None:
            raise Http404("没有找到这条意见。")
        parent = get_object_or_404(Comment, pk=pk, report=report)
    try:
        services.add_comment(
            report,
            actor=request.user,
            anchor=request.POST.get("anchor", "report"),
            body=request.POST.get("body", ""),
            parent=parent,
        )
    except services.InvalidComment as exc:
        messages.error(request, exc.message)
    return redirect(safe_next(request, _report_url(report)))


@login_required
@require_POST
def resolve(request: HttpRequest, org_code: str, year: int, pk: int) -> HttpResponse:
    report, _roles = permissions.visible_report(request.user, org_code, year)
    services.resolve_comment(get_object_or_404(Comment, pk=pk, report=report), actor=request.user)
    return redirect(safe_next(request, _report_url(report)))


@login_required
@require_GET
def diff(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    report, _roles = permissions.visible_report(request.user, org_code, year)

    def snapshot(value: str) -> tuple[str, dict]:
        if value == "current":
            return "当前稿", export_report(report)
        number = whole_number(value)
        number = -1 if number is None else number
        revision = get_object_or_404(Revision, report=report, number=number)
        return f"第{revision.number}稿（{revision.get_event_display()}）", revision.document

    left_label, left = snapshot(request.GET.get("from", "1"))
    right_label, right = snapshot(request.GET.get("to", "current"))
    changes = [
        {"ref": ref, "label": anchor_label(report, ref), "old": old, "new": new}
        for ref, (old, new) in services.diff_documents(left, right).items()
    ]
    return render(
        request,
        "review/diff.html",
        {
            "report": report,
            "changes": changes,
            "left": left_label,
            "right": right_label,
            "revisions": report.revisions.order_by("number"),
        },
    )


@login_required
@require_GET
def export_report_file(request: HttpRequest, org_code: str, year: int, ext: str) -> HttpResponse:
    """The report's tables as Excel, or the whole report as Word, for its reviewers and clerks."""
    from ..office import export_report_docx, export_report_xlsx

    report, _roles = permissions.visible_report(request.user, org_code, year)
    doc = export_report(report)
    if ext == "xlsx":
        response = HttpResponse(export_report_xlsx(doc), content_type=XLSX)
    else:
        response = HttpResponse(export_report_docx(doc), content_type=DOCX)
    name = f"{services.default_title(report.organization_name, year)}.{ext}"
    response["Content-Disposition"] = disposition(True, name, f"{org_code}-{year}.{ext}")
    return response


@login_required
@require_POST
def export_jurisdiction(request: HttpRequest) -> HttpResponse:
    """Every organization in the user's review scope for a year, one sheet per table:
    built by a job (a large jurisdiction takes long), downloaded from the dashboard."""
    from ..jobs.exports import NO_SCOPE_MESSAGE

    if not permissions.review_scope(request.user):
        raise Http404(NO_SCOPE_MESSAGE)
    year = _post_year(request)
    jobs.submit(Job.Kind.EXPORT, actor=request.user, params={"year": year})
    messages.info(request, EXPORTING_MESSAGE)
    return redirect(f"{reverse('review:dashboard')}?year={year}")


def _post_year(request: HttpRequest) -> int:
    return _year(request.POST.get("year") or request.GET.get("year", ""), timezone.localdate())


def _export_job(request: HttpRequest, pk) -> Job:
    # A workbook holds what its requester may see: only they fetch it.
    return get_object_or_404(Job, pk=pk, kind=Job.Kind.EXPORT, actor=request.user)


@login_required
@require_GET
def export_status(request: HttpRequest, pk) -> JsonResponse:
    job = _export_job(request, pk)
    url = reverse("review:export_download", args=[job.pk]) if job.result_file else ""
    response = JsonResponse(jobs.payload(job, url=url))
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def export_download(request: HttpRequest, pk) -> FileResponse:
    from ..jobs.exports import export_filename

    job = _export_job(request, pk)
    if job.status != Job.Status.SUCCEEDED or not job.result_file:
        raise Http404("汇总表尚未生成或已过期。")
    year = job.params["year"]
    response = FileResponse(job.result_file.open("rb"), content_type=XLSX)
    response["Content-Disposition"] = disposition(True, export_filename(year), f"reports-{year}.xlsx")
    return response
