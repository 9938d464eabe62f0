"""The presentation model of a report: exactly what the report templates print.

Everything is derived from the format registry (disclosure/formats) and a
canonical interchange document, so the templates hold no statutory label and
a later format revision needs no template change. The three statutory tables
are the grids of disclosure/layout.py (shared with the editing pages, Excel
and Word) filled with the document's values; one template renders them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from .. import formats as reg
from ..formats import Format, Requirement
from ..interchange import canonicalize, cell_value
from ..layout import Grid
from ..layout import grids as layout_grids

LANG = "zh-CN"

# User-facing words that are not statutory labels.
DRAFT_WORD = "草稿"
AMOUNT_LINE = "金额：{amount}元"
REVISION_LINE = "第{revision}稿"

_DIGITS = "〇一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (enough for item numbering)."""
    if not 0 < n < 100:
        raise ValueError(n)
    tens, units = divmod(n, 10)
    text = (_DIGITS[tens] if tens > 1 else "") + ("十" if tens else "")
    return text + (_DIGITS[units] if units else "")


def item_heading(n: int, label: str) -> str:
    """A second-level heading as the statute numbers them: （一）主动公开."""
    return f"（{chinese_number(n)}）{label}"


def chinese_date(value: str | dt.date | None) -> str:
    """成文日期 in Arabic numerals without padding (GB/T 9704): 2021年1月21日."""
    if not value:
        return ""
    day = value if isinstance(value, dt.date) else dt.date.fromisoformat(value)
    return f"{day.year}年{day.month}月{day.day}日"


TITLE_LINE = 20  # 2号 characters in the 156 mm line


def text_width(text: str) -> float:
    """Width in full-width characters: ASCII letters and digits are half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1 for ch in text)


def title_lines(title: str, organization: str) -> tuple[str, ...]:
    """A title too long for one line breaks after the office's name, so that
    no line ends inside a word (GB/T 9704: 回行时词意完整、排列对称)."""
    title = title.strip()
    rest = title.removeprefix(organization).strip()
    if text_width(title) <= TITLE_LINE or rest == title or not rest:
        return (title,)
    if text_width(organization) <= TITLE_LINE and text_width(rest) <= TITLE_LINE:
        return (organization, rest)
    return (title,)


def paragraphs(text: str | None) -> tuple[str, ...]:
    """Narrative text → printed paragraphs (one per non-empty line)."""
    return tuple(line.strip() for line in (text or "").splitlines() if line.strip())


def cell_text(value: Any) -> str:
    """A blank cell prints blank, a zero prints 0; amounts print as stored."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- the model ------------------------------------------------------------


@dataclass(frozen=True)
class Cell:
    """One printed table cell.

    ``kind`` is one of caption (a 第二十条 item caption), head (a column
    header), note (the 勾稽 note), group (a row-group label spanning rows),
    label (a row label), value (a statutory cell). Value cells carry their
    cell ``ref`` (spec §7) so a preview can point at findings.
    """

    text: str
    kind: str
    colspan: int = 1
    rowspan: int = 1
    ref: str = ""
    computed: bool = False

    @property
    def blank(self) -> bool:
        return self.kind == "value" and self.text == ""

    @property
    def css_class(self) -> str:
        classes = [f"report-cell--{self.kind}"]
        if self.computed:
            classes.append("report-cell--computed")
        if self.blank:
            classes.append("report-cell--blank")
        return " ".join(classes)


@dataclass(frozen=True)
class TableRow:
    cells: tuple[Cell, ...]
    kind: str = "data"  # caption | head | data
    # No page break after this row: a row-group label needs a few of its
    # rows on the page to fit, and one row alone on a page loses its label.
    keep_with_next: bool = False

    @property
    def css_class(self) -> str:
        return f"report-row--{self.kind}" + (" report-row--keep-with-next" if self.keep_with_next else "")


@dataclass(frozen=True)
class RowGroup:
    """A <tbody>; ``keep_together`` ones never break across pages."""

    rows: tuple[TableRow, ...]
    keep_together: bool = False


@dataclass(frozen=True)
class Table:
    """A statutory table as a grid. ``head`` rows repeat on every page."""

    code: str
    columns: tuple[str, ...]  # one role per grid column: label | value
    head: tuple[TableRow, ...]
    bodies: tuple[RowGroup, ...]
    keep_together: bool = False

    @property
    def column_classes(self) -> tuple[str, ...]:
        # Numbered per role so the stylesheet can size each grid column.
        counts: dict[str, int] = {}
        out = []
        for role in self.columns:
            counts[role] = counts.get(role, 0) + 1
            out.append(f"report-col--{role} report-col--{role}-{counts[role]}")
        return tuple(out)

    def value_cells(self) -> list[Cell]:
        return [c for body in self.bodies for row in body.rows for c in row.cells if c.kind == "value"]


@dataclass(frozen=True)
class Part:
    """A narrative part: an optional second-level heading and its paragraphs."""

    path: str
    heading: str
    paragraphs: tuple[str, ...]

    @property
    def css_class(self) -> str:
        # An empty part (a draft, or a topic the report left out) prints its
        # heading alone; that heading need not keep with what follows.
        return "report-part" + ("" if self.paragraphs else " report-part--empty")


@dataclass(frozen=True)
class SectionView:
    code: str
    title: str
    parts: tuple[Part, ...] = ()
    table: Table | None = None


@dataclass(frozen=True)
class ReportView:
    lang: str
    format: str
    year: int
    title: str
    title_lines: tuple[str, ...]
    organization: str
    preamble: tuple[str, ...]
    sections: tuple[SectionView, ...]
    signature: str
    date: str
    draft: bool
    revision: int | None
    draft_mark: str  # "" when published, else e.g. 草稿 · 第3稿
    watermark: str  # "" when published, else 草稿
    revision_mark: str  # "" unless a draft with a revision, else e.g. 第3稿
    tables: dict[str, Table] = field(default_factory=dict)


# -- tables ---------------------------------------------------------------


KEEP_FIRST_ROWS = 3  # of a row group, on one page
KEEP_LAST_ROWS = 2
SHORT_TABLE = 8  # rows; a table this short never splits (table 四)
ROLES = {"header": "head"}  # layout.py roles → Cell kinds (the rest are the same)


def _keep_with_next(grid: Grid, body_top: int, body_height: int) -> list[bool]:
    """Rows of a body after which no page break may come: the first rows of
    every row group (its spanning label needs room, and a group never starts
    with one row at a page foot) and its last two rows. (The table's first rows
    are kept with its header by table_from_grid.)"""
    keep = [False] * body_height
    for cell in grid.cells:
        if cell.role != "group" or cell.rowspan < 2:
            continue
        first = cell.row - body_top
        for r in range(first, first + min(cell.rowspan, KEEP_FIRST_ROWS) - 1):
            keep[r] = True
        if cell.rowspan > KEEP_FIRST_ROWS:
            for r in range(first + cell.rowspan - KEEP_LAST_ROWS, first + cell.rowspan - 1):
                keep[r] = True
    return keep


def table_from_grid(grid: Grid, doc: dict) -> Table:
    """A statutory table of disclosure/layout.py (the grid the editing pages,
    Excel and Word use too) with the document's values, cut into what prints:
    header rows that repeat on every page, and bodies — one per 第二十条 item
    in table 二, which stays whole."""
    fmt = reg.get_format(doc["format"])
    rows: list[list[Cell]] = [[] for _ in range(grid.height)]
    value_columns = set()
    for g in sorted(grid.cells, key=lambda c: (c.row, c.col)):
        if g.role == "value":
            value_columns.add(g.col)
            text = cell_text(cell_value(doc, fmt.cell(g.ref)))
        else:
            text = g.text
        rows[g.row].append(Cell(text, ROLES.get(g.role, g.role), g.colspan, g.rowspan, g.ref, g.computed))

    def kind(cells: list[Cell]) -> str:
        return "caption" if cells[0].kind == "caption" else "head" if cells[0].kind == "head" else "data"

    head = tuple(TableRow(tuple(r), kind="head") for r in rows[: grid.header_rows])
    body_rows = rows[grid.header_rows :]
    keep = _keep_with_next(grid, grid.header_rows, len(body_rows))
    if head:
        # The header never stands at a page foot with fewer than KEEP_FIRST_ROWS
        # of its rows: the table then starts on the next page (issue 13).
        for r in range(min(KEEP_FIRST_ROWS, len(body_rows)) - 1):
            keep[r] = True
    printed = [TableRow(tuple(r), kind(r), kept) for r, kept in zip(body_rows, keep, strict=True)]
    starts = [i for i, row in enumerate(printed) if row.kind == "caption"] or [0]
    bodies = tuple(
        RowGroup(tuple(printed[a:b]), keep_together=printed[a].kind == "caption")
        for a, b in zip(starts, [*starts[1:], len(printed)], strict=True)
    )
    return Table(
        code=grid.code,
        columns=tuple("value" if c in value_columns else "label" for c in range(grid.width)),
        head=head,
        bodies=bodies,
        keep_together=grid.height <= SHORT_TABLE,
    )


def statutory_tables(fmt: Format, doc: dict) -> dict[str, Table]:
    # The 2019 procurement item prints the unit its report stores.
    return {grid.code: table_from_grid(grid, doc) for grid in layout_grids(fmt, fmt.unit_of(doc))}


# -- narrative -------------------------------------------------------------


def _narrative_text(doc: dict, part: reg.NarrativePart) -> tuple[str, ...]:
    node: Any = doc["narrative"]
    for key in part.path.split("."):
        node = node.get(key) if isinstance(node, dict) else None
    if part.has_amount:
        node = node or {}
        lines = paragraphs(node.get("text"))
        amount = node.get("amount_yuan")
        return ((AMOUNT_LINE.format(amount=amount),) if amount is not None else ()) + lines
    return paragraphs(node)


def _is_printed(part: reg.NarrativePart, text: tuple[str, ...], kind: str) -> bool:
    """Required parts always print (an empty one shows what is missing);
    optional ones only with text; a government's part for governments."""
    if part.requirement == Requirement.ALWAYS:
        return True
    if part.requirement == Requirement.GOVERNMENT:
        return kind == "government" or bool(text)
    return bool(text)


def narrative_parts(fmt: Format, doc: dict, section: str) -> tuple[Part, ...]:
    """A narrative section's parts. Optional parts (the lead text) print
    without a heading; when a section has several topics each gets a
    numbered second-level heading, a single part is the section itself."""
    parts = [p for p in fmt.narrative if p.path.split(".")[0] == section]
    topics = [p for p in parts if p.requirement != Requirement.OPTIONAL]
    kind = doc["organization"]["kind"]
    out = []
    number = 0
    for part in parts:
        text = _narrative_text(doc, part)
        if not _is_printed(part, text, kind):
            continue
        heading = ""
        if part.requirement != Requirement.OPTIONAL and len(topics) > 1:
            number += 1
            heading = item_heading(number, part.label)
        out.append(Part(part.path, heading, text))
    return tuple(out)


def _preamble(fmt: Format, doc: dict) -> tuple[str, ...]:
    # Narrative parts outside every section (the 前言) print before 一、.
    sections = {s.code for s in fmt.sections}
    return tuple(
        line for p in fmt.narrative if p.path.split(".")[0] not in sections for line in _narrative_text(doc, p)
    )


# -- the context ------------------------------------------------------------


def report_view(doc: dict, *, draft: bool = False, revision: int | None = None) -> ReportView:
    doc = canonicalize(doc)
    fmt = reg.get_format(doc["format"])
    organization = doc["organization"]["name"]
    if doc["title"]:
        title = doc["title"]
    else:
        from ..services import default_title  # services imports models: keep this module light

        title = default_title(organization, doc["year"])
    sections = []
    tables = statutory_tables(fmt, doc)
    for section in fmt.sections:
        if section.is_table:
            sections.append(SectionView(section.code, section.title, table=tables[section.code]))
        else:
            sections.append(SectionView(section.code, section.title, parts=narrative_parts(fmt, doc, section.code)))
    revision_mark = REVISION_LINE.format(revision=revision) if draft and revision is not None else ""
    mark = " · ".join(m for m in (DRAFT_WORD, revision_mark) if m) if draft else ""
    return ReportView(
        lang=LANG,
        format=fmt.code,
        year=doc["year"],
        title=title,
        title_lines=title_lines(title, organization),
        organization=organization,
        preamble=_preamble(fmt, doc),
        sections=tuple(sections),
        signature=organization,
        date=chinese_date(doc["issued_on"]),
        draft=draft,
        revision=revision,
        draft_mark=mark,
        watermark=DRAFT_WORD if draft else "",
        revision_mark=revision_mark,
        tables=tables,
    )


def report_context(doc: dict, *, draft: bool = False, revision: int | None = None) -> dict:
    """The template context of ``report/_body.html`` (and ``report/document.html``).

    ``doc`` is an interchange document (``disclosure-report/1``; canonical or
    not, it is canonicalized here); ``selectors.export_report(report)`` gives
    one for a stored report. The context has one key, ``report``, a
    :class:`ReportView`:

    - ``lang`` ("zh-CN"), ``format``, ``year``, ``title`` (the document's
      title, or the default one) and ``title_lines`` (how it is broken),
      ``organization`` (name as printed);
    - ``preamble``: paragraphs printed before 一、;
    - ``sections``: the six sections in statutory order, each a
      :class:`SectionView` with ``code``, ``title`` (the statutory title) and
      either ``parts`` (narrative: :class:`Part` with ``path``, ``heading``
      — "" for lead text — and ``paragraphs``) or ``table`` (a
      :class:`Table`: ``code``, ``column_classes``, ``head`` rows repeated on
      each page, ``bodies`` of rows; every :class:`Cell` has ``text``,
      ``kind``, ``colspan``, ``rowspan``, ``css_class`` and, for values, the
      cell ``ref`` such as ``applications.granted.total``);
    - ``signature`` and ``date`` (成文日期, e.g. 2021年1月21日; "" if unknown);
    - ``draft``, ``revision``, ``draft_mark`` (e.g. 草稿 · 第3稿),
      ``watermark`` (草稿) and ``revision_mark`` (第3稿); "" when published.

    A page that includes ``report/_body.html`` must load
    ``static/report/report.css``; the PDF adds ``static/report/print.css``.
    """
    return {"report": report_view(doc, draft=draft, revision=revision)}
