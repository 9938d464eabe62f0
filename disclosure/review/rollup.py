"""The roll-up pages (issue 15, ADR 0016): a subtree's figures summed in the statutory
layout with its coverage, as CSV and Excel; 从下级汇总填入 for a government's clerk;
what a government's report covers (本级 / 汇总), set by its supervisors.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from .. import permissions
from ..downloads import XLSX, disposition
from ..formats import FIRST_YEAR, CellKind
from ..jurisdiction.rollup import (
    CHILDREN,
    FINAL_STATUSES,
    SCOPES,
    Rollup,
    build_rollup,
    display_value,
    in_unit,
    scope_note,
    scope_q,
)
from ..layout import grids, html_rows
from ..models import Membership, Organization, Report
from ..selectors import dashboard_organizations, export_report
from ..services.editing import NotEditable, display, edit_values
from ..services.rollup import (
    RollupRefused,
    fill_from_rollup,
    may_see_drafts,
    offerable,
    report_unit,
    set_report_scope,
)
from ..text import spreadsheet_safe

DRAFTS_MARK = "含未审核报告（草稿、已提交、已退回）的数字，仅供参考"
FINAL_MARK = "仅含已审核、已发布的报告"


def _supervised(user, org_code: str) -> Organization:
    """An organization whose subtree this user supervises; 404 for everyone else."""
    org = Organization.objects.filter(code=org_code).first()
    if org is None or Membership.Role.SUPERVISOR not in permissions.roles_for(user, org):
        raise Http404("没有找到这个机关。")
    return org


def _year(year: int) -> int:
    if year < FIRST_YEAR or year > 9999:
        raise Http404("没有这个年度。")
    return year


def _choices(request: HttpRequest) -> tuple[str, bool]:
    scope = request.GET.get("scope", CHILDREN)
    return (scope if scope in SCOPES else CHILDREN), request.GET.get("drafts") == "1"


def _sections(rollup: Rollup, values: dict[str, Any], unit: str | None = None) -> list[dict]:
    """The statutory grids; amounts headed in ``unit`` (the roll-up sums in the default one)."""
    out = []
    for grid in grids(rollup.fmt, unit or rollup.fmt.unit_of(None)):
        head, body = html_rows(grid, values)
        out.append({"grid": grid, "grid_head": head, "grid_body": body})
    return out


def _rollup_values(rollup: Rollup) -> dict[str, dict]:
    return {
        ref: {
            "text": rollup.display(ref),
            "blanks": cell.blanks,
            "known": rollup.display_known(ref),
            "inputs": cell.inputs,
        }
        for ref, cell in rollup.cells.items()
    }


def _basis(drafts: bool, note: str = "") -> str:
    """数据口径 (which statuses count) and, on screen, which organizations' reports count."""
    mark = DRAFTS_MARK if drafts else FINAL_MARK
    return f"{mark}。{note}" if note else mark


@login_required
@require_GET
def rollup_page(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    """A subtree's roll-up for a year: a fixed number of queries whatever its size."""
    org = _supervised(request.user, org_code)
    year = _year(year)
    scope, drafts = _choices(request)
    rollup = build_rollup(org, year, scope=scope, drafts=drafts, cached=True)
    query = {"scope": scope, **({"drafts": "1"} if drafts else {})}
    parent = None
    if org.parent_id and Membership.Role.SUPERVISOR in permissions.roles_for(request.user, org.parent):
        parent = org.parent
    return render(
        request,
        "review/rollup.html",
        {
            "org": org,
            "year": year,
            "rollup": rollup,
            "scope": scope,
            "drafts": drafts,
            "scopes": SCOPES.items(),
            "basis": _basis(drafts, rollup.note),
            "sections": _sections(rollup, _rollup_values(rollup)),
            "query": urlencode(query),
            "parent": parent,
            "scope_choices": Organization.Scope.choices,
        },
    )


# -- exports ------------------------------------------------------------------------------

CELL_HEADER = ["单元格代码", "表格", "项目", "行", "栏目", "汇总数", "计入报告数", "空白份数", "已填部分合计"]
COVERAGE_HEADER = ["机关代码", "机关名称", "类型", "报告状态", "是否计入汇总"]


def _head_rows(org: Organization, year: int, scope: str, drafts: bool) -> list[list[Any]]:
    """What the export is, known before anything is summed."""
    rows = [["汇总", f"{org.name}{year}年度 · {SCOPES[scope]}"], ["数据口径", _basis(drafts)]]
    note = scope_note(org, scope)
    if note:
        rows.append(["计入规则", note])
    return rows


def _count_rows(rollup: Rollup) -> list[list[Any]]:
    counts = rollup.counts
    return [
        ["机关数", counts["orgs"]],
        ["计入汇总的报告", counts["included"]],
        ["尚无报告的机关", counts["missing"]],
        ["报告未审核（未计入）", counts["pending"]],
    ]


def _cell_rows(rollup: Rollup) -> Iterator[list[Any]]:
    fmt = rollup.fmt
    for spec in fmt.cells():
        cell = rollup.cells[spec.ref]
        yield [
            spec.ref,
            fmt.section(spec.section).title,
            spec.table_label,
            spec.row_label,
            spec.column_label,
            rollup.display(spec.ref),
            cell.inputs,
            cell.blanks,
            rollup.display_known(spec.ref),
        ]


def _coverage_rows(rollup: Rollup) -> Iterator[list[Any]]:
    """Every organization of the roll-up's scope (streamed in batches, not limited)."""
    chosen = set(FINAL_STATUSES) | ({"draft", "submitted", "returned"} if rollup.drafts else set())
    rows = (
        dashboard_organizations(rollup.year)
        .filter(scope_q(rollup.root, rollup.scope))
        .order_by("path", "code")
        .values_list("code", "name", "kind", "report_status")
    )
    kinds = dict(Organization.Kind.choices)
    statuses = dict(Report.Status.choices)
    for code, name, kind, status in rows.iterator(chunk_size=1000):
        yield [
            code,
            name,
            kinds.get(kind, kind),
            statuses.get(status, "未创建"),
            "是" if status in chosen else "否",
        ]


def _export_rows(rollup: Rollup) -> Iterator[list[Any]]:
    yield from _count_rows(rollup)
    yield []
    yield CELL_HEADER
    yield from _cell_rows(rollup)
    yield []
    yield COVERAGE_HEADER
    yield from _coverage_rows(rollup)


class _Echo:
    def write(self, value: str) -> str:
        return value


def _filename(org: Organization, year: int, scope: str, drafts: bool, ext: str) -> tuple[str, str]:
    mark = "（含草稿）" if drafts else ""
    name = f"{org.name}{year}年度汇总（{SCOPES[scope]}）{mark}.{ext}"
    ascii_name = f"rollup-{org.code}-{year}-{scope}{'-drafts' if drafts else ''}.{ext}"
    return name, ascii_name


def _build(org: Organization, year: int, scope: str, drafts: bool) -> Rollup:
    return build_rollup(org, year, scope=scope, drafts=drafts, lists=False, cached=True)


def _csv_response(org: Organization, year: int, scope: str, drafts: bool) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # Excel reads UTF-8 only with a BOM
        # The heading goes out before the sums are read: the download starts at once.
        for row in _head_rows(org, year, scope, drafts):
            yield writer.writerow([spreadsheet_safe(v) for v in row])
        for row in _export_rows(_build(org, year, scope, drafts)):
            yield writer.writerow([spreadsheet_safe(v) for v in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = disposition(True, *_filename(org, year, scope, drafts, "csv"))
    return response


def _xlsx_response(org: Organization, year: int, scope: str, drafts: bool) -> HttpResponse:
    from openpyxl import Workbook

    rollup = _build(org, year, scope, drafts)
    workbook = Workbook(write_only=True)  # streamed rows: memory stays flat at province size
    sheet = workbook.create_sheet("汇总")
    for row in _head_rows(org, year, scope, drafts) + _count_rows(rollup):
        sheet.append([spreadsheet_safe(v) for v in row])
    sheet.append([])
    sheet.append(CELL_HEADER)
    amounts = {spec.ref for spec in rollup.fmt.cells() if spec.kind == "amount"}
    for row in _cell_rows(rollup):
        # Numbers as numbers (amounts as their text: four places, exactly).
        for i in (5, 8):
            if row[i] != "" and row[0] not in amounts:
                row[i] = int(row[i])
        sheet.append([spreadsheet_safe(v) for v in row])
    coverage = workbook.create_sheet("覆盖情况")
    coverage.append(COVERAGE_HEADER)
    for row in _coverage_rows(rollup):
        coverage.append([spreadsheet_safe(v) for v in row])
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = disposition(True, *_filename(org, year, scope, drafts, "xlsx"))
    return response


@login_required
@require_GET
def rollup_export(request: HttpRequest, org_code: str, year: int, ext: str) -> HttpResponse:
    org = _supervised(request.user, org_code)
    scope, drafts = _choices(request)
    respond = _csv_response if ext == "csv" else _xlsx_response
    return respond(org, _year(year), scope, drafts)


# -- 从下级汇总填入 --------------------------------------------------------------------------


def _fill_values(
    rollup: Rollup, current: dict[str, Any], offers: dict[str, str], unit: str | None = None
) -> dict[str, dict]:
    fmt = rollup.fmt
    out = {}
    for spec in fmt.cells():
        mine = display(current.get(spec.ref))
        cell = rollup.cells[spec.ref]
        if spec.kind == CellKind.AMOUNT:  # in the report's own unit, like the offers
            summed = offers.get(spec.ref) or display_value(fmt, spec.ref, _in(cell.value, unit))
            known = display_value(fmt, spec.ref, _in(cell.known, unit))
        else:
            summed = offers.get(spec.ref, rollup.display(spec.ref))
            known = rollup.display_known(spec.ref)
        out[spec.ref] = {
            "current": mine,
            "rollup": summed,
            "blanks": cell.blanks if not spec.computed else 0,
            "known": known,
            "offer": spec.ref in offers and offers[spec.ref] != mine,
            "same": bool(summed) and summed == mine,
            "label": fmt.label_of(spec.ref),
        }
    return out


def _in(value: Any, unit: str | None) -> Any:
    return None if value is None else in_unit(value, unit)


@login_required
def rollup_fill(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    """从下级汇总填入: per table, the report's figures beside the roll-up of the direct
    children; the clerk accepts cells or whole tables, nothing is written otherwise."""
    report = permissions.clerk_report(request.user, org_code, year)
    org = report.organization
    if org.kind != Organization.Kind.GOVERNMENT or org.report_scope != Organization.Scope.ROLLUP:
        raise Http404("本机关的报告范围为“本级”，不从下级汇总填入。")
    data = request.POST if request.method == "POST" else request.GET
    drafts = data.get("drafts") == "1"
    drafts_allowed = may_see_drafts(request.user, org)
    if drafts and not drafts_allowed:
        # A clerk as such does not see the sums of its children's unapproved reports.
        messages.info(request, "含未审核报告的汇总数只对上级政务公开主管部门显示，下面只汇总已审核、已发布的报告。")
        drafts = False
    here = reverse("review:rollup_fill", args=[org.code, report.year]) + ("?drafts=1" if drafts else "")
    if request.method == "POST":
        rollup = build_rollup(org, report.year, scope=CHILDREN, drafts=drafts, lists=False)
        offers = offerable(rollup, report_unit(report))
        current = edit_values(export_report(report), report)
        table = data.get("table", "")
        if table:
            refs = [
                ref
                for ref in offers
                if rollup.fmt.cell(ref).section == table and offers[ref] != display(current.get(ref))
            ]
        else:
            refs = data.getlist("cell")
        if not refs:
            messages.info(request, "没有选择要采用的汇总数。")
            return redirect(here)
        shown = {ref: data.get(f"shown:{ref}", "") for ref in refs}
        bases = {ref: data.get(f"base:{ref}", "") for ref in refs}
        try:
            result = fill_from_rollup(report, actor=request.user, refs=refs, shown=shown, bases=bases, drafts=drafts)
        except (NotEditable, RollupRefused) as exc:
            messages.error(request, exc.message)
            return redirect(here)
        if result.written:
            messages.success(request, f"已采用{len(result.written)}个单元格的汇总数。")
        if result.changed:
            messages.warning(
                request, f"{len(result.changed)}个单元格的汇总数在您查看后有变化，未填入，请核对后重新采用。"
            )
        if result.save is not None and result.save.conflicts:
            for conflict in result.save.conflicts.values():
                messages.warning(request, conflict.message)
        if result.unavailable:
            messages.warning(request, f"{len(result.unavailable)}个单元格无法从汇总填入（下级报告空白或为合计栏）。")
        return redirect(here)
    rollup = build_rollup(org, report.year, scope=CHILDREN, drafts=drafts)
    current = edit_values(export_report(report), report)
    offers = offerable(rollup, report_unit(report))
    values = _fill_values(rollup, current, offers, report_unit(report))
    sections = _sections(rollup, values, report_unit(report))  # the figures are in the report's unit
    for section in sections:
        section["offers"] = sum(
            1 for ref, v in values.items() if v["offer"] and rollup.fmt.cell(ref).section == section["grid"].code
        )
    return render(
        request,
        "review/rollup_fill.html",
        {
            "report": report,
            "org": org,
            "year": report.year,
            "rollup": rollup,
            "drafts": drafts,
            "basis": _basis(drafts, rollup.note),
            "drafts_allowed": drafts_allowed,
            "sections": sections,
            "editable": report.status in (Report.Status.DRAFT, Report.Status.RETURNED),
            "offers": sum(1 for v in values.values() if v["offer"]),
        },
    )


# -- what a government's report covers -------------------------------------------------------


@login_required
@require_POST
def rollup_scope(request: HttpRequest, org_code: str) -> HttpResponse:
    """本级 or 本级及所属部门汇总: the organization's supervisors decide, audited."""
    org = _supervised(request.user, org_code)
    try:
        set_report_scope(org, request.POST.get("report_scope", ""), actor=request.user)
    except RollupRefused as exc:
        messages.error(request, exc.message)
    else:
        org.refresh_from_db()
        messages.success(request, f"{org.name}的报告范围已设为“{org.get_report_scope_display()}”。")
    year = request.POST.get("year", "")
    if year.isdigit():
        return redirect(reverse("review:rollup", args=[org.code, int(year)]))
    return redirect(reverse("review:dashboard") + f"?org={org.code}")
