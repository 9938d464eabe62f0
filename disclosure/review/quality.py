"""The supervisor's jurisdiction pages (issue 15): completeness and timeliness per
level, data quality (findings by rule, outliers) and the 已核实 mark.

Supervisors only, within the subtrees they supervise; anyone else gets 404.
Each page costs a fixed number of queries whatever the subtree's size.
"""

from __future__ import annotations

import csv
import io
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from ..calendar import current_report_year
from ..downloads import XLSX, disposition
from ..formats import FIRST_YEAR
from ..jurisdiction import completeness as comp
from ..jurisdiction import quality as qual
from ..models import Organization
from ..navigation import safe_next
from ..services.outliers import InvalidOutlierCheck, mark_checked
from ..text import spreadsheet_safe, whole_number

PAGE_SIZE = 50


def _year(value: str) -> int:
    today = timezone.localdate()
    year, current = whole_number(value or "", max_digits=4), current_report_year(today)
    return year if year is not None and FIRST_YEAR <= year <= current else current


def _node(request: HttpRequest) -> tuple[Organization | None, list[Organization]]:
    """The organization looked at (``?org=``, by default the user's one supervised top)
    and the supervised tops; 404 for anyone who supervises nothing there."""
    roots = comp.supervised_roots(request.user)
    if not roots:
        raise Http404("没有找到这个机关。")
    code = (request.GET.get("org") or request.POST.get("org") or "").replace("\x00", "")[:100]
    if code:
        node = Organization.objects.filter(code=code).first()
        if node is None or not comp.supervises(request.user, node):
            raise Http404("没有找到这个机关。")
        return node, roots
    return (roots[0] if len(roots) == 1 else None), roots


def _years() -> range:
    return range(current_report_year(timezone.localdate()), FIRST_YEAR - 1, -1)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


# -- completeness ---------------------------------------------------------------------------------


@login_required
@require_GET
def completeness(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year", ""))
    node, roots = _node(request)
    result = comp.level(node, roots, year)
    fmt = request.GET.get("format", "")
    if fmt in ("csv", "xlsx"):
        return _completeness_file(result, fmt)
    here = {"year": year, **({"org": node.code} if node else {})}
    rows = [{**_display(row), "place": "child"} for row in result.rows]
    own = {**_display(result.own), "place": "own"} if result.own else None
    total = {**_display({**result.total, "org": node}), "place": "total"}
    return render(
        request,
        "review/completeness.html",
        {
            "result": result,
            "node": node,
            "year": year,
            "years": _years(),
            "columns": comp.COLUMNS,
            "rows": rows,
            "own": own,
            "total": total,
            "table_rows": [*rows, *([own] if own else []), total],
            "breadcrumb": comp.breadcrumb(request.user, node),
            "curves": [_chart(c) for c in result.curve.values()],
            "here": urlencode(here),
        },
    )


def _display(row: dict) -> dict:
    cells = []
    for key, _label in comp.COLUMNS:
        rate = row["rates"].get(key) if key in comp.RATE_KEYS else None
        cells.append({"key": key, "count": row[key], "rate": percent(rate) if key in comp.RATE_KEYS else ""})
    return {**row, "cells": cells}


CHART_WIDTH, CHART_HEIGHT = 600, 200


def _chart(curve: dict) -> dict:
    """A cumulative line of first submissions as a share of the kind's organizations."""
    points = curve["points"]
    step = CHART_WIDTH / max(len(points) - 1, 1)
    top, bottom = 10, CHART_HEIGHT - 30
    coords = [(round(i * step), round(bottom - p["share"] * (bottom - top), 1)) for i, p in enumerate(points)]
    return {
        **curve,
        "width": CHART_WIDTH,
        "height": CHART_HEIGHT,
        "bottom": bottom,
        "polyline": " ".join(f"{x},{y}" for x, y in coords),
        "marks": [{"x": x, "y": y, "point": p} for (x, y), p in zip(coords, points, strict=True)],
        "final": percent(curve["submitted"] / curve["expected"]) if curve["expected"] else "—",
    }


def _completeness_records(result: comp.Level):
    header = ["机关代码", "机关", "层级"]
    for key, label in comp.COLUMNS:
        header.append(label)
        if key in comp.RATE_KEYS:
            header.append(f"{label}率")
    yield header
    rows = [(row, "下级") for row in result.rows]
    if result.own:
        rows.append((result.own, "本级"))
    rows.append(({**result.total, "org": result.node}, "合计"))
    for row, kind in rows:
        org = row["org"]
        name = org.name if org else "全部"
        if kind == "合计":
            name = f"{name}（合计）"
        record = [org.code if org else "", spreadsheet_safe(name), kind]
        for key, _label in comp.COLUMNS:
            record.append(row[key])
            if key in comp.RATE_KEYS:
                record.append(percent(row["rates"][key]))
        yield record


def _completeness_file(result: comp.Level, fmt: str) -> HttpResponse:
    name = f"{result.year}年度报告完成情况{'·' + result.node.name if result.node else ''}"
    ascii_name = f"completeness-{result.year}{'-' + result.node.code if result.node else ''}"
    if fmt == "csv":
        out = io.StringIO()
        out.write("\ufeff")  # Excel reads a UTF-8 CSV only with a BOM
        csv.writer(out).writerows(_completeness_records(result))
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    else:
        from openpyxl import Workbook

        book = Workbook(write_only=True)
        sheet = book.create_sheet("完成情况")
        for record in _completeness_records(result):
            sheet.append(record)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(buffer.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = disposition(True, f"{name}.{fmt}", f"{ascii_name}.{fmt}")
    return response


# -- quality --------------------------------------------------------------------------------------


@login_required
@require_GET
def quality(request: HttpRequest) -> HttpResponse:
    year = _year(request.GET.get("year", ""))
    node, roots = _node(request)
    scope = [node] if node else roots
    found = qual.summary(scope, year)
    rule = request.GET.get("rule", "")
    breaking = None
    if rule in qual.RULES:
        breaking = Paginator(qual.reports_breaking(scope, year, rule), PAGE_SIZE).get_page(request.GET.get("page"))
    history = Paginator(found["history"], PAGE_SIZE).get_page(request.GET.get("hpage"))
    peers = Paginator(found["peers"], PAGE_SIZE).get_page(request.GET.get("ppage"))
    here = {"year": year, **({"org": node.code} if node else {})}
    return render(
        request,
        "review/quality.html",
        {
            "node": node,
            "year": year,
            "years": _years(),
            "breadcrumb": comp.breadcrumb(request.user, node),
            "findings": found["findings"],
            "computed_at": found["computed_at"],
            "listed_max": qual.MAX_LISTED,
            "rule": rule if breaking is not None else "",
            "rule_name": qual.rule_name(rule) if breaking is not None else "",
            "breaking": breaking,
            "history": history,
            "history_rows": [qual.describe_history(r) for r in history.object_list],
            "peers": peers,
            "peer_rows": [qual.describe_peer(r, found["averages"]) for r in peers.object_list],
            "here": urlencode(here),
            "ratio": qual.RATIO,
            "floor": qual.FLOOR,
            "peer_ratio": qual.PEER_RATIO,
            "peer_minimum": qual.PEER_MINIMUM,
            "this_url": request.get_full_path(),
        },
    )


@login_required
@require_POST
def outlier_check(request: HttpRequest) -> HttpResponse:
    year = _year(request.POST.get("year", ""))
    code = (request.POST.get("organization") or "").replace("\x00", "")[:100]
    organization = Organization.objects.filter(code=code).first()
    if organization is None or not comp.supervises(request.user, organization):
        raise Http404("没有找到这个机关。")
    fallback = f"{reverse('review:quality')}?{urlencode({'year': year})}"
    try:
        mark_checked(
            organization,
            year,
            request.POST.get("cell", ""),
            actor=request.user,
            note=request.POST.get("note", ""),
            seen_value=whole_number(request.POST.get("value", ""), max_digits=18),
        )
    except InvalidOutlierCheck as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"已将{organization.name}的这个数值标记为已核实。")
    return redirect(safe_next(request, fallback))
