"""The statutory tables as grids of header and body cells (merged cells included).

Built from the format registry only, so the editing pages, the preview and
any printed form lay the tables out the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .formats import Format, Row


@dataclass
class Cell:
    text: str = ""
    rowspan: int = 1
    colspan: int = 1
    kind: str = "header"  # header | group | label | value
    ref: str = ""  # value cells: the cell ref (spec §7)
    computed: bool = False
    column: str = ""
    value: Any = None


@dataclass
class Grid:
    code: str
    caption: str = ""
    header: list[list[Cell]] = field(default_factory=list)
    body: list[list[Cell]] = field(default_factory=list)

    def fill(self, values: dict[str, Any]) -> Grid:
        for row in self.body:
            for cell in row:
                if cell.kind == "value":
                    cell.value = values.get(cell.ref)
        return self


def active_disclosure_grids(fmt: Format) -> list[Grid]:
    grids = []
    for table in fmt.active_disclosure:
        grid = Grid(table.code, caption=table.caption)
        grid.header.append([Cell(fmt.active_disclosure_first_header)] + [Cell(c.label) for c in table.columns])
        for row in table.rows:
            grid.body.append(
                [Cell(row.label, kind="label")]
                + [
                    Cell(kind="value", ref=f"active_disclosure.{table.code}.{row.code}.{c.code}", column=c.code)
                    for c in table.columns
                ]
            )
        grids.append(grid)
    return grids


def _label_cells(rows: tuple[Row, ...], index: int, depth: int) -> list[Cell]:
    """Group cells that start at this row (spanning their run) and the row's own label."""
    row = rows[index]
    cells = []
    for level in range(len(row.groups)):
        prefix = row.groups[: level + 1]
        if index > 0 and rows[index - 1].groups[: level + 1] == prefix:
            continue  # the group cell was opened by an earlier row
        run = 1
        while index + run < len(rows) and rows[index + run].groups[: level + 1] == prefix:
            run += 1
        cells.append(Cell(prefix[-1], rowspan=run, kind="group"))
    cells.append(Cell(row.label, colspan=depth - len(row.groups), kind="label"))
    return cells


def applications_grid(fmt: Format) -> Grid:
    rows = fmt.applications_rows
    depth = max(len(r.groups) for r in rows) + 1
    columns = fmt.applications_columns
    grid = Grid("applications")
    # Three header rows: 申请人情况 / 自然人 · 法人或其他组织 · 总计 / the five organisations.
    grid.header.append(
        [
            Cell(fmt.applications_note, rowspan=3, colspan=depth),
            Cell(fmt.applications_applicant_header, colspan=len(columns)),
        ]
    )
    second, third, seen = [], [], set()
    for col in columns:
        if not col.group:
            second.append(Cell(col.label, rowspan=2))
        elif col.group not in seen:
            seen.add(col.group)
            second.append(Cell(col.group, colspan=sum(1 for c in columns if c.group == col.group)))
            third += [Cell(c.label) for c in columns if c.group == col.group]
    grid.header += [second, third]
    for index, row in enumerate(rows):
        grid.body.append(
            _label_cells(rows, index, depth)
            + [
                Cell(
                    kind="value",
                    ref=f"applications.{row.code}.{c.code}",
                    computed=row.computed or c.computed,
                    column=c.code,
                )
                for c in columns
            ]
        )
    return grid


def reviews_grid(fmt: Format) -> Grid:
    grid = Grid("reviews")
    columns = fmt.reviews_columns
    first, second, third = [], [], []
    groups_seen = set()
    for block in fmt.reviews_blocks:
        if not block.group:
            first.append(Cell(block.label, colspan=len(columns)))
            second += [Cell(c.label, rowspan=2) for c in columns]
            continue
        if block.group not in groups_seen:
            groups_seen.add(block.group)
            members = [b for b in fmt.reviews_blocks if b.group == block.group]
            first.append(Cell(block.group, colspan=len(columns) * len(members)))
        second.append(Cell(block.label, colspan=len(columns)))
        third += [Cell(c.label) for c in columns]
    grid.header = [first, second, third]
    grid.body.append(
        [
            Cell(kind="value", ref=f"reviews.{b.code}.{c.code}", computed=c.computed, column=c.code)
            for b in fmt.reviews_blocks
            for c in columns
        ]
    )
    return grid
