"""The hierarchy rule: a government whose report covers its departments (本级及所属部门汇总)
against the roll-up of the reports its report covers (issue 15, ADR 0016): its direct
children, the departments of lower governments on 本级 too (``hierarchy_input``).

The rules read plain data (``HierarchyInput``) that the caller reads from the
database (``jurisdiction.rollup.hierarchy_input``) and hands in as
``Context.rollup``; without it (本级 reports, a file checked on the command
line) they do not run. Never a false pass: while a child's report is missing
or not yet approved, or an input left a cell blank, the rule says 无法判断
and names what is missing; only a difference the missing part could not
undo (the approved children alone already exceed the figure) fails then.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ..formats import CellKind
from ..interchange import parse_amount
from .engine import Context, Severity, rule

W = Severity.WARNING
NAMES_SHOWN = 20


@dataclass(frozen=True)
class HierarchyInput:
    sums: dict[str, Any]  # cell ref -> the children's sum, None when unknown
    blanks: dict[str, int] = field(default_factory=dict)  # cell ref -> inputs that left it blank
    inputs: int = 0  # approved and published children's reports summed
    missing: tuple[str, ...] = ()  # children without a report for the year
    pending: tuple[str, ...] = ()  # children whose report is not approved yet

    @property
    def complete(self) -> bool:
        return not self.missing and not self.pending


def _number(value: Any, kind: CellKind) -> int | Decimal | None:
    if value is None:
        return None
    if kind == CellKind.AMOUNT:
        return parse_amount(value) if isinstance(value, str) else Decimal(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _names(names: tuple[str, ...]) -> str:
    shown = "、".join(names[:NAMES_SHOWN])
    return f"{shown}等{len(names)}个" if len(names) > NAMES_SHOWN else shown


def _comparable_cells(ctx: Context):
    """The cells a clerk writes (computed totals follow from them), with both figures."""
    for spec in ctx.fmt.cells():
        if spec.computed:
            continue
        section = ctx.doc[spec.section]
        row = section[spec.subtable][spec.row] if spec.subtable else section[spec.row]
        mine = _number(row.get(spec.column), spec.kind)
        if mine is None:
            continue  # a blank is cells.required's business
        yield spec, mine, _number(ctx.rollup.sums.get(spec.ref), spec.kind)


def _show(value: int | Decimal) -> str:
    return str(value.normalize()) if isinstance(value, Decimal) else str(value)


@rule("hierarchy.rollup", W, needs_rollup=True)
def hierarchy_rollup(ctx: Context):
    """本级及所属部门汇总: each figure equals the sum of the direct children's reports."""
    data: HierarchyInput = ctx.rollup
    for spec, mine, summed in _comparable_cells(ctx):
        if summed is None:
            continue  # undecided: hierarchy.undecided says so
        if data.complete and mine != summed:
            yield (
                [spec.ref],
                f"{ctx.label(spec.ref)}为{_show(mine)}，下级机关报告汇总为{_show(summed)}，两者不一致。",
            )
        elif not data.complete and spec.kind != CellKind.SIGNED and summed > mine:
            # Counts are never negative: the missing reports can only add to the sum.
            yield (
                [spec.ref],
                f"{ctx.label(spec.ref)}为{_show(mine)}，已审核的下级机关报告合计已达{_show(summed)}，"
                "超过本报告的数字。",
            )


@rule("hierarchy.undecided", W, needs_rollup=True)
def hierarchy_undecided(ctx: Context):
    """无法判断: a child's report is missing or not approved, or left cells blank."""
    data: HierarchyInput = ctx.rollup
    reasons = []
    if data.missing:
        reasons.append(f"尚无本年度报告的下级机关：{_names(data.missing)}")
    if data.pending:
        reasons.append(f"报告尚未审核的下级机关：{_names(data.pending)}")
    if not data.inputs and not reasons:
        reasons.append("没有可汇总的下级机关报告")
    if reasons:
        yield [], f"无法判断本报告数字与下级机关报告汇总是否一致。{'；'.join(reasons)}。"
        return
    blank = [spec.ref for spec, _mine, summed in _comparable_cells(ctx) if summed is None]
    if blank:
        yield (
            blank,
            f"无法判断{len(blank)}个单元格与下级机关报告汇总是否一致：有下级机关报告在这些单元格留空"
            f"（如{ctx.label(blank[0])}）。",
        )
