"""Map the printed tables 二, 三 and 四 to statutory cells, by their labels.

The table part of a report is read as one stream of cells in reading order,
whatever the layout was (tab-separated, one cell per line, pipes, HTML or
Word grids, PDF tables). Text cells are matched against the registry's
labels — captions, column headers, row groups and rows — in statutory order;
the numbers that follow a row label belong to that row. A number is placed
only when its row and column are certain: otherwise it is reported as left
over, and a cell that was not printed stays null and is reported missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .. import formats as reg
from ..formats import CellKind, Column, Format
from ..interchange import AMOUNT_PLACES, MAX_AMOUNT_PLACES, decimal_places, format_amount
from .extract import Line
from .labels import MATCH_THRESHOLD, Label, Printed, align, best, key, ratio, score
from .result import Problem
from .values import Cell, Kind, read_cell

SEGMENTS = ("active_disclosure", "applications", "reviews")
_UNIT = re.compile(r"(?:单位[:：]?\s*|[(（]\s*)(万元|元)")
# Where a numbering prefix may start inside a cell holding a group label and a row label.
_INNER_NUMBERING = re.compile(r"(?:\d+\s*[.、]|[(（]\s*[一二三四五六七八九十]+\s*[)）]|[一二三四五六七八九十]+、)")


@dataclass
class Token:
    text: str
    cell: Cell
    row: int
    where: str
    section: str = ""  # set on a section heading: the section it opens

    @property
    def is_text(self) -> bool:
        return not self.section and self.cell.kind == Kind.TEXT

    @property
    def printed(self) -> Printed:
        return Printed.of(self.text)


def tokens_of(lines: list[Line], markers: dict[int, str]) -> list[Token]:
    """The table zone as a stream of cells; ``markers`` maps line indexes to section headings."""
    out: list[Token] = []
    for index, line in enumerate(lines):
        if index in markers:
            out.append(Token(line.text, read_cell(""), line.row, line.where, section=markers[index]))
            continue
        if line.blank:
            continue
        if line.table:
            for text in line.cells:
                if text is None:
                    continue  # covered by a merged cell
                out.append(Token(text.strip(), read_cell(text), line.row, line.where))
            continue
        text = line.text
        pieces = text.split()
        # "(七) 总计 0 0 0" copied from a PDF viewer: numbers separated by spaces are
        # cells; the words between them form one label.
        if len(pieces) > 1 and any(read_cell(p).is_value for p in pieces) and not text.rstrip().endswith("。"):
            words: list[str] = []
            for piece in pieces:
                cell = read_cell(piece)
                if cell.is_value:
                    if words:
                        label = " ".join(words)
                        out.append(Token(label, read_cell(label), line.row, line.where))
                        words = []
                    out.append(Token(piece, cell, line.row, line.where))
                else:
                    words.append(piece)
            if words:
                label = " ".join(words)
                out.append(Token(label, read_cell(label), line.row, line.where))
        else:
            out.append(Token(text, read_cell(text), line.row, line.where))
    return out


@dataclass
class RowState:
    """A printed row: its label and the cells that followed it."""

    ref: str  # active_disclosure.art20_1.regulations / applications.granted / reviews
    label_row: int
    where: str
    expected: int  # how many numbers the row holds
    tokens: list[Token] = field(default_factory=list)
    # Numbers printed just before the label (a label cut by a page break, or a
    # PDF row whose label lines sort after its numbers); used only when the
    # row has no numbers of its own.
    before: list[Token] = field(default_factory=list)

    @property
    def values(self) -> list[Token]:
        return [t for t in self.tokens if t.cell.is_value]

    @property
    def full(self) -> bool:
        return len(self.values) >= self.expected


@dataclass
class TableResult:
    cells: dict[str, Any]  # every statutory ref → value (None when not placed)
    problems: list[Problem]
    unit: str | None  # 2019 procurement unit, when printed


class TableReader:
    def __init__(self, fmt: Format) -> None:
        self.fmt = fmt
        self.problems: list[Problem] = []
        self.explained: set[str] = set()  # refs a specific problem already names
        self.leftovers: list[Token] = []
        self.pending: list[Token] = []  # numbers no open row could take (yet)
        self.rows: dict[str, RowState] = {}
        self.open: RowState | None = None
        self.segment = SEGMENTS[0]
        # 二
        self.ad_rows = [(t, r) for t in fmt.active_disclosure for r in t.rows]
        self.ad_labels = [(Label.of(r.label), i) for i, (_t, r) in enumerate(self.ad_rows)]
        self.captions = [(Label.of(t.caption), t) for t in fmt.active_disclosure]
        self.first_header = Label.of(fmt.active_disclosure_first_header)
        self.ad_pos = 0
        self.ad_table: reg.SubTable | None = None
        self.ad_headers: dict[str, list[str]] = {}
        self.ad_collecting = False
        # 三
        self.app_labels = [(Label.of(r.label), i) for i, r in enumerate(fmt.applications_rows)]
        groups: list[str] = []
        for row in fmt.applications_rows:
            groups += [g for g in row.groups if g not in groups]
        self.group_labels = [(Label.of(g), g) for g in groups]
        self.app_pos = 0
        col_groups = {c.group for c in fmt.applications_columns if c.group}
        self.app_anchor_labels = [
            (Label.of(t), t)
            for t in (
                fmt.applications_note,
                fmt.applications_applicant_header,
                fmt.section("applications").title,
                *col_groups,
                *(c.label for c in fmt.applications_columns if len(key(c.label)) >= 4),
                *groups,
                *(r.label for r in fmt.applications_rows),
            )
        ]
        # 四
        self.block_labels = [(Label.of(b.label), b.code) for b in fmt.reviews_blocks]
        self.block_labels += [(Label.of(b.group), b.group) for b in fmt.reviews_blocks if b.group]
        self.leaf_labels = [(Label.of(c.label), c.code) for c in fmt.reviews_columns]
        self.rv_headers: list[str] = []
        self.rv_state: RowState | None = None
        self.review_anchor_labels = [
            (Label.of(fmt.section("reviews").title), "title"),
            *self.block_labels,
            *[(lab, code) for lab, code in self.leaf_labels if len(lab.core) >= 4],
        ]
        self.ad_anchor_labels = [
            *[(lab, "caption") for lab, _ in self.captions],
            *[(lab, "row") for lab, _ in self.ad_labels],
            *[(Label.of(c.label), "column") for t in fmt.active_disclosure for c in t.columns],
        ]

    # -- the stream ----------------------------------------------------------
    def read(self, tokens: list[Token]) -> None:
        for tok in tokens:
            if tok.section:
                if tok.section in SEGMENTS and SEGMENTS.index(tok.section) > SEGMENTS.index(self.segment):
                    self._switch(tok.section)
                continue
            if tok.is_text:
                ahead = self._segment_ahead(tok)
                if ahead:
                    self._switch(ahead)
            getattr(self, f"_{self.segment}")(tok)
        self.open = None
        self._flush_pending()

    def _switch(self, segment: str) -> None:
        self.open = None
        self._flush_pending()
        self.segment = segment

    def _segment_ahead(self, tok: Token) -> str | None:
        """A text that belongs to a later table starts that table (a heading may be missing)."""
        printed = tok.printed
        here = SEGMENTS.index(self.segment)
        scores = {
            "active_disclosure": best(printed, self.ad_anchor_labels)[0],
            "applications": best(printed, self.app_anchor_labels)[0],
            "reviews": best(printed, self.review_anchor_labels)[0],
        }
        for segment in SEGMENTS[here + 1 :]:
            mine = scores[segment]
            if mine >= 0.7 and all(mine > s for name, s in scores.items() if name != segment):
                return segment
        return None

    def _value(self, tok: Token) -> None:
        if tok.cell.kind == Kind.RULE:
            return
        if self.open is not None and not (self.open.full and tok.cell.is_value):
            self.open.tokens.append(tok)
        elif tok.cell.is_value:
            self.pending.append(tok)

    def _unknown(self, tok: Token) -> None:
        # Text between a label and its numbers (a label cut in two) keeps the row
        # open; text after the numbers ends it.
        if self.open is not None and self.open.values:
            self.open = None

    def _open_row(self, ref: str, tok: Token, expected: int) -> None:
        state = self.rows.get(ref)
        if state is None:
            state = self.rows[ref] = RowState(ref, tok.row, tok.where, expected)
        state.before += self.pending
        self.pending = []
        self.open = state

    def _flush_pending(self) -> None:
        self.leftovers += [t for t in self.pending if t.cell.kind == Kind.NUMBER]
        self.pending = []

    def _match_row(self, printed: Printed, labels: list, start: int) -> tuple[float, int | None]:
        candidates = [(lab, i) for lab, i in labels if i >= start]
        top, found = best(printed, candidates)
        if found is None or top < 0.85:
            # "(三) 不予公开 1.…": a group label and a row label in one cell.
            for match in _INNER_NUMBERING.finditer(printed.text):
                if match.start() == 0:
                    continue
                s, i = best(Printed.of(printed.text[match.start() :]), candidates)
                if i is not None and s >= 0.85 and s > top:
                    top, found = s, i
        return top, found

    # -- 二 ------------------------------------------------------------------
    def _active_disclosure(self, tok: Token) -> None:
        if not tok.is_text:
            self._value(tok)
            return
        printed = tok.printed
        for label, table in self.captions:
            if printed.core == label.core:
                self.open = None
                self.ad_table = table
                self.ad_pos = next(i for i, (t, _r) in enumerate(self.ad_rows) if t is table)
                self.ad_headers[table.code] = [tok.text]
                self.ad_collecting = True
                return
        top, index = self._match_row(printed, self.ad_labels, self.ad_pos)
        if index is not None:
            table, row = self.ad_rows[index]
            ref = f"active_disclosure.{table.code}.{row.code}"
            if self.open is not None and self.open.ref == ref:
                return  # the rest of a label cut in two
            if table is not self.ad_table:
                self.ad_table = table
                self.ad_headers.setdefault(table.code, [])
            self.ad_collecting = False
            self.ad_pos = index
            self._open_row(ref, tok, len(table.columns))
            return
        if self.ad_collecting and self.ad_table is not None:
            self.ad_headers[self.ad_table.code].append(tok.text)
            return
        self._unknown(tok)

    # -- 三 ------------------------------------------------------------------
    def _applications(self, tok: Token) -> None:
        if not tok.is_text:
            self._value(tok)
            return
        printed = tok.printed
        row_score, index = self._match_row(printed, self.app_labels, self.app_pos)
        group_score, _group = best(printed, self.group_labels)
        if index is not None and row_score >= group_score:
            ref = f"applications.{self.fmt.applications_rows[index].code}"
            last = self.rows.get(ref)
            if last is not None and index == self.app_pos:
                # The second half of a label cut by a page break: the numbers
                # may come before it or after it.
                if not last.values:
                    self.open = last
                return
            self.app_pos = index
            self._open_row(ref, tok, len(self.fmt.applications_columns))
            return
        if group_score:
            self.open = None
            return
        self._unknown(tok)

    # -- 四 ------------------------------------------------------------------
    def _reviews(self, tok: Token) -> None:
        if tok.is_text:
            if self.rv_state is not None and self.rv_state.values:
                self.open = None
                return
            block_score, _ = best(tok.printed, self.block_labels)
            # Leaf headers are aligned as a sequence later, so a garbled one
            # (尚未结果) only needs to resemble some column label here.
            leaf_sim = max(ratio(tok.printed.core, label.core) for label, _ in self.leaf_labels)
            if not block_score and leaf_sim >= 0.45:
                self.rv_headers.append(tok.text)
            return
        if self.rv_state is None and tok.cell.is_value:
            expected = len(self.fmt.reviews_blocks) * len(self.fmt.reviews_columns)
            self._flush_pending()
            self.rv_state = self.rows["reviews"] = RowState("reviews", tok.row, tok.where, expected)
            self.open = self.rv_state
        self._value(tok)

    # -- placing the numbers ---------------------------------------------------
    def result(self) -> TableResult:
        cells: dict[str, Any] = {spec.ref: None for spec in self.fmt.cells()}
        placed: dict[str, Token | None] = {}
        unit = None
        for table in self.fmt.active_disclosure:
            headers = self.ad_headers.get(table.code, [])
            columns = list(table.columns)
            printed = self._printed_columns(headers, columns)
            for row in table.rows:
                ref = f"active_disclosure.{table.code}.{row.code}"
                self._place(ref, columns, printed, placed)
            if table.has_unit:
                unit = self._unit(headers, placed, table)
                self._convert_units(table, headers, placed, unit)
            else:
                self._convert_units(table, headers, placed)
        for row in self.fmt.applications_rows:
            self._place(f"applications.{row.code}", list(self.fmt.applications_columns), None, placed)
        leaves = [(b, c) for b in self.fmt.reviews_blocks for c in self.fmt.reviews_columns]
        headers = self.rv_headers
        printed_leaves = None
        if headers:
            positions = align(headers, [c.label for _b, c in leaves])
            printed_leaves = [None if p is None else leaves[p] for p in positions]
            if printed_leaves == leaves:
                printed_leaves = None
            elif printed_leaves and all(p is not None for p in printed_leaves):
                missing = [f"reviews.{b.code}.{c.code}" for b, c in leaves if (b, c) not in printed_leaves]
                self.explained.update(missing)
                self.problems.append(
                    Problem(
                        "column_missing",
                        "表四的表头缺少以下列，数字按印出的表头逐列对应，这些单元格留空："
                        + "、".join(self._labels(missing)),
                        tuple(missing),
                    )
                )
        state = self.rows.get("reviews")
        if state is not None:
            assignment = self._assign(state, leaves, printed_leaves, lambda bc: f"reviews.{bc[0].code}.{bc[1].code}")
            for (block, col), tok in assignment.items():
                placed[f"reviews.{block.code}.{col.code}"] = tok
        for ref, tok in placed.items():
            if tok is not None:
                cells[ref] = self._convert(ref, tok)
        self._report(cells, placed)
        return TableResult(cells, self.problems, unit)

    def _printed_columns(self, headers: list[str], columns: list[Column]) -> list[Column | None] | None:
        """The columns as printed under a caption, when they differ from the statute."""
        names = [h for h in headers[1:] if score(Printed.of(h), self.first_header) < MATCH_THRESHOLD]
        names = [h for h in names if best(Printed.of(h), [(Label.of(c.label), c) for c in columns])[1] is not None]
        if not names:
            return None
        positions = align(names, [c.label for c in columns])
        printed = [None if p is None else columns[p] for p in positions]
        return None if printed == columns else printed

    def _place(self, ref: str, columns: list, printed: list | None, placed: dict) -> None:
        state = self.rows.get(ref)
        if state is None:
            return
        for col, tok in self._assign(state, columns, printed, lambda c: f"{ref}.{c.code}").items():
            placed[f"{ref}.{col.code}"] = tok

    def _assign(self, state: RowState, columns: list, printed: list | None, ref_of) -> dict:
        """Column → token for a row, or nothing when the numbers cannot be placed with certainty."""
        tokens = [t for t in state.tokens if t.cell.kind != Kind.RULE]
        values = [t for t in tokens if t.cell.is_value]
        if not values and state.before:
            if len(state.before) == len(columns):
                return {col: tok for col, tok in zip(columns, state.before, strict=True) if col is not None}
            for tok in state.before:
                self._leftover(tok)
        elif state.before:
            for tok in state.before:
                self._leftover(tok)
        target = printed if printed and len(values) == len(printed) else columns
        if not values:
            return {}
        if len(values) >= len(target):
            out = {}
            for col, tok in zip(target, values, strict=False):
                if col is None:
                    self._leftover(tok)
                else:
                    out[col] = tok
            for tok in values[len(target) :]:
                self._leftover(tok)
            return out
        # Fewer numbers than columns: place them by position within the printed row.
        same_row = [t for t in tokens if t.row == state.label_row]
        if len(same_row) >= len(columns) and all(v in same_row[: len(columns)] for v in values):
            return dict(zip(columns, same_row, strict=False))
        for tok in values:
            self._leftover(tok)
        refs = tuple(ref_of(c) for c in columns)
        self.explained.update(refs)
        self.problems.append(
            Problem(
                "row_unplaced",
                f"{self._row_name(state.ref)}只印出{len(values)}个数字（应为{len(columns)}个），"
                "无法确定各属哪一列，均未填入。",
                refs,
                state.where,
            )
        )
        return {}

    def _leftover(self, tok: Token) -> None:
        if tok.cell.kind == Kind.NUMBER:
            self.leftovers.append(tok)

    def _unit(self, headers: list[str], placed: dict, table: reg.SubTable) -> str | None:
        for text in headers:
            match = _UNIT.search(text)
            if match:
                return match.group(1)
        for col in table.columns:
            for row in table.rows:
                tok = placed.get(f"active_disclosure.{table.code}.{row.code}.{col.code}")
                if tok is not None and tok.cell.unit in ("万元", "元"):
                    return tok.cell.unit
        return None

    def _convert_units(self, table: reg.SubTable, headers: list[str], placed: dict, unit: str | None = None) -> None:
        """An amount printed in another unit than its column's is converted exactly, and said so.

        The unit is the cell's own (251000元) or else the header's (（单位：元）). The statute
        wants 万元 in 二's fee column; the 2019 procurement table keeps the unit most of its
        cells print (``unit``) and converts the others to it.
        """
        printed_unit = next((m.group(1) for h in headers if (m := _UNIT.search(h))), None)
        for col in table.columns:
            if col.kind != CellKind.AMOUNT:
                continue
            if table.has_unit:
                target = unit
            else:
                target = "万元" if "万元" in col.label else None
            if target is None:
                continue
            for row in table.rows:
                ref = f"active_disclosure.{table.code}.{row.code}.{col.code}"
                tok = placed.get(ref)
                if tok is None or tok.cell.number is None:
                    continue
                source = (
                    tok.cell.unit if tok.cell.unit in ("元", "万元") else (None if table.has_unit else printed_unit)
                )
                if source is None or source == target:
                    continue
                printed = tok.cell.number
                value = printed / 10000 if source == "元" else printed * 10000
                if decimal_places(value) > MAX_AMOUNT_PLACES:
                    # 251000.123元 is 25.1000123万元: more places than a stored amount holds. Never rounded.
                    placed[ref] = None
                    self.explained.add(ref)
                    self.problems.append(
                        Problem(
                            "unit_converted",
                            f"{self.fmt.label_of(ref)}按“{source}”印出（{printed}{source}），"
                            f"换算为{target}后超过{MAX_AMOUNT_PLACES}位小数，无法精确保存，未填入。",
                            (ref,),
                            tok.where,
                        )
                    )
                    continue
                placed[ref] = Token(tok.text, Cell(tok.text, Kind.NUMBER, value), tok.row, tok.where)
                self.problems.append(
                    Problem(
                        "unit_converted",
                        f"{self.fmt.label_of(ref)}按“{source}”印出（{printed}{source}），已换算为{target}。",
                        (ref,),
                        tok.where,
                    )
                )

    def _convert(self, ref: str, tok: Token) -> Any:
        spec = self.fmt.cell(ref)
        if tok.cell.kind != Kind.NUMBER:
            return None
        number = tok.cell.number
        if spec.kind == CellKind.AMOUNT:
            return format_amount(Decimal(number), AMOUNT_PLACES)
        if number != number.to_integral_value():
            self.explained.add(ref)
            self.problems.append(
                Problem("not_whole", f"{self.fmt.label_of(ref)}印为“{tok.text}”，不是整数，未填入。", (ref,), tok.where)
            )
            return None
        return int(number)

    # -- what could not be placed ----------------------------------------------
    def _row_name(self, ref: str) -> str:
        parts = ref.split(".")
        if parts[0] == "active_disclosure":
            table = self.fmt.subtable(parts[1])
            row = next(r for r in table.rows if r.code == parts[2])
            return f"表二{table.caption}“{row.label}”行"
        if parts[0] == "applications":
            return f"表三“{self.fmt.applications_row(parts[1]).full_label}”行"
        if len(parts) > 1:
            block = next(b for b in self.fmt.reviews_blocks if b.code == parts[1])
            return f"表四“{block.label}”"
        return "表四"

    def _labels(self, refs: list[str]) -> list[str]:
        return [self.fmt.label_of(r) for r in refs]

    def _report(self, cells: dict[str, Any], placed: dict[str, Token | None]) -> None:
        by_row: dict[str, list[str]] = {}
        for spec in self.fmt.cells():
            if cells[spec.ref] is None and spec.ref not in self.explained:
                by_row.setdefault(spec.ref.rsplit(".", 1)[0], []).append(spec.ref)
        for row_ref, refs in by_row.items():
            state = self.rows.get("reviews" if row_ref.startswith("reviews.") else row_ref)
            marks = [placed.get(r) for r in refs]
            if state is None:
                what, code = "未找到（原文中没有这一行或这部分表格）", "row_missing"
            elif not state.values:
                what, code = "原文只印了标签，没有数字", "row_empty"
            elif all(m is not None and m.cell.kind == Kind.NULL for m in marks):
                shown = "、".join(sorted({m.text.strip() for m in marks if m}))
                what, code = f"原文印为“{shown}”（不适用或空白）", "cells_not_applicable"
            else:
                what, code = "原文为空白", "cells_blank"
            name = self._row_name(row_ref)
            labels = "、".join(self.fmt.label_of(r) for r in refs)
            self.problems.append(
                Problem(code, f"{name}：{what}，以下单元格留空：{labels}。", tuple(refs), state.where if state else "")
            )
        if self.leftovers:
            shown = "、".join(f"{t.text.strip()}（{t.where}）" for t in self.leftovers[:20])
            more = f"等共{len(self.leftovers)}个" if len(self.leftovers) > 20 else ""
            self.problems.append(
                Problem(
                    "numbers_left_over",
                    f"以下数字无法确定属于哪个单元格，未填入：{shown}{more}。",
                    (),
                    self.leftovers[0].where,
                )
            )


def format_evidence(tokens: list[Token]) -> dict[str, int]:
    """For each format, how many labels only that format has appear among the table cells."""
    labels: dict[str, set[str]] = {}
    for fmt in reg.FORMATS.values():
        found = {t.caption for t in fmt.active_disclosure}
        found |= {r.label for t in fmt.active_disclosure for r in t.rows}
        found |= {c.label for t in fmt.active_disclosure for c in t.columns}
        found |= {r.label for r in fmt.applications_rows}
        labels[fmt.code] = found
    evidence = {}
    texts = [t.printed for t in tokens if t.is_text]
    for code, own in labels.items():
        others = set().union(*(v for c, v in labels.items() if c != code))
        unique = [Label.of(text) for text in own - others]
        unique = [lab for lab in unique if all(lab.core != Label.of(o).core for o in others)]
        evidence[code] = sum(1 for lab in unique if any(score(p, lab) >= 0.85 for p in texts))
    return evidence


def read_tables(fmt: Format, tokens: list[Token]) -> TableResult:
    reader = TableReader(fmt)
    reader.read(tokens)
    return reader.result()
