"""Data quality across a subtree (issue 15): the stored rule findings grouped by
rule, and outliers in tables 三 and 四 against each office's own history and
against its peers.

Every read is an SQL aggregate or a page of rows: the rules that fired are
read from ``Report.finding_rules`` (ADR 0014), never by re-running rules, and
the outlier tests read ``CellFigure``: each report's 总计 values with last
year's value and the history test's verdict, stored when the report (or last
year's) is written (``store_figures``, called by ``services.findings``), so the
page reads a page of flagged cells instead of joining both years' rows.

Outliers are looked for in the 总计 column of table 三 (one value per row: new
applications, each outcome, carried forward) and of table 四 (each block), in
reports that have left the draft stage (a draft is still being typed):

- **history**: this year's value against the same cell last year, flagged
  when the ratio is above ``RATIO`` or below 1/``RATIO`` and the larger of
  the two is at least ``FLOOR`` (3 → 16 is noise, 30 → 160 is not; 0 → 40 is
  a jump);
- **peers**: the value against the average of the same cell in the same year
  across organizations of the same kind in the jurisdiction, flagged when it
  is more than ``PEER_RATIO`` times that average, at least ``FLOOR``, and
  there are at least ``PEER_MINIMUM`` peers.

A supervisor's 已核实 mark (``OutlierCheck``, ``services.outliers``) stops a
cell being flagged while its value stays the one that was checked.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Avg, CharField, Count, Exists, F, Max, OuterRef, Q, TextField, Value
from django.db.models.functions import Cast, Collate, Concat
from django.utils import timezone

from reportsite.cache import generation as cache_generation
from reportsite.cache import new_generation

from .. import formats as reg
from ..models import ApplicationRow, CellFigure, Organization, OutlierCheck, Report, ReviewRow
from ..permissions import subtree_q
from ..rules import RULES, Severity

RATIO = 5
FLOOR = 10
PEER_RATIO = 5
PEER_MINIMUM = 5
COLUMN = "total"  # the 总计 column of tables 三 and 四
CHECKED_STATUSES = [
    Report.Status.SUBMITTED,
    Report.Status.RETURNED,
    Report.Status.APPROVED,
    Report.Status.PUBLISHED,
]

# What each rule checks, in Chinese, for rules whose registry entry carries no
# label of its own (``Rule.label`` wins when the registry has one).
RULE_NAMES = {
    "applications.balance": "表三收支平衡（新收 + 上年结转 = 办理结果总计）",
    "applications.outcome_total": "表三办理结果总计",
    "applications.total_column": "表三“总计”列",
    "reviews.total": "表四复议诉讼合计",
    "cells.integer": "数值须为非负整数",
    "cells.required": "必填单元格",
    "amount.precision": "金额精度",
    "narrative.required": "文字部分必填",
    "narrative.numbers": "文字与表格数字一致",
    "narrative.year": "文字中的年度",
    "cross_year.carried_over": "上年结转与上年报告一致",
    "cross_year.in_force": "主动公开存量与上年衔接",
    "cross_year.previous": "上年数据与上年报告一致",
    "cross_year.outlier": "与上年相比变化异常",
    "header.issued_on": "成文日期不晚于今天",
    "hierarchy.rollup": "本级及所属部门汇总与下级报告合计一致",
    "hierarchy.undecided": "汇总核对无法判断（下级报告缺失或未审核）",
}
SEVERITY_LABELS = {Severity.ERROR: "错误", Severity.WARNING: "警示", Severity.INFO: "提示"}


def rule_name(code: str) -> str:
    rule = RULES.get(code)
    return getattr(rule, "label", "") or RULE_NAMES.get(code) or code


# -- findings by rule --------------------------------------------------------------------------


def _reports(scope: list[Organization], year: int):
    return Report.objects.filter(year=year).filter(subtree_q(scope, "organization__"))


def _with_rules_text(reports):
    # The stored list as text ('["a", "b"]' on both databases): a quoted code is one rule.
    return reports.annotate(rules_text=Cast("finding_rules", TextField()))


def _fired(code: str) -> Q:
    return Q(rules_text__contains=f'"{code}"')


def findings_by_rule(scope: list[Organization], year: int) -> dict:
    """How many reports of the subtree each rule fired on, in one query.

    Grouped by the stored list of rules: a subtree has few distinct lists (most
    reports break the same few rules or none), so the counting per rule is
    done here over a handful of groups instead of once per rule per report.
    """
    codes = list(RULES)
    fired = dict.fromkeys(codes, 0)
    found = {"reports": 0, "with_errors": 0, "with_warnings": 0}
    groups = (
        _with_rules_text(_reports(scope, year))
        .values("rules_text")
        .annotate(
            reports=Count("pk"),
            with_errors=Count("pk", filter=Q(error_count__gt=0)),
            with_warnings=Count("pk", filter=Q(warning_count__gt=0)),
        )
        .order_by()
        if scope
        else []
    )
    for group in groups:
        for name in found:
            found[name] += group[name]
        for code in set(json.loads(group["rules_text"] or "[]")) & fired.keys():
            fired[code] += group["reports"]
    rules = [
        {
            "code": code,
            "name": rule_name(code),
            "severity": RULES[code].severity,
            "severity_label": SEVERITY_LABELS.get(RULES[code].severity, ""),
            "reports": fired[code],
        }
        for code in codes
    ]
    rules = [r for r in rules if r["reports"]]
    rules.sort(key=lambda r: (r["severity"] != Severity.ERROR, -r["reports"], r["code"]))
    return {
        "rules": rules,
        "reports": found["reports"],
        "with_errors": found["with_errors"],
        "with_warnings": found["with_warnings"],
    }


def reports_breaking(scope: list[Organization], year: int, code: str):
    """The reports a rule fired on (a queryset, to be paginated)."""
    return (
        _with_rules_text(_reports(scope, year))
        .filter(_fired(code))
        .select_related("organization__parent")
        .order_by("organization__parent__name", "organization__name", "pk")
    )


# -- outliers -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """A table whose 总计 column is looked at: its model, section and row key."""

    model: type
    section: str
    key: str  # the row field: "row" in table 三, "block" in table 四

    def codes(self, fmt: reg.Format) -> set[str]:
        rows = fmt.applications_rows if self.section == "applications" else fmt.reviews_blocks
        return {r.code for r in rows}


SOURCES = [Source(ApplicationRow, "applications", "row"), Source(ReviewRow, "reviews", "block")]
SOURCE_BY_SECTION = {s.section: s for s in SOURCES}


def cell_ref(section: str, key: str) -> str:
    return f"{section}.{key}.{COLUMN}"


def cell_label(format_code: str, section: str, key: str) -> str:
    return reg.get_format(format_code).label_of(cell_ref(section, key))


def is_jump(value: int, previous: int | None) -> bool:
    """This year's value against last year's: a ratio beyond ``RATIO`` either way, above the floor."""
    if previous is None:
        return False
    if value < FLOOR and previous < FLOOR:
        return False
    return value > previous * RATIO or previous > value * RATIO


def derive_figures(report_ids: Iterable[int]) -> list[CellFigure]:
    """The stored figures of the given reports, from their rows and last year's (unsaved).

    A fixed number of queries for any number of reports: the command re-derives
    a province in chunks with it, a write re-derives one or two reports.
    """
    reports = list(Report.objects.filter(pk__in=list(report_ids)).values_list("pk", "organization_id", "year"))
    if not reports:
        return []
    last = {
        (org, year): pk
        for pk, org, year in Report.objects.filter(
            organization_id__in={org for _, org, _ in reports}, year__in={year - 1 for _, _, year in reports}
        ).values_list("pk", "organization_id", "year")
    }
    wanted = {pk: last.get((org, year - 1)) for pk, org, year in reports}
    ids = set(wanted) | {pk for pk in wanted.values() if pk is not None}
    values: dict[tuple[int, str, str], int | None] = {}
    for source in SOURCES:
        rows = source.model.objects.filter(report_id__in=ids).values_list("report_id", source.key, COLUMN)
        values |= {(report_id, source.section, key): value for report_id, key, value in rows}
    years = {pk: year for pk, _, year in reports}
    figures = []
    for (report_id, section, key), value in values.items():
        if report_id not in wanted or value is None:
            continue
        before = wanted[report_id]
        previous = None if before is None else values.get((before, section, key))
        figures.append(
            CellFigure(
                report_id=report_id,
                year=years[report_id],
                section=section,
                key=key,
                value=value,
                previous=previous,
                jump=is_jump(value, previous),
            )
        )
    return figures


def store_figures(report_ids: Iterable[int]) -> int:
    """Derive and store the figures of the given reports (an upsert: a concurrent
    write of the same report leaves one row per cell); returns the rows stored."""
    report_ids = list(report_ids)
    figures = derive_figures(report_ids)
    kept = {(f.report_id, f.section, f.key) for f in figures}
    stale = [
        pk
        for pk, report_id, section, key in CellFigure.objects.filter(report_id__in=report_ids).values_list(
            "pk", "report_id", "section", "key"
        )
        if (report_id, section, key) not in kept
    ]
    if stale:
        CellFigure.objects.filter(pk__in=stale).delete()
    CellFigure.objects.bulk_create(
        figures,
        batch_size=2000,
        update_conflicts=True,
        unique_fields=["report", "section", "key"],
        update_fields=["year", "value", "previous", "jump"],
    )
    return len(figures)


def _checked():
    """The cell was marked 已核实 at its present value."""
    return Exists(
        OutlierCheck.objects.filter(
            organization_id=OuterRef("report__organization_id"),
            year=OuterRef("year"),
            cell=Concat(
                OuterRef("section"), Value("."), OuterRef("key"), Value(f".{COLUMN}"), output_field=CharField()
            ),
            value=OuterRef("value"),
        )
    )


def _figures(scope: list[Organization], year: int, sections: Iterable[str]):
    return CellFigure.objects.filter(year=year, section__in=list(sections), report__status__in=CHECKED_STATUSES).filter(
        subtree_q(scope, "report__organization__")
    )


FIELDS = [
    "report__organization_id",
    "report__organization__code",
    "report__organization__name",
    "report__organization__kind",
    "report__format",
    "section",
    "key",
    "previous",
]
ORDER = ("report__organization__parent__name", "report__organization__name", "key")


def _by_name(field: str):
    # Python's order of strings (code points), as the page sorted its lists before.
    return Collate(field, "C") if connection.vendor == "postgresql" else F(field)


def _values(figures, order: tuple | None = None):
    """The flagged cells as plain rows, the same shape for every table."""
    rows = figures.annotate(checked=_checked()).filter(checked=False).values(*FIELDS, **{COLUMN: F("value")})
    if order is None:  # the page's order: by office, table 三 before table 四, then row
        order = (_by_name("report__organization__name"), "report__organization_id", "section", _by_name("key"))
    return rows.order_by(*order)


def history_outliers(scope: list[Organization], year: int, source: Source | None = None):
    """Cells whose value jumps against the same office's value last year (values, to paginate);
    one table's, or both tables' in the page's order."""
    sections = [s.section for s in SOURCES] if source is None else [source.section]
    return _values(_figures(scope, year, sections).filter(jump=True), None if source is None else ORDER)


def previous_values(rows: list[dict], year: int) -> dict[tuple[int, str, str], int | None]:
    """Last year's values of the given cells, as stored with them (no query)."""
    return {(r["report__organization_id"], r["section"], r["key"]): r.get("previous") for r in rows}


def _peer_figures(scope: list[Organization], year: int) -> dict[tuple[str, str, str], tuple[float, int, int]]:
    """Average, count and largest value of each cell per kind of organization across the subtree,
    both tables (one query)."""
    if not scope:
        return {}
    found = (
        _figures(scope, year, SOURCE_BY_SECTION)
        .values("section", "report__organization__kind", "key")
        .annotate(average=Avg("value"), peers=Count("pk"), largest=Max("value"))
        .order_by()
    )
    return {
        (r["section"], r["report__organization__kind"], r["key"]): (float(r["average"]), r["peers"], r["largest"])
        for r in found
    }


def all_peer_averages(scope: list[Organization], year: int) -> dict[tuple[str, str, str], tuple[float, int]]:
    """Average and count of each cell per kind of organization across the subtree, both tables (one query)."""
    return {k: (average, peers) for k, (average, peers, _) in _peer_figures(scope, year).items()}


def peer_averages(
    scope: list[Organization], year: int, source: Source = SOURCES[0]
) -> dict[tuple[str, str, str], tuple[float, int]]:
    """Average and count of each cell per kind of organization across the subtree (one query)."""
    return {k: v for k, v in all_peer_averages(scope, year).items() if k[0] == source.section}


def peer_outliers(
    scope: list[Organization],
    year: int,
    averages: dict | None = None,
    source: Source | None = SOURCES[0],
    largest: dict | None = None,
):
    """Cells far above the same cell's average among organizations of the same kind (values, to
    paginate); one table's, or with ``source=None`` both tables' in the page's order.

    ``largest`` (each cell's largest value, from the same aggregate as the averages) leaves
    out the cells nobody exceeds the threshold in: often all of them, and then no query runs.
    """
    averages = all_peer_averages(scope, year) if averages is None else averages
    sections = [s.section for s in SOURCES] if source is None else [source.section]
    condition = Q(pk__in=[])
    for (section, kind, key), (average, peers) in averages.items():
        if section not in sections or peers < PEER_MINIMUM:
            continue
        threshold = max(FLOOR, average * PEER_RATIO)
        if largest is not None and largest.get((section, kind, key), threshold + 1) <= threshold:
            continue
        condition |= Q(section=section, report__organization__kind=kind, key=key, value__gt=threshold)
    if condition == Q(pk__in=[]):
        return CellFigure.objects.none().values()
    return _values(_figures(scope, year, sections).filter(condition), None if source is None else ORDER)


# -- the page's figures, cached -------------------------------------------------------------------

# Findings by rule and the peer averages are aggregates over the whole subtree: they are
# kept for a few minutes, and forgotten at once when a supervisor marks a cell 已核实
# (services.outliers). The lists of flagged cells are read live, a page at a time, from
# the stored figures (``CellFigure``): they cost the flagged cells, not the subtree.
SUMMARY_TTL = 300
MAX_LISTED = 10_000  # flagged cells listed per kind of outlier; more is a data problem of its own
GENERATION_KEY = "quality:generation"


def forget() -> None:
    new_generation(GENERATION_KEY)


def _generation() -> str:
    return cache_generation(GENERATION_KEY)


def summary(scope: list[Organization], year: int) -> dict:
    """Findings by rule and peer averages for a subtree and year (cached), and both lists of
    flagged cells (querysets in the page's order, at most ``MAX_LISTED`` each)."""
    from django.core.cache import cache

    where = hashlib.sha256("|".join(sorted(o.path for o in scope)).encode()).hexdigest()[:32]
    key = f"quality:summary:v2:{year}:{where}:{_generation()}"  # v2: lists no longer cached
    found = cache.get(key)
    if found is None:
        figures = _peer_figures(scope, year)
        found = {
            "findings": findings_by_rule(scope, year),
            "averages": {k: (average, peers) for k, (average, peers, _) in figures.items()},
            "largest": {k: largest for k, (_, _, largest) in figures.items()},
            "computed_at": timezone.now(),
        }
        cache.set(key, found, SUMMARY_TTL)
    none = CellFigure.objects.none().values()
    return {
        **found,
        "history": history_outliers(scope, year, None)[:MAX_LISTED] if scope else none,
        "peers": peer_outliers(scope, year, found["averages"], None, found["largest"])[:MAX_LISTED] if scope else none,
    }


@dataclass
class Outlier:
    organization_id: int
    code: str
    name: str
    kind: str
    cell: str
    label: str
    value: int
    reason: str


def describe_history(row: dict, previous_by_cell: dict | None = None) -> Outlier:
    value = row[COLUMN]
    # Last year's value is stored with the cell; ``previous_by_cell`` is the older callers' way.
    previous = (
        row["previous"]
        if previous_by_cell is None
        else previous_by_cell.get((row["report__organization_id"], row["section"], row["key"]))
    )
    if previous:
        reason = f"上年 {previous}，本年 {value}（{value / previous:.1f} 倍）"
    else:
        reason = f"上年 0，本年 {value}"
    return _outlier(row, reason)


def describe_peer(row: dict, averages: dict) -> Outlier:
    average, peers = averages[(row["section"], row["report__organization__kind"], row["key"])]
    kind = dict(Organization.Kind.choices)[row["report__organization__kind"]]
    reason = f"同类机关（{kind}，{peers} 个）平均 {average:.1f}，本机关 {row[COLUMN]}（{row[COLUMN] / average:.1f} 倍）"
    return _outlier(row, reason)


def _outlier(row: dict, reason: str) -> Outlier:
    return Outlier(
        organization_id=row["report__organization_id"],
        code=row["report__organization__code"],
        name=row["report__organization__name"],
        kind=row["report__organization__kind"],
        cell=cell_ref(row["section"], row["key"]),
        label=cell_label(row["report__format"], row["section"], row["key"]),
        value=row[COLUMN],
        reason=reason,
    )


def _parse(cell: str) -> tuple[Source, str] | None:
    parts = cell.split(".")
    if len(parts) != 3 or parts[0] not in SOURCE_BY_SECTION or parts[2] != COLUMN:
        return None
    return SOURCE_BY_SECTION[parts[0]], parts[1]


def current_value(organization: Organization, year: int, cell: str) -> int | None:
    """The stored value of a cell this module checks (None when blank or not one of them)."""
    parsed = _parse(cell)
    if parsed is None:
        return None
    source, key = parsed
    return (
        source.model.objects.filter(report__organization=organization, report__year=year, **{source.key: key})
        .values_list(COLUMN, flat=True)
        .first()
    )


def is_checked_cell(year: int, cell: str) -> bool:
    """Whether ``cell`` is one this module looks at in ``year``'s format."""
    parsed = _parse(cell)
    if parsed is None:
        return False
    try:
        fmt = reg.format_for_year(year)
    except reg.UnknownFormat:
        return False
    source, key = parsed
    return key in source.codes(fmt)
