"""The clerk's workspace: dashboard, the step-by-step report, autosave, submission.

Views stay thin: permissions come from ``permissions``, writes from
``services`` and ``workflow``, reads from ``selectors``.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from .. import permissions, services, workflow
from ..calendar import current_report_year, deadline
from ..formats import FIRST_YEAR
from ..layout import grids, html_rows
from ..models import Report
from ..navigation import safe_next
from ..pdf.presentation import report_context
from ..rules import Finding, Severity, check_document
from ..selectors import check_report, comment_threads, completeness, export_report, previous_document, report_queryset
from ..wizard import BASIC, PREVIEW, SUBMIT, Step, step_of_ref, step_parts, steps

# Document refs (as in the audit trail) of the header fields, and their form names.
HEADER_OF = {"title": "header.title", "issued_on": "header.issued_on", "organization.name": "header.organization_name"}


def _report_url(report: Report, step: str = BASIC) -> str:
    return reverse("workspace:step", args=[report.organization.code, report.year, step])


@login_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate()
    offices = []
    for org in permissions.clerk_organizations(request.user).order_by("name"):
        # A people's government reports until 31 March, its departments until 31 January.
        year = current_report_year(today, government_level=org.is_government)
        reports = []
        for report in report_queryset().filter(organization=org).order_by("-year"):
            doc = export_report(report)
            findings = check_report(report, doc)
            reports.append(
                {
                    "report": report,
                    "url": _report_url(report),
                    "completeness": round(completeness(doc) * 100),
                    "errors": sum(f.severity == Severity.ERROR for f in findings),
                    "warnings": sum(f.severity == Severity.WARNING for f in findings),
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
    return render(request, "workspace/dashboard.html", {"offices": offices, "first_year": FIRST_YEAR})


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
    values = services.flatten(doc)
    values.update(
        {
            "header.title": doc["title"],
            "header.organization_name": doc["organization"]["name"],
            "header.issued_on": doc["issued_on"] or "",
            "header.procurement_unit": report.procurement_unit,
        }
    )
    return values


def _findings_for(findings: list[Finding], report: Report, step: Step | None) -> list[dict]:
    fmt = report.spec
    shown = []
    for f in findings:
        target = step_of_ref(fmt, f.cells[0]) if f.cells else BASIC
        if step is None or step.code in {PREVIEW, SUBMIT} or target == step.code:
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


def _step_context(report: Report, step: Step, *, values: dict | None = None, errors: dict | None = None) -> dict:
    fmt = report.spec
    doc = export_report(report)
    values = {**_values(doc, report), **(values or {})}
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
        context["preview"] = report_context(doc, draft=True, revision=report.version)["report"]
    context["grid_config"] = {
        "applicant": [c.code for c in fmt.applicant_columns],
        "columns": [c.code for c in fmt.applications_columns],
        "outcomeRows": [r.code for r in fmt.outcome_rows],
        "reviewBlocks": [b.code for b in fmt.reviews_blocks],
        "reviewParts": [c.code for c in fmt.reviews_parts],
    }
    findings = check_document(doc, last)
    if step.code == SUBMIT:
        context["readiness"] = workflow.readiness(report, findings)
    # Reviewers' comments at their place: this step's cells and parts, and the
    # report as a whole on every step.
    context["threads"] = [
        t
        for t in comment_threads(report)
        if t["comment"].anchor == "report" or step_of_ref(fmt, t["comment"].anchor) == step.code
    ]
    context["commented"] = {t["comment"].anchor for t in context["threads"] if not t["comment"].resolved_at}
    context["findings"] = _findings_for(findings, report, step)
    context["counts"] = {s.value: sum(f.severity == s for f in findings) for s in Severity}
    per_step = Counter(item["step"] for item in _findings_for(findings, report, None))
    context["step_counts"] = {s.code: per_step[s.code] for s in all_steps}
    return context


def _split_posted(data) -> tuple[int | None, dict[str, str]]:
    """Form fields are named by ref; one flat mapping, as the autosave sends."""
    version = data.get("version")
    values = {k: v for k, v in data.items() if "." in k and not k.startswith("csrf")}
    return (int(version) if version not in (None, "") else None), values


def _save(report: Report, user, version: int | None, values: dict[str, Any]) -> services.SaveResult:
    cells, narrative, header = {}, {}, {}
    for ref, text in values.items():
        if ref.startswith("narrative."):
            narrative[ref.removeprefix("narrative.")] = text
        elif ref.startswith("header."):
            header[ref.removeprefix("header.")] = text
        else:
            cells[ref] = text
    return services.save_edits(
        report, actor=user, expected_version=version, cells=cells, narrative=narrative, header=header
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
        version, values = _split_posted(request.POST)
        target = request.POST.get("goto") or step.code
        if report.status not in services.EDITABLE_STATUSES:
            # Read-only: the step buttons only navigate.
            return redirect(_report_url(report, _get_step(report, target).code))
        try:
            result = _save(report, request.user, version, values)
        except services.StaleVersion as exc:
            # Show what the other person saved, not the stale values this form posted.
            changed = set(exc.changes) | {HEADER_OF.get(ref, ref) for ref in exc.changes}
            kept = {ref: value for ref, value in values.items() if ref not in changed}
            context = _step_context(Report.objects.get(pk=report.pk), step, values=kept)
            context["conflict"] = _conflict(report, exc)
            return render(request, "workspace/step.html", context, status=409)
        except services.NotEditable as exc:
            messages.error(request, exc.message)
            return redirect(_report_url(report, step.code))
        if result.errors:
            context = _step_context(result.report, step, values=values, errors=result.errors)
            return render(request, "workspace/step.html", context, status=422)
        return redirect(_report_url(report, _get_step(report, target).code))
    return render(request, "workspace/step.html", _step_context(report, step))


def _conflict(report: Report, exc: services.StaleVersion) -> dict[str, Any]:
    fmt = report.spec
    changes = []
    for ref, value in exc.changes.items():
        try:
            label = fmt.label_of(ref)
        except KeyError:  # a transition changed the status
            label = str(Report._meta.get_field(ref).verbose_name) if ref == "status" else ref
        changes.append({"ref": ref, "form_ref": HEADER_OF.get(ref, ref), "label": label, "value": value})
    return {"message": exc.message, "version": exc.current_version, "changes": changes}


@login_required
@require_POST
def autosave(request: HttpRequest, org_code: str, year: int) -> JsonResponse:
    report = permissions.clerk_report(request.user, org_code, year)
    try:
        payload = json.loads(request.body or b"{}")
        version = int(payload["version"])
        values = dict(payload.get("values", {}))
        step = _get_step(report, payload.get("step") or BASIC)
    except (ValueError, KeyError, TypeError):
        return JsonResponse({"ok": False, "message": "请求格式不正确。"}, status=400)
    try:
        result = _save(report, request.user, version, values)
    except services.StaleVersion as exc:
        refreshed = Report.objects.get(pk=report.pk)
        current = _values(export_report(refreshed), refreshed)
        conflict = _conflict(refreshed, exc)
        conflict["values"] = {
            HEADER_OF.get(c["ref"], c["ref"]): _display(current.get(HEADER_OF.get(c["ref"], c["ref"]), c["value"]))
            for c in conflict["changes"]
        }
        return JsonResponse({"ok": False, "conflict": conflict}, status=409)
    except services.NotEditable as exc:
        return JsonResponse({"ok": False, "message": exc.message}, status=409)
    report = result.report
    current = _values(result.document, report)
    return JsonResponse(
        {
            "ok": True,
            "version": report.version,
            "errors": result.errors,
            "values": {ref: _display(current.get(ref)) for ref in values if ref not in result.errors},
            "computed": {spec.ref: _display(current.get(spec.ref)) for spec in report.spec.cells() if spec.computed},
            "saved_at": timezone.localtime(report.updated_at).strftime("%H:%M:%S"),
            **_findings_payload(report, step, result.document),
        }
    )


def _display(value: Any) -> str:
    return "" if value is None else str(value)


@login_required
@require_POST
def no_applications(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    """本年度未收到政府信息公开申请: every cell of table 三 becomes 0."""
    report = permissions.clerk_report(request.user, org_code, year)
    fmt = report.spec
    cells = {spec.ref: "0" for spec in fmt.cells() if spec.section == "applications" and not spec.computed}
    try:
        services.save_edits(
            report, actor=request.user, expected_version=None, cells=cells, action="report.no_applications"
        )
    except services.NotEditable as exc:
        messages.error(request, exc.message)
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
