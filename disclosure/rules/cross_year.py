"""Rules against the same organization's previous-year report."""

from __future__ import annotations

from .engine import Context, Severity, known, rule

W = Severity.WARNING


def _ad(doc: dict, table: str, row: str, column: str):
    return doc["active_disclosure"].get(table, {}).get(row, {}).get(column)


@rule("cross_year.carried_over", W, needs_previous=True)
def cross_year_carried_over(ctx: Context):
    """This year's carried_over equals last year's carried_forward, per column."""
    previous = ctx.previous["applications"]["carried_forward"]
    for col in ctx.fmt.applications_columns:
        now, before = ctx.apps["carried_over"][col.code], previous.get(col.code)
        if known(now, before) and now != before:
            yield (
                [f"applications.carried_over.{col.code}"],
                f"“{col.label}”列上年结转为{now}件，但{ctx.previous['year']}年度报告结转下年度继续办理为{before}件。",
            )


@rule("cross_year.in_force", W, needs_previous=True)
def cross_year_in_force(ctx: Context):
    """2021 format: in_force = last year's in_force + issued - repealed, in every table that counts them."""
    for table in ctx.fmt.active_disclosure:
        label = {c.code: c.label for c in table.columns}
        if not {"in_force", "issued", "repealed"} <= set(label):
            continue
        for row in table.rows:
            before = _ad(ctx.previous, table.code, row.code, "in_force")
            issued, repealed, now = (_ad(ctx.doc, table.code, row.code, c) for c in ("issued", "repealed", "in_force"))
            if not known(before, issued, repealed, now):
                continue
            expected = before + issued - repealed
            if now != expected:
                yield (
                    [f"active_disclosure.{table.code}.{row.code}.{c}" for c in ("issued", "repealed", "in_force")],
                    f"“{row.label}”{label['in_force']}为{now}，按上年{before}件＋{label['issued']}{issued}件"
                    f"－{label['repealed']}{repealed}件应为{expected}件；如重新清理统计，请在说明中写明。",
                )


@rule("cross_year.previous", W, needs_previous=True)
def cross_year_previous(ctx: Context):
    """2019 format: previous = last year's previous + last year's change."""
    for table in ctx.fmt.active_disclosure:
        label = {c.code: c.label for c in table.columns}
        if "previous" not in label:
            continue
        for row in table.rows:
            now = _ad(ctx.doc, table.code, row.code, "previous")
            before = _ad(ctx.previous, table.code, row.code, "previous")
            change = _ad(ctx.previous, table.code, row.code, "change")
            if known(now, before, change) and now != before + change:
                yield (
                    [f"active_disclosure.{table.code}.{row.code}.previous"],
                    f"{table.caption}“{row.label}”{label['previous']}为{now}，按{ctx.previous['year']}年度报告"
                    f"（{before}{change:+d}）应为{before + change}。",
                )


OUTLIER_BASE = 10
OUTLIER_HIGH = 5
OUTLIER_LOW = 0.2


@rule("cross_year.outlier", Severity.INFO, needs_previous=True)
def cross_year_outlier(ctx: Context):
    """A total that moved by more than ×5 or below ×0.2 against last year (base ≥ 10)."""
    pairs = [
        (
            f"applications.{row.code}.total",
            ctx.apps[row.code]["total"],
            ctx.previous["applications"].get(row.code, {}).get("total"),
        )
        for row in ctx.fmt.applications_rows
    ] + [
        (
            f"reviews.{block.code}.total",
            ctx.doc["reviews"][block.code]["total"],
            ctx.previous["reviews"].get(block.code, {}).get("total"),
        )
        for block in ctx.fmt.reviews_blocks
    ]
    for ref, now, before in pairs:
        if not known(now, before) or before < OUTLIER_BASE:
            continue
        ratio = now / before
        if ratio > OUTLIER_HIGH or ratio < OUTLIER_LOW:
            yield (
                [ref],
                f"{ctx.label(ref)}由上年的{before}变为{now}（{ratio:.1f}倍），变化较大，请核对。",
            )
