"""The clerk's workspace: dashboard, the step-by-step report, autosave, submission.

Views stay thin: permissions come from ``permissions``, writes from
``services`` and ``workflow``, reads from ``selectors``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from .. import permissions, services, workflow
from ..calendar import current_report_year, deadline
from ..calendar import today as local_today
from ..formats import FIRST_YEAR
from ..interchange import get_path
from ..jurisdiction.rollup import hierarchy_input
from ..layout import cell_names, grids, html_rows
from ..models import Report
from ..navigation import safe_next
from ..pdf.presentation import report_context
from ..rules import Finding, Severity, check_document
from ..selectors import (
    check_report,
    comment_threads,
    completeness,
    draft_number,
    export_report,
    open_comments,
    previous_document,
    report_queryset,
    return_reasons,
)
from ..services import editing
from ..text import BAD_TEXT_MESSAGE, has_bad_text, whole_number
from ..wizard import BASIC, PREVIEW, SUBMIT, Step, step_of_ref, step_parts, steps


def _report_url(report: Report, step: str = BASIC) -> str:
    return reverse("workspace:step", args=[report.organization.code, report.year, step])


# What a clerk may do to a report from where it sits (the workflow decides who may).
CLERK_ACTIONS = (workflow.Action.WITHDRAW, workflow.Action.CORRECT)
CLERK_ACTION_LABELS = {workflow.Action.WITHDRAW: "撤回", workflow.Action.CORRECT: "申请更正"}
CLERK_ACTION_HINTS = {
    workflow.Action.WITHDRAW: "撤回后报告回到草稿，可继续修改，改好后重新提交审核。",
    workflow.Action.CORRECT: "申请更正后报告回到草稿，修改后重新提交审核；已公开的版本在新版本发布前保持不变。",
}


def clerk_actions(user, report: Report, next_url: str) -> list[dict]:
    """The workflow buttons a clerk sees beside a report: 撤回, 申请更正 (posted to review:action)."""
    allowed = workflow.allowed_actions(user, report)
    return [
        {
            "name": str(action),
            "label": CLERK_ACTION_LABELS[action],
            "hint": CLERK_ACTION_HINTS[action],
            "url": reverse("review:action", args=[report.organization.code, report.year, str(action)]),
            "next": next_url,
        }
        for action in CLERK_ACTIONS
        if action in allowed
    ]


def _first_line(text: str) -> str:
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """Where everyone lands after signing in: a clerk's reports, a reviewer's queue, or both."""
    clerk_orgs = list(permissions.clerk_organizations(request.user).order_by("name"))
    reviews = bool(permissions.scope_roots(request.user))
    if reviews and not clerk_orgs:
        return redirect("review:dashboard")
    today = timezone.localdate()
    here = reverse("workspace:dashboard")
    offices = []
    for org in clerk_orgs:
        # A people's government reports until 31 March, its departments until 31 January.
        year = current_report_year(today, government_level=org.is_government)
        org_reports = list(report_queryset().filter(organization=org).order_by("-year"))
        reasons = return_reasons(org_reports)
        reports = []
        for report in org_reports:
            doc = export_report(report)
            findings = check_report(report, doc)
            reason = reasons.get(report.pk)
            reports.append(
                {
                    "report": report,
                    "url": _report_url(report),
                    "completeness": round(completeness(doc) * 100),
                    "errors": sum(f.severity == Severity.ERROR for f in findings),
                    "warnings": sum(f.severity == Severity.WARNING for f in findings),
                    "reason": _first_line(reason.body) if reason else "",
                    "reason_by": _person(reason.author) if reason else "",
                    "actions": clerk_actions(request.user, report, here),
                }
            )
        due = deadline(year, government_level=org.is_government)
        existing = {item["report"].year for item in reports}
        offices.append(
            {
                "org": org,
                "missing_years": [y for y in range(year - 1, FIRST_YEAR - 1, -1) if y not in existing],
                "reports": reports,
                "current": next((r for r in reports if r["report"].year == year), None),
                "days_left": (due - today).days,
                "days_overdue": (today - due).days,
                "deadline": due,
                "year": year,
            }
        )
    context = {"offices": offices, "first_year": FIRST_YEAR, "reviews": reviews}
    if reviews:
        # Both roles: the review queue has its own page; here, how much waits there.
        context["awaiting_review"] = Report.objects.filter(
            permissions.review_scope_q(request.user, "organization__"), status=Report.Status.SUBMITTED
        ).count()
    return render(request, "workspace/dashboard.html", context)


def _person(user) -> str:
    return "系统" if user is None else (user.get_full_name() or user.username)


@login_required
@require_POST
def create(request: HttpRequest, org_code: str) -> HttpResponse:
    org = permissions.clerk_organization(request.user, org_code)
    current = current_report_year(timezone.localdate(), government_level=org.is_government)
    try:
        # A late office writes an earlier year (补报); never a future one.
        year = int(request.POST.get("year") or current)
    except ValueError:
        year = 0
    if not FIRST_YEAR <= year <= current:
        messages.error(request, f"只能创建{FIRST_YEAR}年至{current}年的年度报告。")
        return redirect("workspace:dashboard")
    report = Report.objects.filter(organization=org, year=year).first()
    if report is None:
        report = services.create_report(org, year, actor=request.user)
        services.prefill_from_previous(report, actor=request.user)
        messages.success(request, f"已创建{year}年度报告。")
    return redirect(_report_url(report))


def _values(doc: dict, report: Report) -> dict[str, Any]:
    return editing.edit_values(doc, report)


def _findings_for(findings: list[Finding], report: Report, step: Step | None) -> list[dict]:
    fmt = report.spec
    shown = []
    for f in findings:
        # Listed on every step that shows one of its cells (a red cell always has its finding beside it);
        # 去修改 leads to the first.
        targets = [step_of_ref(fmt, ref) for ref in f.cells] or [BASIC]
        target = targets[0]
        if step is None or step.code in {PREVIEW, SUBMIT} or step.code in targets:
            shown.append(
                {
                    "finding": f,
                    "step": target,
                    "url": _report_url(report, target),
                    "explanation": report.explanations.get(f.key, ""),
                }
            )
    return shown


def _findings_payload(report: Report, step: Step, doc: dict) -> dict[str, Any]:
    findings = check_report(report, doc)
    items = _findings_for(findings, report, step)
    html = render_to_string("workspace/_findings.html", {"items": items, "report": report, "step": step})
    return {
        "findings": [f.as_dict() | {"key": f.key} for f in findings],
        "findings_html": html,
        "counts": {s.value: sum(f.severity == s for f in findings) for s in Severity},
    }


def _step_context(
    report: Report, step: Step, *, values: dict | None = None, errors: dict | None = None, user=None
) -> dict:
    fmt = report.spec
    doc = export_report(report)
    stored = _values(doc, report)
    values = {**stored, **(values or {})}
    last = previous_document(report)
    all_steps = steps(fmt)
    index = [s.code for s in all_steps].index(step.code)
    context: dict[str, Any] = {
        "report": report,
        "fmt": fmt,
        "steps": all_steps,
        "step": step,
        "prev_step": all_steps[index - 1] if index > 0 else None,
        "next_step": all_steps[index + 1] if index + 1 < len(all_steps) else None,
        "values": values,
        # What the report holds, as shown: the base of every edit the page sends.
        "server_values": {ref: _display(value) for ref, value in stored.items()},
        "errors": errors or {},
        "editable": report.status in services.EDITABLE_STATUSES,
        "parts": [],
    }
    last_texts = services.flatten(last) if last else {}
    for part in step_parts(fmt, step):
        context["parts"].append(
            {
                "part": part,
                "value": values.get(part.ref) or "",
                "last": last_texts.get(part.ref) or "",
                "amount_ref": f"{part.ref}.amount_yuan" if part.has_amount else "",
                "amount_label": fmt.label_of(f"{part.ref}.amount_yuan") if part.has_amount else "",
            }
        )
    if step.is_table:
        grid = next(g for g in grids(fmt, report.procurement_unit) if g.code == step.section)
        context["grid"] = grid
        # Cells are named for screen readers as the statute prints them: table, row and column.
        context["labels"] = cell_names(grid)
        context["grid_head"], context["grid_body"] = html_rows(grid, values)
    if step.section == "active_disclosure":
        context["unit_table"] = fmt.unit_table
        if context["unit_table"]:
            context["unit_label"] = fmt.label_of(f"active_disclosure.{context['unit_table'].code}.unit")
        if last and fmt.code == last["format"]:
            # The stock in force is suggested from last year's, not filled in.
            context["in_force_hints"] = [
                {"row": row, "ref": f"active_disclosure.{table.code}.{row.code}.in_force", "last": before}
                for table in fmt.active_disclosure
                if "in_force" in {c.code for c in table.columns}
                for row in table.rows
                if (before := last["active_disclosure"][table.code][row.code].get("in_force")) is not None
            ]
    elif step.section == "applications":
        context["balance_columns"] = fmt.applications_columns
    if step.code == PREVIEW:
        # The same template and presentation as the PDF, marked as a draft.
        # Numbered as 修订与发布 numbers it: the revision this draft becomes, not the autosave count.
        context["preview"] = report_context(doc, draft=True, revision=draft_number(report))["report"]
    context["grid_config"] = {
        "applicant": [c.code for c in fmt.applicant_columns],
        "columns": [c.code for c in fmt.applications_columns],
        "outcomeRows": [r.code for r in fmt.outcome_rows],
        "reviewBlocks": [b.code for b in fmt.reviews_blocks],
        "reviewParts": [c.code for c in fmt.reviews_parts],
        # Which totals a typed cell feeds: a refused cell sets aside the findings on them too.
        "totals": {target: list(parts) for target, parts in fmt.totals},
    }
    findings = check_document(doc, last, hierarchy_input(report))
    if step.code == SUBMIT:
        context["readiness"] = workflow.readiness(report, findings)
    # Reviewers' comments at their place: this step's cells and parts, and the
    # report as a whole on every step.
    all_threads = comment_threads(report)
    context["threads"] = [
        t for t in all_threads if t["comment"].anchor == "report" or step_of_ref(fmt, t["comment"].anchor) == step.code
    ]
    context["commented"] = {t["comment"].anchor for t in context["threads"] if not t["comment"].resolved_at}
    # A returned report says why: every open comment, where it sits, a link to its cell.
    opened = open_comments(report, all_threads)
    for item in opened:
        url = _report_url(report, item["step"])
        item["url"] = f"{url}?{urlencode({'focus': item['ref']})}" if item["ref"] else url
    context["open_comments"] = opened
    context["return_summary"] = report.status == Report.Status.RETURNED and bool(opened)
    per_step_comments = Counter(item["step"] for item in opened if item["comment"].anchor != "report")
    context["step_comments"] = {s.code: per_step_comments[s.code] for s in all_steps}
    context["clerk_actions"] = clerk_actions(user, report, _report_url(report, step.code)) if user else []
    context["draft_number"] = draft_number(report)
    context["today"] = local_today()  # the latest 成文日期 the form accepts
    context["findings"] = _findings_for(findings, report, step)
    context["counts"] = {s.value: sum(f.severity == s for f in findings) for s in Severity}
    per_step = Counter(item["step"] for item in _findings_for(findings, report, None))
    context["step_counts"] = {s.code: per_step[s.code] for s in all_steps}
    return context


# The step form and 本年度未收到申请 always carry the page's version; without it nothing is written.
NO_VERSION_MESSAGE = "请求缺少有效的版本号，未保存任何内容；请刷新页面后重试。"
MAX_VERSION = 2_147_483_647


def _bad_request(request: HttpRequest, message: str, *, code: str, as_json: bool) -> HttpResponse:
    """A clear 400 in Chinese; nothing was written."""
    if as_json:
        return JsonResponse({"ok": False, "code": code, "message": message}, status=400)
    return render(request, "400.html", {"message": message, "code": code}, status=400)


def _posted_version(value: Any) -> int | None:
    """A version as posted: a whole number (JSON numbers too) a version field can hold, else None."""
    if isinstance(value, str):
        value = whole_number(value)
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    # Past the column's range it is no version, and SQLite could not even compare it.
    return value if 0 <= value <= MAX_VERSION else None


def _split_posted(data) -> dict[str, str]:
    """Form fields are named by ref; one flat mapping, as the autosave sends."""
    return {k: v for k, v in data.items() if "." in k and not k.startswith("csrf")}


def _save(
    report: Report, user, values: dict[str, Any], *, version: int | None = None, bases: dict | None = None
) -> services.SaveResult:
    cells, narrative, header = {}, {}, {}
    for ref, text in values.items():
        if ref.startswith("narrative."):
            narrative[ref.removeprefix("narrative.")] = text
        elif ref.startswith("header."):
            header[ref.removeprefix("header.")] = text
        else:
            cells[ref] = text
    return services.save_edits(
        report, actor=user, expected_version=version, bases=bases, cells=cells, narrative=narrative, header=header
    )


def _get_step(report: Report, code: str) -> Step:
    step = next((s for s in steps(report.spec) if s.code == code), None)
    if step is None:
        raise Http404("没有这一步。")
    return step


@login_required
def step_view(request: HttpRequest, org_code: str, year: int, step_code: str) -> HttpResponse:
    report = permissions.clerk_report(request.user, org_code, year)
    step = _get_step(report, step_code)
    if request.method == "POST":
        # Where to go is checked before anything is written: an unknown step is a 404, not a half-done save.
        target = _get_step(report, request.POST.get("goto") or step.code)
        if report.status not in services.EDITABLE_STATUSES:
            # Read-only: the step buttons only navigate.
            return redirect(_report_url(report, target.code))
        if has_bad_text(dict(request.POST.lists())):
            return _bad_request(request, BAD_TEXT_MESSAGE, code="bad_text", as_json=False)
        version = _posted_version(request.POST.get("version"))
        if version is None:
            # No version, no bases: nothing to tell a concurrent edit from this form's old values.
            return _bad_request(request, NO_VERSION_MESSAGE, code="bad_version", as_json=False)
        values = _split_posted(request.POST)
        try:
            result = _save(report, request.user, values, version=version)
        except services.NotEditable as exc:
            messages.error(request, exc.message)
            return redirect(_report_url(report, step.code))
        except editing.InvalidEdit as exc:
            return _bad_request(request, exc.message, code=exc.code, as_json=False)
        if result.errors or result.conflicts:
            # Conflicting cells show what the report holds; the clerk's text is listed in the box.
            shown = {ref: value for ref, value in values.items() if ref not in result.conflicts}
            context = _step_context(result.report, step, values=shown, errors=result.errors, user=request.user)
            if result.conflicts:
                context["conflict"] = {
                    "message": "以下内容已被他人修改，您的修改未保存；如仍要改，请重新填写后保存。",
                    "changes": [c.as_dict() for c in result.conflicts.values()],
                }
            return render(request, "workspace/step.html", context, status=409 if result.conflicts else 422)
        return redirect(_report_url(report, target.code))
    return render(request, "workspace/step.html", _step_context(report, step, user=request.user))


def _current_values(report: Report, doc: dict, refs) -> dict[str, str]:
    current = _values(doc, report)
    return {ref: _display(current.get(ref)) for ref in refs}


def _change_feed(report: Report, user, doc: dict, since: int, *, exclude_event: int | None = None) -> list[dict]:
    """Who changed what after ``since``, with the values the report holds now."""
    items = editing.recent_changes(report, since, exclude_event=exclude_event)
    current = _current_values(report, doc, [item["ref"] for item in items])
    return [item | {"value": current[item["ref"]], "mine": item["by_id"] == user.pk} for item in items]


@login_required
@require_http_methods(["GET", "POST"])
def autosave(request: HttpRequest, org_code: str, year: int) -> JsonResponse:
    """POST: save edits, each against its base. GET: the change feed (``changes``), on the same URL."""
    if request.method == "GET":
        return changes(request, org_code, year)
    report = permissions.clerk_report(request.user, org_code, year)
    try:
        payload = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _bad_request(request, "请求格式不正确。", code="bad_json", as_json=True)
    if not isinstance(payload, dict):
        return _bad_request(request, "请求格式不正确。", code="bad_json", as_json=True)
    if has_bad_text(payload):
        return _bad_request(request, BAD_TEXT_MESSAGE, code="bad_text", as_json=True)
    version = _posted_version(payload.get("version"))
    if version is None:
        return _bad_request(request, "版本号须为整数。", code="bad_version", as_json=True)
    values, bases = payload.get("values", {}), payload.get("bases", {})
    if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
        return _bad_request(request, "每个值都须为文字。", code="bad_value", as_json=True)
    if not isinstance(bases, dict) or not all(isinstance(bases.get(ref), str) for ref in values):
        return _bad_request(request, "每项修改都须附带修改前的值，未保存任何内容。", code="missing_base", as_json=True)
    step = next((s for s in steps(report.spec) if s.code == (payload.get("step") or BASIC)), None)
    if step is None:
        return JsonResponse({"ok": False, "code": "unknown_step", "message": "没有这一步。"}, status=404)
    try:
        result = _save(report, request.user, values, bases={ref: bases[ref] for ref in values})
    except services.NotEditable as exc:
        return JsonResponse({"ok": False, "code": exc.code, "message": exc.message}, status=409)
    report = result.report
    current = _values(result.document, report)
    saved = [ref for ref in values if ref not in result.errors and ref not in result.conflicts]
    return JsonResponse(
        {
            "ok": True,
            "version": report.version,
            "errors": result.errors,
            "conflicts": {ref: c.as_dict() for ref, c in result.conflicts.items()},
            "values": {ref: _display(current.get(ref)) for ref in saved},
            "computed": {spec.ref: _display(current.get(spec.ref)) for spec in report.spec.cells() if spec.computed},
            "changes": _change_feed(
                report, request.user, result.document, version, exclude_event=result.event.pk if result.event else None
            ),
            "saved_at": timezone.localtime(report.updated_at).strftime("%H:%M:%S"),
            **_findings_payload(report, step, result.document),
        }
    )


@login_required
@require_GET
def changes(request: HttpRequest, org_code: str, year: int) -> JsonResponse:
    """What changed since version N (from the audit trail), and who else has the report open."""
    report = permissions.clerk_report(request.user, org_code, year)
    since = _posted_version(request.GET.get("since"))
    if since is None:
        return _bad_request(request, "版本号须为整数。", code="bad_version", as_json=True)
    step = next((s for s in steps(report.spec) if s.code == (request.GET.get("step") or BASIC)), None)
    if step is None:
        return JsonResponse({"ok": False, "code": "unknown_step", "message": "没有这一步。"}, status=404)
    editing.mark_present(report, request.user, step.code)
    titles = {s.code: s.title for s in steps(report.spec)}
    data: dict[str, Any] = {
        "ok": True,
        "version": report.version,
        "editable": report.status in services.EDITABLE_STATUSES,
        "status": report.get_status_display(),
        "editors": [
            {"name": entry["name"], "step": titles.get(entry["step"], "")}
            for entry in editing.present_users(report, exclude=request.user)
        ],
        "changes": [],
    }
    # Nothing new, the common case, costs no audit or rules query.
    if report.version > since:
        doc = export_report(report)
        data["changes"] = _change_feed(report, request.user, doc, since)
        current = _values(doc, report)
        data["computed"] = {spec.ref: _display(current.get(spec.ref)) for spec in report.spec.cells() if spec.computed}
        data |= _findings_payload(report, step, doc)
    return JsonResponse(data)


def _display(value: Any) -> str:
    return "" if value is None else str(value)


@login_required
@require_POST
def no_applications(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    """本年度未收到政府信息公开申请: every cell of table 三 becomes 0.

    Decided per cell against the page's version: a cell someone else changed
    since is left as they wrote it and named in the message.
    """
    report = permissions.clerk_report(request.user, org_code, year)
    version = _posted_version(request.POST.get("version"))
    if version is None:
        return _bad_request(request, NO_VERSION_MESSAGE, code="bad_version", as_json=False)
    fmt = report.spec
    cells = {spec.ref: "0" for spec in fmt.cells() if spec.section == "applications" and not spec.computed}
    try:
        result = services.save_edits(
            report, actor=request.user, expected_version=version, cells=cells, action="report.no_applications"
        )
    except services.NotEditable as exc:
        messages.error(request, exc.message)
    except editing.InvalidEdit as exc:
        return _bad_request(request, exc.message, code=exc.code, as_json=False)
    else:
        # Refused cells, and cells someone changed from a 0 this page showed (no edit, so no conflict).
        kept = [ref for ref in cells if get_path(result.document, ref) != 0]
        if kept:
            names = "、".join(fmt.label_of(ref) for ref in kept)
            messages.warning(request, f"以下单元格已被他人修改，未填为0，请核对：{names}")
        else:
            messages.success(request, "已将表三全部填为0。")
    return redirect(_report_url(report, "applications"))


@login_required
@require_POST
def explain(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    report = permissions.clerk_report(request.user, org_code, year)
    try:
        services.explain_finding(report, request.POST.get("key", ""), request.POST.get("text", ""), actor=request.user)
    except services.NotEditable as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "说明已保存。")
    return redirect(safe_next(request, _report_url(report, PREVIEW)))


@login_required
@require_POST
def submit(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    report = permissions.clerk_report(request.user, org_code, year)
    try:
        workflow.transition(report, workflow.Action.SUBMIT, actor=request.user)
    except workflow.TransitionRefused as exc:
        messages.error(request, exc.message)
        return redirect(_report_url(report, SUBMIT))
    messages.success(request, "报告已提交审核。")
    return redirect("workspace:dashboard")
