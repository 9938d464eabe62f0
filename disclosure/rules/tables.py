"""Rules on the statutory tables: the 勾稽 identities, totals, cell values."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from ..formats import CellKind
from ..interchange import AMOUNT_PLACES, cell_value, decimal_places, get_path
from .engine import Context, Severity, is_whole, known, rule

E = Severity.ERROR


def _outcome_sum(ctx: Context, column: str) -> int | None:
    values = [ctx.apps[r.code][column] for r in ctx.fmt.outcome_rows]
    return sum(values) if known(*values) else None


@rule("applications.balance", E)
def applications_balance(ctx: Context):
    """Per column: 第一项 + 第二项 = 第三项 + 第四项 (the statutory 勾稽)."""
    apps = ctx.apps
    for col in ctx.fmt.applications_columns:
        c = col.code
        new, carried, forward = (
            apps["new_received"][c],
            apps["carried_over"][c],
            apps["carried_forward"][c],
        )
        # The identity is about the real outcomes: use their sum when all are
        # known, the printed （七）总计 otherwise.
        outcomes = _outcome_sum(ctx, c)
        if outcomes is None:
            outcomes = apps["outcome_total"][c]
        if not known(new, carried, outcomes, forward):
            continue
        if new + carried != outcomes + forward:
            yield (
                [f"applications.{r}.{c}" for r in ("new_received", "carried_over", "outcome_total", "carried_forward")],
                f"“{col.label}”列不符合勾稽关系：第一项加第二项之和为{new + carried}"
                f"（{new}+{carried}），第三项加第四项之和为{outcomes + forward}"
                f"（{outcomes}+{forward}），两者应相等。",
            )


@rule("applications.outcome_total", E)
def applications_outcome_total(ctx: Context):
    """（七）总计 equals the sum of all outcome rows, per column."""
    for col in ctx.fmt.applications_columns:
        c = col.code
        printed = ctx.apps["outcome_total"][c]
        summed = _outcome_sum(ctx, c)
        if summed is None or not known(printed) or summed == printed:
            continue
        yield (
            [f"applications.{r.code}.{c}" for r in ctx.fmt.outcome_rows] + [f"applications.outcome_total.{c}"],
            f"“{col.label}”列：本年度办理结果各项之和为{summed}，“（七）总计”为{printed}，应相等。",
        )


@rule("applications.total_column", E)
def applications_total_column(ctx: Context):
    """总计 equals the sum of the six applicant columns, per row."""
    parts = [c.code for c in ctx.fmt.applicant_columns]
    for row in ctx.fmt.applications_rows:
        cells = ctx.apps[row.code]
        values = [cells[p] for p in parts]
        if not known(*values, cells["total"]) or sum(values) == cells["total"]:
            continue
        yield (
            [f"applications.{row.code}.{c.code}" for c in ctx.fmt.applications_columns],
            f"{ctx.label(f'applications.{row.code}.total')}：各类申请人之和为{sum(values)}，"
            f"总计栏为{cells['total']}，应相等。",
        )


@rule("reviews.total", E)
def reviews_total(ctx: Context):
    """In each block of 四: 总计 = 结果维持 + 结果纠正 + 其他结果 + 尚未审结."""
    parts = [c.code for c in ctx.fmt.reviews_parts]
    for block in ctx.fmt.reviews_blocks:
        cells = ctx.doc["reviews"][block.code]
        values = [cells[p] for p in parts]
        if not known(*values, cells["total"]) or sum(values) == cells["total"]:
            continue
        yield (
            [f"reviews.{block.code}.{c.code}" for c in ctx.fmt.reviews_columns],
            f"{block.label}：{'、'.join(c.label for c in ctx.fmt.reviews_parts)}之和为{sum(values)}，"
            f"总计为{cells['total']}，应相等。",
        )


def _amount_value(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@rule("cells.integer", E)
def cells_integer(ctx: Context):
    """Counts are whole numbers >= 0 (本年增/减 may be negative); amounts decimals >= 0."""
    for spec in ctx.fmt.cells():
        value = cell_value(ctx.doc, spec)
        if value is None:
            continue
        label = ctx.label(spec.ref)
        if spec.kind == CellKind.AMOUNT:
            amount = _amount_value(value)
            if amount is None or amount < 0:
                yield [spec.ref], f"{label}应为不小于0的金额，填写的是“{value}”。"
        elif not is_whole(value):
            yield [spec.ref], f"{label}应为整数，填写的是“{value}”。"
        elif spec.kind == CellKind.COUNT and value < 0:
            yield [spec.ref], f"{label}不能为负数，填写的是{value}。"
    part = ctx.fmt.fee_part
    fee = get_path(ctx.doc["narrative"], part.path) if part else None
    if isinstance(fee, dict) and fee.get("amount_yuan") is not None:
        amount = _amount_value(fee["amount_yuan"])
        if amount is None or amount < 0:
            label = ctx.fmt.label_of(f"{part.ref}.amount_yuan")
            yield [part.ref], f"{label}应为不小于0的金额，填写的是“{fee['amount_yuan']}”。"


def _rows(ctx: Context):
    """Each printed row with its cells, in statutory order."""
    fmt = ctx.fmt
    for table in fmt.active_disclosure:
        for row in table.rows:
            refs = [f"active_disclosure.{table.code}.{row.code}.{c.code}" for c in table.columns]
            yield f"{table.caption}“{row.label}”", refs
    for row in fmt.applications_rows:
        yield f"表三“{row.full_label}”", [f"applications.{row.code}.{c.code}" for c in fmt.applications_columns]
    for block in fmt.reviews_blocks:
        yield f"表四“{block.label}”", [f"reviews.{block.code}.{c.code}" for c in fmt.reviews_columns]


def _typed_parts(fmt) -> dict[str, set[str]]:
    """Each computed cell's typed cells, nested totals expanded."""
    parts: dict[str, set[str]] = {}
    for target, summed in fmt.totals:  # parts come before their totals
        parts[target] = set().union(*(parts.get(p, {p}) for p in summed))
    return parts


@rule("cells.required", E)
def cells_required(ctx: Context):
    """No cell left blank at submission: 0 is a value, blank is not.

    A computed total left blank because one of its parts is blank is not
    reported: the clerk cannot type in it, and the blank part is reported.
    """
    fmt = ctx.fmt
    parts = _typed_parts(fmt)

    def blank(ref: str) -> bool:
        return cell_value(ctx.doc, fmt.cell(ref)) is None

    for row_label, refs in _rows(ctx):
        blank_refs = [ref for ref in refs if blank(ref) and not (ref in parts and any(blank(p) for p in parts[ref]))]
        if not blank_refs:
            continue
        columns = "、".join(fmt.cell(ref).column_label for ref in blank_refs)
        yield blank_refs, f"{row_label}有{len(blank_refs)}个空白单元格（{columns}）；没有发生的请填0。"


@rule("amount.precision", Severity.WARNING)
def amount_precision(ctx: Context):
    """An amount with more than 4 decimal places (4 places of 万元 = 1 元)."""
    for spec in ctx.fmt.cells():
        if spec.kind != CellKind.AMOUNT:
            continue
        amount = _amount_value(cell_value(ctx.doc, spec)) if cell_value(ctx.doc, spec) is not None else None
        if amount is not None and decimal_places(amount) > AMOUNT_PLACES:
            yield (
                [spec.ref],
                f"{ctx.label(spec.ref)}保留了{decimal_places(amount)}位小数，"
                f"通常保留{AMOUNT_PLACES}位（即精确到元），请核对。",
            )
