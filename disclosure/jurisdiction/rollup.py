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
from django.db.models import Case, CharField, Count, DecimalField, F, Max, Q, Sum, Value, When, Window
from django.db.models.functions import RowNumber

from .. import formats as reg
from ..interchange import format_amount
from ..models import ActiveDisclosureRow, ApplicationRow, Organization, Report, ReviewRow
from ..permissions import subtree_q
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
    def complete_coverage(self) -> bool:
        return not self.counts["missing"] and not self.counts["pending"]

    def value(self, ref: str) -> int | Decimal | None:
        return self.cells[ref].value

    def display(self, ref: str) -> str:
        return display_value(self.fmt, ref, self.cells[ref].value)

    def display_known(self, ref: str) -> str:
        return display_value(self.fmt, ref, self.cells[ref].known)


def display_value(fmt: reg.Format, ref: str, value: Any) -> str:
    """A summed value as the report writes it (amounts with their four places)."""
    if value is None:
        return ""
    if fmt.cell(ref).kind == reg.CellKind.AMOUNT:
        return format_amount(Decimal(value)) or ""
    return str(value)


def statuses(drafts: bool) -> tuple[str, ...]:
    """The reports a roll-up sums: approved and published, or every one (drafts marked)."""
    return tuple(STATUS_KEYS) if drafts else FINAL_STATUSES


def scope_q(root: Organization, scope: str, prefix: str = "") -> Q:
    """The organizations of the roll-up (the root itself is not among them)."""
    if scope == CHILDREN:
        return Q(**{f"{prefix}parent_id": root.pk})
    if scope == SUBTREE:
        return subtree_q([root], prefix) & ~Q(**{f"{prefix}pk": root.pk})
    raise ValueError(f"unknown roll-up scope {scope!r}")


def selected_reports(root: Organization, year: int, scope: str, drafts: bool):
    """The reports summed, as a queryset (used as a subquery, never fetched)."""
    return Report.objects.filter(scope_q(root, scope, "organization__"), year=year, status__in=statuses(drafts))


# Amounts of a table with a stated unit (2019 政府集中采购) are summed in the default unit.
UNIT_FACTORS = {"元": Decimal("0.0001")}


def _in_default_unit(name: str) -> Case:
    return Case(
        *[When(report__procurement_unit=unit, then=F(name) * Value(factor)) for unit, factor in UNIT_FACTORS.items()],
        default=F(name),
        output_field=DecimalField(max_digits=26, decimal_places=10),
    )


def _grouped(
    model, key_fields: list[str], fields: list[str], reports, converted: tuple[str, ...] = ()
) -> dict[tuple, dict[str, Any]]:
    """Per row of a table model: the sum and the count of filled values of every column."""
    aggregates: dict[str, Any] = {}
    for name in fields:
        aggregates[f"sum_{name}"] = Sum(_in_default_unit(name) if name in converted else name)
        aggregates[f"n_{name}"] = Count(name)  # COUNT(col) skips NULL: the filled inputs
    rows = model.objects.filter(report__in=reports.values("pk")).values(*key_fields).annotate(**aggregates).order_by()
    return {tuple(row[k] for k in key_fields): row for row in rows}


def _cell(row: dict | None, column: str, inputs: int, amount: bool) -> CellSum:
    if row is None:
        return CellSum(inputs, inputs, None)  # no input has this row at all: blank everywhere
    filled = row[f"n_{column}"]
    total = row[f"sum_{column}"] if filled else None
    if total is not None:
        total = Decimal(str(total)).quantize(Decimal("0.0001")) if amount else int(total)
    return CellSum(inputs, inputs - filled, total)


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


def coverage_lists(root: Organization, year: int, scope: str, drafts: bool, limit: int | None = LIST_LIMIT):
    """Included, missing and not-yet-approved organizations, each list limited: one query
    (a row number per group, in tree order)."""
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
        key = f"{root.pk}:{year}:{scope}:{int(drafts)}:{counts['fingerprint']}"
        cells = cached_sum_cells(fmt, reports, counts["included"], key)
    else:
        cells = sum_cells(fmt, reports, counts["included"])
    rollup = Rollup(root, year, fmt, scope, drafts, cells, counts)
    if lists:
        rollup.included, rollup.missing, rollup.pending = coverage_lists(root, year, scope, drafts)
    return rollup


def hierarchy_input(report: Report):
    """What the hierarchy rule compares a government's report with, or None when
    its report covers only itself (本级): the roll-up of its direct children's
    approved and published reports, with the children missing or not approved.

    Direct children, not the whole subtree: a lower government's own report
    already covers its departments, so summing deeper would count them twice.
    """
    from ..rules.hierarchy import HierarchyInput

    org = report.organization
    if org.kind != Organization.Kind.GOVERNMENT or org.report_scope != Organization.Scope.ROLLUP:
        return None
    rollup = build_rollup(org, report.year, scope=CHILDREN, drafts=False, lists=False)
    _, missing, pending = coverage_lists(org, report.year, CHILDREN, False, limit=None)
    sums = {ref: cell.value for ref, cell in rollup.cells.items()}
    if rollup.fmt.unit_table is not None and report.procurement_unit in UNIT_FACTORS:
        # The roll-up sums in the default unit; this report states its own.
        for ref, value in sums.items():
            if value is not None and rollup.fmt.cell(ref).kind == reg.CellKind.AMOUNT:
                sums[ref] = (value / UNIT_FACTORS[report.procurement_unit]).quantize(Decimal("0.0001"))
    return HierarchyInput(
        sums=sums,
        blanks={ref: cell.blanks for ref, cell in rollup.cells.items() if cell.blanks},
        inputs=rollup.inputs,
        missing=tuple(o.name for o in missing),
        pending=tuple(f"{o.name}（{o.status_label}）" for o in pending),
    )
