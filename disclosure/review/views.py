"""Review and supervision: the supervisor's dashboard, a report's review page,
comments, workflow actions, revision diffs."""

from __future__ import annotations

import csv
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.db.models.functions import Length
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import audit, jobs, permissions, selectors, services, workflow
from ..calendar import current_report_year, deadline
from ..downloads import DOCX, XLSX, disposition
from ..formats import FIRST_YEAR
from ..models import AuditEvent, Comment, Job, Membership, Organization, Report, Revision
from ..navigation import safe_next
from ..pdf.presentation import report_context
from ..selectors import check_report, comment_threads, export_report
from ..services.comments import ResolveRefused
from ..text import spreadsheet_safe, whole_number

STATUS_LABELS = dict(Report.Status.choices)
PUBLISHING_MESSAGE = "正在生成正式文本…"
EXPORTING_MESSAGE = "正在生成汇总表…"


def _report_url(report: Report) -> str:
    return reverse("review:report", args=[report.organization.code, report.year])


PAGE_SIZE = 50
CSV_BATCH = 1000
SORTS = {
    "": ("parent__name", "name"),
    "name": ("name", "code"),
    "code": ("code",),
    "status": ("report_status", "name"),
    "errors": ("-report_errors", "name"),
    "warnings": ("-report_warnings", "name"),
}
SORT_LABELS = [("", "上级机关"), ("name", "名称"), ("status", "状态"), ("errors", "错误数"), ("warnings", "警示数")]
CSV_HEADER = ["机关代码", "机关", "上级机关", "状态", "截止日期", "距截止天数", "错误", "警示", "最后活动"]
# An organization without a report for the year: one word on the dashboard, its CSV and the workbook.
MISSING_LABEL = "未创建"
ROLLUP_COLUMNS = [
    ("orgs", "机关数"),
    ("missing", MISSING_LABEL),
    ("draft", "草稿"),
    ("submitted", "已提交"),
    ("returned", "已退回"),
    ("approved", "已审核"),
    ("published", "已发布"),
    ("late", "逾期未发布"),
    ("errors", "有错误"),
]


def dashboard_rows(organizations: list[Organization], year: int, today) -> list[dict[str, Any]]:
    """The dashboard's rows for a page (or a CSV batch) of annotated organizations:
    two queries whatever their number (publish jobs under way, last activity)."""
    report_ids = [org.report_id for org in organizations if org.report_id]
    # An approved report whose publish job is under way shows as 发布中 (ADR 0009).
    publishing = set(
        Job.objects.filter(kind=Job.Kind.PUBLISH, status__in=Job.ACTIVE, report_id__in=report_ids).values_list(
            "report_id", flat=True
        )
    )
    activity = dict(
        AuditEvent.objects.filter(report_id__in=report_ids)
        .values_list("report_id")
        .annotate(last=Max("created_at"))
        .order_by()
    )
    rows = []
    for org in organizations:
        due = deadline(year, government_level=org.is_government)
        status = org.report_status or "missing"
        days_left = (due - today).days
        rows.append(
            {
                "org": org,
                "status": status,
                "status_label": ("发布中" if org.report_id in publishing else STATUS_LABELS[status])
                if org.report_id
                else MISSING_LABEL,
                "deadline": due,
                "days_left": days_left,
                "due_label": due_label(days_left, published=status == Report.Status.PUBLISHED),
                "late": days_left < 0 and status != Report.Status.PUBLISHED,
                "errors": org.report_errors or 0,
                "warnings": org.report_warnings or 0,
                "last_activity": activity.get(org.report_id),
                "url": reverse("review:report", args=[org.code, year]) if org.report_id else "",
            }
        )
    return rows


def due_label(days_left: int, *, published: bool = False) -> str:
    """The 距截止 column in words: how many days are left, or how many days late."""
    if published:
        return "—"  # nothing is due any more
    if days_left > 0:
        return f"还剩 {days_left} 天"
    if days_left == 0:
        return "今天截止"
    return f"已逾期 {-days_left} 天"


def _year(value: str, today) -> int:
    """The report year asked for when reports of it can exist; else the one being written now."""
    year, current = whole_number(value, max_digits=4), current_report_year(today)
    return year if year is not None and FIRST_YEAR <= year <= current else current


def _text(value: str) -> str:
    """A search term or code as the database may take it: PostgreSQL refuses NUL."""
    return value.replace("\x00", "")[:100]


def _node(request: HttpRequest) -> tuple[Organization | None, list[Organization]]:
    """The organization the dashboard looks at (``?org=``; by default the user's one
    top, none when they have several) and what the roll-up lists below it."""
    roots = permissions.scope_roots(request.user)
    code = _text(request.GET.get("org", ""))
    if code:
        node = Organization.objects.filter(code=code).first()
        if node is None or not permissions.in_review_scope(request.user, node):
            raise Http404("没有找到这个机关。")
    elif len(roots) == 1:
        node = roots[0]
    else:
        return None, roots
    return node, list(node.children.order_by("name", "code"))


def _breadcrumb(user, node: Organization | None) -> list[Organization]:
    """From the top the user may see down to the node."""
    if node is None:
        return []
    return list(
        Organization.objects.filter(pk__in=node.ancestor_ids)
        .filter(permissions.review_scope_q(user))
        .order_by(Length("path"))
    )


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Counts of the whole subtree, a roll-up per child to drill into, and a page of
    filtered rows: a fixed number of queries whatever the subtree's size."""
    today = timezone.localdate()
    year = _year(request.GET.get("year", ""), today)
    node, branches = _node(request)
    # An office with nothing below it is its own one branch: its totals count it
    # (and the roll-up, a row of one, is not shown).
    branches = branches or ([node] if node is not None else [])
    scope = selectors.dashboard_organizations(year).filter(permissions.review_scope_q(request.user))
    if node is not None:
        scope = scope.filter(permissions.subtree_q([node]))
    status = request.GET.get("status", "")
    problem = request.GET.get("problem", "")
    query = _text(request.GET.get("q", "")).strip()
    sort = request.GET.get("sort", "")
    sort = sort if sort in SORTS else ""
    rows_qs = scope
    if status in ("missing", *selectors.STATUS_KEYS):
        rows_qs = rows_qs.filter(selectors.status_q(status))
    if problem == "errors":
        rows_qs = rows_qs.filter(report_errors__gt=0)
    elif problem == "warnings":
        rows_qs = rows_qs.filter(report_warnings__gt=0)
    elif problem == "late":
        rows_qs = rows_qs.filter(selectors.late_q(year, today))
    if query:
        rows_qs = rows_qs.filter(Q(name__icontains=query) | Q(code__icontains=query))
    rows_qs = rows_qs.select_related("parent").order_by(*SORTS[sort], "pk")
    if request.GET.get("format") == "csv":
        if request.GET.get("view") == "summary":
            return _summary_csv(*selectors.rollup(scope, branches, year, today), node, year)
        return _csv(rows_qs, year, today)
    children, totals = selectors.rollup(scope, branches, year, today)
    page = Paginator(rows_qs, PAGE_SIZE).get_page(request.GET.get("page"))
    filters = {"status": status, "problem": problem, "q": query, "sort": sort}
    here = {"year": year, **({"org": node.code} if node else {})}
    reviews = bool(permissions.scope_roots(request.user))  # memberships are cached: no query
    return render(
        request,
        "review/dashboard.html",
        {
            "rows": dashboard_rows(list(page.object_list), year, today),
            "page": page,
            "node": node,
            # The jurisdiction's own pages (roll-up, completeness, quality, archive) are for its supervisors.
            "supervises_node": node is not None
            and Membership.Role.SUPERVISOR in permissions.roles_for(request.user, node),
            "breadcrumb": _breadcrumb(request.user, node),
            # Offices without anything below them are the rows already: no roll-up of ones.
            "children": children if any(c["orgs"] > 1 for c in children) else [],
            "totals": totals,
            "rollup_columns": ROLLUP_COLUMNS,
            "year": year,
            "years": range(current_report_year(today), FIRST_YEAR - 1, -1),
            "statuses": [("missing", MISSING_LABEL), *Report.Status.choices],
            "sorts": SORT_LABELS,
            "filters": filters,
            "filtered": bool(status or problem or query),
            "reviews": reviews,
            "writes": permissions.has_role(request.user, permissions.Role.CLERK),
            "here": urlencode(here),
            "page_query": urlencode({**here, **{k: v for k, v in filters.items() if v}}),
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


class _Echo:
    """csv.writer's file: hands each written line back."""

    def write(self, value: str) -> str:
        return value


def _csv_response(chunks, filename: str, ascii_name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(True, filename, ascii_name)
    return response


def _csv(organizations, year: int, today) -> StreamingHttpResponse:
    """Every filtered row, streamed in batches (two queries per batch, never all rows in memory)."""

    def chunks():
        writer = csv.writer(_Echo())
        yield "\ufeff"  # Excel opens UTF-8 CSV correctly only with a BOM
        yield writer.writerow(
            ["机关代码", "机关", "上级机关", "状态", "截止日期", "距截止天数", "错误", "警示", "最后活动"]
        )
        batch: list[Organization] = []
        for org in organizations.iterator(chunk_size=CSV_BATCH):
            batch.append(org)
            if len(batch) == CSV_BATCH:
                yield _csv_lines(writer, batch, year, today)
                batch = []
        if batch:
            yield _csv_lines(writer, batch, year, today)

    return _csv_response(chunks(), f"{year}年度报告进度.csv", f"reports-{year}.csv")


def _csv_lines(writer, batch: list[Organization], year: int, today) -> str:
    return "".join(
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
        for r in dashboard_rows(batch, year, today)
    )


def _summary_csv(children: list[dict], totals: dict, node: Organization | None, year: int) -> StreamingHttpResponse:
    """The roll-up at the level being looked at: one line per child and the total."""
    writer = csv.writer(_Echo())
    header = ["机关代码", "机关", *[label for _key, label in ROLLUP_COLUMNS]]
    lines = ["\ufeff", writer.writerow(header)]
    for child in children:
        org = child["org"]
        lines.append(
            writer.writerow([org.code, spreadsheet_safe(org.name), *[child[key] for key, _ in ROLLUP_COLUMNS]])
        )
    lines.append(
        writer.writerow(
            [node.code if node else "", spreadsheet_safe(f"{node.name if node else '全部'}（合计）")]
            + [totals[key] for key, _ in ROLLUP_COLUMNS]
        )
    )
    return _csv_response(iter(lines), f"{year}年度报告进度汇总.csv", f"reports-{year}-summary.csv")


def resolvable_threads(user, report: Report, roles: set[str]) -> list[dict]:
    """The report's comment threads, each saying whether this user may mark it resolved
    (permissions.may_resolve_comment): one query for all their authors' roles."""
    threads = comment_threads(report)
    org = report.organization
    reviewing = permissions.reviewing_people(org, {t["comment"].author_id for t in threads})
    for thread in threads:
        c = thread["comment"]
        thread["may_resolve"] = permissions.may_resolve_comment(
            user, c, roles=roles, by_reviewer=c.author_id in reviewing
        )
        thread["label"] = audit.place_label(report.spec, c.anchor)
    return threads


def anchor_labels(report: Report) -> dict[str, str]:
    """A reader's name for every place a click can anchor a comment to (static/js/review.js)."""
    fmt = report.spec
    labels = {spec.ref: audit.place_label(fmt, spec.ref) for spec in fmt.cells()}
    labels.update({part.ref: part.label for part in fmt.narrative})
    return labels


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
    history, history_truncated = audit.report_history(report)
    return render(
        request,
        "review/report.html",
        {
            "report": report,
            "roles": roles,
            "preview": report_context(
                doc, draft=report.status != Report.Status.PUBLISHED, revision=selectors.draft_number(report)
            )["report"],
            "findings": findings,
            "explanations": report.explanations,
            "threads": resolvable_threads(request.user, report, roles),
            "anchors": _anchor_choices(report),
            "anchor_labels": anchor_labels(report),
            "actions": [(a.value, workflow.ACTION_LABELS[a]) for a in workflow.allowed_actions(request.user, report)],
            "own_work": workflow.reviews_own_work(request.user, report),
            "revisions": revisions,
            "publications": list(report.publications.order_by("-number")),
            "history": history,
            "history_truncated": history_truncated,
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
    # A forged POST by someone who may not settle it is refused with 403 (ResolveRefused).
    try:
        services.resolve_comment(get_object_or_404(Comment, pk=pk, report=report), actor=request.user)
    except ResolveRefused as exc:
        raise PermissionDenied(exc.message) from exc
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
        {"ref": ref, "label": audit.place_label(report.spec, ref), "old": old, "new": new}
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

    if not permissions.scope_roots(request.user):  # no query: a province's ids are not needed to know
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
