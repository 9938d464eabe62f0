"""The statutory layout of tables 二, 三 and 四 as grids with merged cells.

Built from the format registry alone, and shared by the clerk's editing
pages, the Excel and the Word writers, so that all of them lay out the same
captions, header groups and row groups.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from .formats import CellKind, Format


@dataclass
class GridCell:
    row: int
    col: int
    text: str = ""
    rowspan: int = 1
    colspan: int = 1
    role: str = "value"  # caption, header, group, label, note, value
    ref: str = ""  # value cells: the cell ref (spec §7)
    kind: CellKind | None = None
    computed: bool = False


@dataclass
class Grid:
    code: str  # section code
    title: str  # section title, e.g. 二、…
    width: int
    cells: list[GridCell] = field(default_factory=list)
    header_rows: int = 0  # leading rows that repeat on every page

    @property
    def height(self) -> int:
        return max((c.row + c.rowspan for c in self.cells), default=0)

    def add(self, **kwargs: Any) -> GridCell:
        cell = GridCell(**kwargs)
        self.cells.append(cell)
        return cell


def amount_header(label: str, unit: str | None) -> str:
    return f"{label}（{unit}）" if unit else label


def active_disclosure_grid(fmt: Format, unit: str | None = None) -> Grid:
    """One table: per 第二十条 item a caption row, a header row and its rows."""
    width = 1 + max(len(t.columns) for t in fmt.active_disclosure)
    grid = Grid("active_disclosure", fmt.section("active_disclosure").title, width)
    r = 0
    for table in fmt.active_disclosure:
        grid.add(row=r, col=0, text=table.caption, colspan=width, role="caption")
        r += 1
        grid.add(row=r, col=0, text=fmt.active_disclosure_first_header, role="header")
        spans = [1] * len(table.columns)
        spans[-1] = width - len(table.columns)
        c = 1
        for col, span in zip(table.columns, spans, strict=True):
            text = amount_header(col.label, unit) if table.has_unit and col.kind == CellKind.AMOUNT else col.label
            grid.add(row=r, col=c, text=text, colspan=span, role="header")
            c += span
        r += 1
        for row in table.rows:
            grid.add(row=r, col=0, text=row.label, role="label")
            c = 1
            for col, span in zip(table.columns, spans, strict=True):
                grid.add(
                    row=r,
                    col=c,
                    colspan=span,
                    ref=f"active_disclosure.{table.code}.{row.code}.{col.code}",
                    kind=col.kind,
                )
                c += span
            r += 1
    return grid


def applications_grid(fmt: Format) -> Grid:
    rows = fmt.applications_rows
    groups = [row.groups for row in rows]
    label_cols = 1 + max(len(g) for g in groups)
    columns = fmt.applications_columns
    width = label_cols + len(columns)
    grid = Grid("applications", fmt.section("applications").title, width, header_rows=3)
    grid.add(row=0, col=0, text=fmt.applications_note, rowspan=3, colspan=label_cols, role="note")
    grid.add(row=0, col=label_cols, text=fmt.applications_applicant_header, colspan=len(columns), role="header")
    c = label_cols
    # Consecutive columns of one group share a merged header cell above their own.
    for group, run in groupby(columns, key=lambda col: col.group):
        run = list(run)
        if group:
            grid.add(row=1, col=c, text=group, colspan=len(run), role="header")
            for k, member in enumerate(run):
                grid.add(row=2, col=c + k, text=member.label, role="header")
        else:
            for k, col in enumerate(run):
                grid.add(row=1, col=c + k, text=col.label, rowspan=2, role="header")
        c += len(run)
    top = 3
    for k, (row, row_groups) in enumerate(zip(rows, groups, strict=True)):
        r = top + k
        for level, group in enumerate(row_groups):
            starts = k == 0 or groups[k - 1][: level + 1] != row_groups[: level + 1]
            if starts:
                run = 1
                while k + run < len(rows) and groups[k + run][: level + 1] == row_groups[: level + 1]:
                    run += 1
                grid.add(row=r, col=level, text=group, rowspan=run, role="group")
        depth = len(row_groups)
        grid.add(row=r, col=depth, text=row.label, colspan=label_cols - depth, role="label")
        for j, col in enumerate(columns):
            grid.add(
                row=r,
                col=label_cols + j,
                ref=f"applications.{row.code}.{col.code}",
                kind=col.kind,
                computed=row.computed or col.computed,
            )
    return grid


def reviews_grid(fmt: Format) -> Grid:
    columns = fmt.reviews_columns
    n = len(columns)
    blocks = fmt.reviews_blocks
    grid = Grid("reviews", fmt.section("reviews").title, n * len(blocks), header_rows=3)
    c = 0
    # Consecutive blocks of one group (litigation: direct, after reconsideration) share a header.
    for group, run in groupby(blocks, key=lambda block: block.group):
        run = list(run)
        if group:
            grid.add(row=0, col=c, text=group, colspan=n * len(run), role="header")
        for block in run:
            grid.add(row=1 if group else 0, col=c, text=block.label, colspan=n, role="header")
            for j, col in enumerate(columns):
                if group:
                    grid.add(row=2, col=c + j, text=col.label, role="header")
                else:
                    grid.add(row=1, col=c + j, text=col.label, rowspan=2, role="header")
            c += n
    c = 0
    for block in blocks:
        for col in columns:
            grid.add(row=3, col=c, ref=f"reviews.{block.code}.{col.code}", kind=col.kind, computed=col.computed)
            c += 1
    return grid


def grids(fmt: Format, unit: str | None = None) -> list[Grid]:
    return [active_disclosure_grid(fmt, unit), applications_grid(fmt), reviews_grid(fmt)]


@dataclass
class HtmlCell:
    cell: GridCell
    value: Any = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self.cell, name)


def html_rows(grid: Grid, values: dict[str, Any] | None = None) -> tuple[list[list[HtmlCell]], list[list[HtmlCell]]]:
    """The grid as HTML table rows (head, body), cells in column order, values filled in by ref."""
    values = values or {}
    rows: list[list[HtmlCell]] = [[] for _ in range(grid.height)]
    for cell in sorted(grid.cells, key=lambda c: (c.row, c.col)):
        rows[cell.row].append(HtmlCell(cell, values.get(cell.ref) if cell.ref else None))
    return rows[: grid.header_rows], rows[grid.header_rows :]


def cell_names(grid: Grid) -> dict[str, str]:
    """Each value cell's accessible name: its table, row and column labels as the grid prints them.

    The table is the nearest caption above (table 二's items) or the grid's
    title; the row, the group and label cells beside it; the column, the
    header cells above it in the nearest block of header rows.
    """
    by_row: dict[int, list[GridCell]] = {}
    for cell in grid.cells:
        for r in range(cell.row, cell.row + cell.rowspan):
            by_row.setdefault(r, []).append(cell)

    def covers(cell: GridCell, col: int) -> bool:
        return cell.col <= col < cell.col + cell.colspan

    names: dict[str, str] = {}
    for cell in grid.cells:
        if not cell.ref:
            continue
        r, c = cell.row, cell.col
        table = grid.title
        for above in range(r - 1, -1, -1):
            caption = next((x for x in by_row.get(above, []) if x.role == "caption"), None)
            if caption is not None:
                table = caption.text
                break
        row = [x.text for x in sorted(by_row.get(r, []), key=lambda x: x.col) if x.role in ("group", "label")]
        column: list[str] = []
        above = r - 1
        # Skip value rows up to the header block that names this column.
        while above >= 0 and not any(x.role == "header" and covers(x, c) for x in by_row.get(above, [])):
            above -= 1
        while above >= 0 and not any(x.ref for x in by_row.get(above, [])):
            column[:0] = [
                x.text
                for x in by_row.get(above, [])
                if x.role == "header" and covers(x, c) and x.row == above and x.text not in column
            ]
            above -= 1
        names[cell.ref] = "，".join(part for part in (table, " ".join(row), " ".join(column)) if part)
    return names
