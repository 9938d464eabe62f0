"""The roll-up (汇总) of a subtree's reports for a year (issue 15, ADR 0016).

Every statutory cell of the year's format is summed by the database over the
chosen reports: one GROUP BY query per statutory table model, whatever the
subtree's size. A blank is never a 0: a cell's sum is known only when no
input left it blank; otherwise the roll-up says how many inputs were blank
and what the filled ones add up to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.cache import cache
from django.db.models import Case, CharField, Count, F, Max, Q, Sum, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import RowNumber

from .. import formats as reg
from ..interchange import format_amount
from ..models import ActiveDisclosureRow, ApplicationRow, Organization, Report, ReviewRow
from ..selectors import STATUS_KEYS, dashboard_organizations, status_q

S = Report.Status

CHILDREN = "children"
SUBTREE = "subtree"
SCOPES = {CHILDREN: "直属下级机关", SUBTREE: "全部下级机关"}
FINAL_STATUSES = (S.APPROVED, S.PUBLISHED)
# Names listed on a page per coverage group; the counts are always complete.
LIST_LIMIT = 200

AD_FIELDS = list(reg.active_disclosure_columns())
APP_FIELDS = [c.code for c in reg.FORMATS["2021"].applications_columns]
REVIEW_FIELDS = [c.code for c in reg.FORMATS["2021"].reviews_columns]


@dataclass(frozen=True)
class CellSum:
    """One cell of the roll-up."""

    inputs: int  # reports summed
    blanks: int  # of them, those that left the cell blank
    known: int | Decimal | None  # the sum of the filled inputs (None when none is filled)

    @property
    def value(self) -> int | Decimal | None:
        """The roll-up's figure: only when every input is filled (a blank is not a 0)."""
        return self.known if self.inputs and not self.blanks else None

    @property
    def complete(self) -> bool:
        return self.value is not None


@dataclass(frozen=True)
class OrgRef:
    code: str
    name: str
    kind: str
    status: str | None  # the report's status; None: no report for the year

    @property
    def status_label(self) -> str:
        return S(self.status).label if self.status else "未创建"


@dataclass
class Rollup:
    root: Organization
    year: int
    fmt: reg.Format
    scope: str
    drafts: bool
    cells: dict[str, CellSum]
    counts: dict[str, int]
    included: list[OrgRef] = field(default_factory=list)
    missing: list[OrgRef] = field(default_factory=list)
    pending: list[OrgRef] = field(default_factory=list)

    @property
    def inputs(self) -> int:
        return self.counts["included"]

    @property
    def scope_label(self) -> str:
        return SCOPES[self.scope]

    @property
    def note(self) -> str:
        """Which reports are counted, in words, where it is not simply the direct children."""
        return scope_note(self.root, self.scope)

    @property
    def complete_coverage(self) -> bool:
        return not self.counts["missing"] and not self.counts["pending"]

    def value(self, ref: str) -> int | Decimal | None:
        return self.cells[ref].value

    def display(self, ref: str) -> str:
        return display_value(self.fmt, ref, self.cells[ref].value)

    def display_known(self, ref: str) -> str:
        return display_value(self.fmt, ref, self.cells[ref].known)


def display_value(fmt: reg.Format, ref: str, value: Any) -> str:
    """A summed value as the report writes it (amounts with at least four places, every
    place the exact sum holds)."""
    if value is None:
        return ""
    if fmt.cell(ref).kind == reg.CellKind.AMOUNT:
        return format_amount(Decimal(value)) or ""
    return str(value)


def statuses(drafts: bool) -> tuple[str, ...]:
    """The reports a roll-up sums: approved and published, or every one (drafts marked)."""
    return tuple(STATUS_KEYS) if drafts else FINAL_STATUSES


def covers_departments(org: Organization) -> bool:
    """A government whose report covers its departments (本级及所属部门汇总)."""
    return org.kind == Organization.Kind.GOVERNMENT and org.report_scope == Organization.Scope.ROLLUP


def government_view(root: Organization, scope: str) -> bool:
    """The direct children of a 汇总 government: its report's inputs, reached through
    the lower governments that report for themselves alone (ADR 0016)."""
    return scope == CHILDREN and covers_departments(root)


# The reports that stand for each branch below a node, walked down the parent links
# in the database (one recursive subquery, whatever the depth): a walk goes on below
# an organization only while its report does not already cover what is under it.
_DESCEND = {
    # Below a 汇总 government: through lower governments on 本级 (their departments are
    # inputs too), never through a department nor a 汇总 government (it covers its subtree).
    CHILDREN: "r.kind = %s AND r.report_scope = %s",
    # The whole subtree, without what a 汇总 government's report already covers.
    SUBTREE: "NOT (r.kind = %s AND r.report_scope = %s)",
}


def reached_ids(parent: Organization | None, scope: str) -> RawSQL:
    """Ids of the organizations whose reports stand for the branches below ``parent``
    (below the top when None), as a subquery: see ``_DESCEND``."""
    table = Organization._meta.db_table
    gov = Organization.Kind.GOVERNMENT
    step = [gov, Organization.Scope.OWN] if scope == CHILDREN else [gov, Organization.Scope.ROLLUP]
    anchor, params = ("parent_id = %s", [parent.pk]) if parent is not None else ("parent_id IS NULL", [])
    sql = (
        f"WITH RECURSIVE reach(id, kind, report_scope) AS ("
        f"SELECT id, kind, report_scope FROM {table} WHERE {anchor} "
        f"UNION ALL SELECT o.id, o.kind, o.report_scope FROM {table} o JOIN reach r ON o.parent_id = r.id "
        f"WHERE {_DESCEND[scope]}) SELECT id FROM reach"
    )
    return RawSQL(sql, (*params, *step))


def scope_q(root: Organization, scope: str, prefix: str = "") -> Q:
    """The organizations of the roll-up (the root itself is not among them).

    直属下级机关: the direct children, except below a 汇总 government, where they are its
    report's inputs (``government_view``). 全部下级机关: the subtree, except what a 汇总
    government's report covers (its report counts, its subtree does not).
    """
    if scope == CHILDREN and not covers_departments(root):
        return Q(**{f"{prefix}parent_id": root.pk})
    if scope in SCOPES:
        return Q(**{f"{prefix}pk__in": reached_ids(root, scope)})
    raise ValueError(f"unknown roll-up scope {scope!r}")


def scope_note(root: Organization, scope: str) -> str:
    """What the roll-up counts, in words, where it is not simply the direct children."""
    own, rollup = Organization.Scope.OWN.label, Organization.Scope.ROLLUP.label
    if government_view(root, scope):
        return (
            f"本机关报告范围为“{rollup}”，汇总其报告所覆盖的机关：直属下级机关的报告；"
            f"报告范围为“{own}”的下级人民政府，其所属机关的报告一并计入；"
            f"报告范围为“{rollup}”的下级人民政府，只计入该政府的报告"
        )
    if scope == SUBTREE:
        return f"报告范围为“{rollup}”的下级人民政府，只计入该政府的报告，不再计入其下级机关的报告，以免重复计算"
    return ""


def selected_reports(root: Organization, year: int, scope: str, drafts: bool):
    """The reports summed, as a queryset (used as a subquery, never fetched)."""
    return Report.objects.filter(scope_q(root, scope, "organization__"), year=year, status__in=statuses(drafts))


# Amounts of a table with a stated unit (2019 政府集中采购) are summed in the default unit:
# per stated unit by the database, each sum exact, then converted here with Decimal
# arithmetic (a multiplication in SQL would be a float on SQLite).
UNIT_FACTORS = {"元": Decimal("0.0001")}


def _unit_key(name: str, unit: str) -> str:
    return f"sum_{name}__{unit}"


def _grouped(
    model, key_fields: list[str], fields: list[str], reports, converted: tuple[str, ...] = ()
) -> dict[tuple, dict[str, Any]]:
    """Per row of a table model: the sum and the count of filled values of every column."""
    aggregates: dict[str, Any] = {}
    stated = Q(report__procurement_unit__in=list(UNIT_FACTORS))
    for name in fields:
        if name in converted:
            aggregates[f"sum_{name}"] = Sum(name, filter=~stated)
            for unit in UNIT_FACTORS:
                aggregates[_unit_key(name, unit)] = Sum(name, filter=Q(report__procurement_unit=unit))
        else:
            aggregates[f"sum_{name}"] = Sum(name)
        aggregates[f"n_{name}"] = Count(name)  # COUNT(col) skips NULL: the filled inputs
    rows = model.objects.filter(report__in=reports.values("pk")).values(*key_fields).annotate(**aggregates).order_by()
    return {tuple(row[k] for k in key_fields): row for row in rows}


def _exact(value: Any) -> Decimal:
    # Django hands a DecimalField's sum back as a Decimal at the field's six places.
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _cell(row: dict | None, column: str, inputs: int, amount: bool) -> CellSum:
    if row is None:
        return CellSum(inputs, inputs, None)  # no input has this row at all: blank everywhere
    filled = row[f"n_{column}"]
    if not filled:
        return CellSum(inputs, inputs, None)
    if not amount:
        return CellSum(inputs, inputs - filled, int(row[f"sum_{column}"]))
    total = _exact(row[f"sum_{column}"] or 0)
    for unit, factor in UNIT_FACTORS.items():
        part = row.get(_unit_key(column, unit))
        if part is not None:
            total += _exact(part) * factor
    return CellSum(inputs, inputs - filled, total)


def in_unit(value: Decimal, unit: str | None) -> Decimal:
    """An amount summed in the default unit, exactly, in the unit a report states."""
    factor = UNIT_FACTORS.get(unit or "")
    return value / factor if factor is not None else value


def coverage_counts(root: Organization, year: int, scope: str, drafts: bool) -> dict[str, int]:
    """Organizations in the roll-up's scope by the state of their report, and the
    fingerprint of the reports summed (``fingerprint``): one query."""
    chosen = statuses(drafts)
    summed = Q(report_status__in=chosen)
    counts = {"orgs": Count("pk"), "missing": Count("pk", filter=status_q("missing"))}
    counts |= {key: Count("pk", filter=status_q(key)) for key in STATUS_KEYS}
    # What the sums depend on: every write to a report bumps its version and
    # updated_at (ADR 0010); the ids say which reports are in.
    counts |= {
        "fp_ids": Sum("rep__id", filter=summed),
        "fp_versions": Sum("rep__version", filter=summed),
        "fp_last": Max("rep__updated_at", filter=summed),
    }
    result = dashboard_organizations(year).filter(scope_q(root, scope)).aggregate(**counts)
    result["included"] = sum(result[key] for key in chosen)
    result["pending"] = sum(result[key] for key in STATUS_KEYS if key not in chosen)
    result["drafts"] = sum(result[key] for key in STATUS_KEYS if key not in FINAL_STATUSES) if drafts else 0
    last = result.pop("fp_last")
    result["fingerprint"] = (
        f"{result['included']}:{result.pop('fp_ids') or 0}:{result.pop('fp_versions') or 0}:"
        f"{last.isoformat() if last else ''}"
    )
    return result


def _org_refs(rows) -> list[OrgRef]:
    return [OrgRef(r["code"], r["name"], r["kind"], r["report_status"]) for r in rows]


def coverage_lists(
    root: Organization,
    year: int,
    scope: str,
    drafts: bool,
    limit: int | None = LIST_LIMIT,
    *,
    included: bool = True,
):
    """Included, missing and not-yet-approved organizations, each list limited: one query
    (a row number per group, in tree order). ``included=False`` leaves the first list empty
    without reading it (the hierarchy rule names only what is missing or pending)."""
    chosen = statuses(drafts)
    group = Case(
        When(report_status__isnull=True, then=Value("missing")),
        When(report_status__in=chosen, then=Value("included")),
        default=Value("pending"),
        output_field=CharField(),
    )
    rows = (
        dashboard_organizations(year)
        .filter(scope_q(root, scope))
        .annotate(group=group)
        .order_by("path", "code")
        .values("code", "name", "kind", "report_status", "group")
    )
    if not included:
        rows = rows.exclude(group="included")
    if limit is not None:
        rows = rows.annotate(
            rank=Window(RowNumber(), partition_by=[F("group")], order_by=[F("path").asc(), F("code").asc()])
        ).filter(rank__lte=limit)
    groups: dict[str, list[OrgRef]] = {"included": [], "missing": [], "pending": []}
    for row in rows:
        groups[row["group"]].append(OrgRef(row["code"], row["name"], row["kind"], row["report_status"]))
    return groups["included"], groups["missing"], groups["pending"]


def sum_cells(fmt: reg.Format, reports, inputs: int) -> dict[str, CellSum]:
    """Every statutory cell of ``fmt`` summed over ``reports``: three queries."""
    # Only the 2019 format states a unit; its amounts are summed in 万元 whatever each report used.
    converted = tuple(c.code for c in fmt.unit_table.columns if c.kind == reg.CellKind.AMOUNT) if fmt.unit_table else ()
    active = _grouped(ActiveDisclosureRow, ["subtable", "row"], AD_FIELDS, reports, converted)
    apps = _grouped(ApplicationRow, ["row"], APP_FIELDS, reports)
    reviews = _grouped(ReviewRow, ["block"], REVIEW_FIELDS, reports)
    cells: dict[str, CellSum] = {}
    for spec in fmt.cells():
        amount = spec.kind == reg.CellKind.AMOUNT
        if spec.section == "active_disclosure":
            row = active.get((spec.subtable, spec.row))
        elif spec.section == "applications":
            row = apps.get((spec.row,))
        else:
            row = reviews.get((spec.row,))
        cells[spec.ref] = _cell(row, spec.column, inputs, amount)
    return cells


CACHE_SECONDS = 3600


def cached_sum_cells(fmt: reg.Format, reports, inputs: int, key: str) -> dict[str, CellSum]:
    """``sum_cells``, kept in the cache under the fingerprint of the reports summed
    (``key`` includes it): a roll-up is summed again only after one of its reports changed."""
    key = f"rollup:{key}"
    cells = cache.get(key)
    if cells is None:
        cells = sum_cells(fmt, reports, inputs)
        cache.set(key, cells, CACHE_SECONDS)
    return cells


def build_rollup(
    root: Organization,
    year: int,
    *,
    scope: str = CHILDREN,
    drafts: bool = False,
    lists: bool = True,
    cached: bool = False,
) -> Rollup:
    """The roll-up of ``root``'s children (or whole subtree) for ``year``.

    Queries: one for the coverage counts, three for the sums, and with
    ``lists`` one for the (limited) coverage lists: five at most, at any size.
    ``cached`` (the pages): the three sums only when the fingerprint of the
    reports summed changed.
    """
    if scope not in SCOPES:
        raise ValueError(f"unknown roll-up scope {scope!r}")
    fmt = reg.format_for_year(year)  # one format per year, by the registry
    counts = coverage_counts(root, year, scope, drafts)
    reports = selected_reports(root, year, scope, drafts)
    if cached:
        view = f"{scope}-{root.report_scope}" if root.kind == Organization.Kind.GOVERNMENT else scope
        key = f"{root.pk}:{year}:{view}:{int(drafts)}:{counts['fingerprint']}"
        cells = cached_sum_cells(fmt, reports, counts["included"], key)
    else:
        cells = sum_cells(fmt, reports, counts["included"])
    rollup = Rollup(root, year, fmt, scope, drafts, cells, counts)
    if lists:
        rollup.included, rollup.missing, rollup.pending = coverage_lists(root, year, scope, drafts)
    return rollup


def hierarchy_input(report: Report):
    """What the hierarchy rule compares a government's report with, or None when
    its report covers only itself (本级): the roll-up of the reports that make up its
    jurisdiction, approved and published, with those missing or not approved.

    Its inputs are the nearest reports covering each branch (``government_view``):
    its direct children; below a lower government on 本级, that government's own
    report and its departments' too; a lower 汇总 government's report stands for its
    whole subtree (summing deeper would count its departments twice).
    """
    from ..rules.hierarchy import HierarchyInput

    org = report.organization
    if not covers_departments(org):
        return None
    rollup = build_rollup(org, report.year, scope=CHILDREN, drafts=False, lists=False)
    _, missing, pending = coverage_lists(org, report.year, CHILDREN, False, limit=None, included=False)
    unit = report.procurement_unit if rollup.fmt.unit_table is not None else None
    sums: dict[str, Any] = {}
    for ref, cell in rollup.cells.items():
        value = cell.value
        if value is not None and rollup.fmt.cell(ref).kind == reg.CellKind.AMOUNT:
            value = in_unit(value, unit)  # the roll-up sums in the default unit; this report states its own
        sums[ref] = value
    return HierarchyInput(
        sums=sums,
        blanks={ref: cell.blanks for ref, cell in rollup.cells.items() if cell.blanks},
        inputs=rollup.inputs,
        missing=tuple(o.name for o in missing),
        pending=tuple(f"{o.name}（{o.status_label}）" for o in pending),
    )


def covering_government_ids(org: Organization) -> list[int]:
    """The 汇总 governments whose report has ``org``'s among its inputs (the nearest one
    above it, reached through lower governments on 本级): those to check again after
    a write to ``org``'s report. One query."""
    above = [pk for pk in org.ancestor_ids if pk != org.pk] if org.path else []
    if not above:
        return [org.parent_id] if org.parent_id else []
    kinds = {o.pk: o for o in Organization.objects.filter(pk__in=above).only("kind", "report_scope")}
    for pk in reversed(above):
        o = kinds.get(pk)
        if o is None:
            return []
        if covers_departments(o):
            return [pk]
        if o.kind != Organization.Kind.GOVERNMENT:
            return []  # a department's report covers nothing below it
    return []
