"""Types of the statutory format registry.

A format version (spec §1) is a plain, immutable description: sections,
sub-tables, rows, columns, labels, computed cells and narrative parts. Every
layer (models, forms, templates, PDF, import, export, rules) reads it, so a
later revision of the national format is one more ``Format`` instance.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property


class CellKind(StrEnum):
    COUNT = "count"  # whole number >= 0
    SIGNED = "signed"  # whole number, may be negative (2019 本年增/减)
    AMOUNT = "amount"  # decimal >= 0, carried as a string in JSON


class Requirement(StrEnum):
    ALWAYS = "always"
    GOVERNMENT = "government"  # only a people's government must write it
    OPTIONAL = "optional"


@dataclass(frozen=True)
class Column:
    code: str
    label: str
    kind: CellKind = CellKind.COUNT
    computed: bool = False
    group: str = ""  # a header spanning several columns, e.g. 法人或其他组织


@dataclass(frozen=True)
class Row:
    code: str
    label: str
    computed: bool = False
    # Labels of the row groups this row sits in, outermost first; they span
    # rows in the printed table and are not data rows themselves.
    groups: tuple[str, ...] = ()

    @property
    def full_label(self) -> str:
        """Sub-rows like "1.属于国家秘密" only make sense with their group."""
        return f"{self.groups[-1]}{self.label}" if len(self.groups) > 1 else self.label


@dataclass(frozen=True)
class SubTable:
    """A 第二十条 item of table 二: caption, rows, columns."""

    code: str
    caption: str
    rows: tuple[Row, ...]
    columns: tuple[Column, ...]
    # The 2019 procurement item prints an amount whose unit the report stores.
    has_unit: bool = False


@dataclass(frozen=True)
class Block:
    """A column block of table 四 (行政复议 / 未经复议直接起诉 / 复议后起诉)."""

    code: str
    label: str
    group: str = ""  # 行政诉讼 spans the two litigation blocks


@dataclass(frozen=True)
class NarrativePart:
    """A narrative part, addressed by a dotted path inside ``narrative``."""

    path: str
    label: str
    requirement: Requirement = Requirement.ALWAYS
    # Minimum characters of real content; 五 must say more than 无.
    min_length: int = 1
    # The processing-fee item carries an amount in 元 beside its text.
    has_amount: bool = False

    @property
    def ref(self) -> str:
        return f"narrative.{self.path}"


@dataclass(frozen=True)
class Section:
    code: str  # overview, active_disclosure, applications, reviews, problems, other_matters
    title: str
    is_table: bool


@dataclass(frozen=True)
class CellSpec:
    """One statutory cell, with its stable reference (spec §7)."""

    ref: str
    section: str
    subtable: str  # "" outside table 二
    row: str
    column: str
    kind: CellKind
    computed: bool
    # The registry's labels where the cell is printed.
    table_label: str  # the 第二十条 item's caption in table 二, else ""
    row_label: str  # the row (table 三: with its group, e.g. （三）不予公开 1.…), or table 四's block
    column_label: str


# What the statute calls the document, in titles and file names.
REPORT_NAME = "政府信息公开工作年度报告"
# Labels of the refs every format's documents have besides the statutory
# cells and parts (spec §7).
HEADER_LABELS = {"title": "标题", "issued_on": "成文日期", "organization.name": "署名机关"}
AMOUNT_SUFFIX = "金额（元）"
# The unit of a table's amounts when a document does not state one.
DEFAULT_PROCUREMENT_UNIT = "万元"
UNIT_SUFFIX = "金额单位"


@dataclass(frozen=True)
class Format:
    code: str
    document: str
    first_year: int
    sections: tuple[Section, ...]
    active_disclosure: tuple[SubTable, ...]
    active_disclosure_first_header: str
    applications_rows: tuple[Row, ...]
    applications_columns: tuple[Column, ...]
    applications_note: str
    applications_applicant_header: str
    reviews_blocks: tuple[Block, ...]
    reviews_columns: tuple[Column, ...]
    narrative: tuple[NarrativePart, ...]
    amount_unit_choices: tuple[str, ...] = field(default=())

    # -- lookups -------------------------------------------------------
    def section(self, code: str) -> Section:
        return next(s for s in self.sections if s.code == code)

    def subtable(self, code: str) -> SubTable:
        return next(t for t in self.active_disclosure if t.code == code)

    @property
    def fee_part(self) -> NarrativePart | None:
        """The narrative part that carries the processing-fee amount beside its text (at most one)."""
        return next((p for p in self.narrative if p.has_amount), None)

    @property
    def unit_table(self) -> SubTable | None:
        """The active-disclosure table whose amounts carry a stated unit (at most one), if any."""
        return next((t for t in self.active_disclosure if t.has_unit), None)

    def unit_of(self, doc: dict | None) -> str | None:
        """The amount unit a document of this format states (the default when blank); None
        when the format states none."""
        if self.unit_table is None:
            return None
        stated = doc["active_disclosure"][self.unit_table.code].get("unit") if doc else None
        return stated or DEFAULT_PROCUREMENT_UNIT

    def applications_row(self, code: str) -> Row:
        return next(r for r in self.applications_rows if r.code == code)

    def applications_column(self, code: str) -> Column:
        return next(c for c in self.applications_columns if c.code == code)

    def narrative_part(self, path: str) -> NarrativePart:
        return next(p for p in self.narrative if p.path == path)

    @property
    def outcome_rows(self) -> tuple[Row, ...]:
        """The data rows summed by （七）总计: every row under 三、本年度办理结果."""
        return tuple(r for r in self.applications_rows if r.groups and not r.computed)

    @property
    def applicant_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.applications_columns if not c.computed)

    @property
    def reviews_parts(self) -> tuple[Column, ...]:
        return tuple(c for c in self.reviews_columns if not c.computed)

    @cached_property
    def totals(self) -> tuple[tuple[str, tuple[str, ...]], ...]:
        """Every computed cell with the cells it sums, parts before their totals:
        table 三's 总计 column per row, its （七）总计 row per column, table 四's 总计."""
        out = []
        for row in self.applications_rows:
            if not row.computed:
                parts = tuple(f"applications.{row.code}.{c.code}" for c in self.applicant_columns)
                out.append((f"applications.{row.code}.total", parts))
        for col in self.applications_columns:
            parts = tuple(f"applications.{r.code}.{col.code}" for r in self.outcome_rows)
            out.append((f"applications.outcome_total.{col.code}", parts))
        for block in self.reviews_blocks:
            parts = tuple(f"reviews.{block.code}.{c.code}" for c in self.reviews_parts)
            out.append((f"reviews.{block.code}.total", parts))
        return tuple(out)

    def cells(self) -> tuple[CellSpec, ...]:
        """Every statutory cell of the three tables, in printed order."""
        return self._cells

    @cached_property
    def _cells(self) -> tuple[CellSpec, ...]:
        return tuple(self._iter_cells())

    @cached_property
    def _cell_index(self) -> dict[str, CellSpec]:
        return {spec.ref: spec for spec in self._cells}

    def _iter_cells(self) -> Iterator[CellSpec]:
        for table in self.active_disclosure:
            for row in table.rows:
                for col in table.columns:
                    yield CellSpec(
                        ref=f"active_disclosure.{table.code}.{row.code}.{col.code}",
                        section="active_disclosure",
                        subtable=table.code,
                        row=row.code,
                        column=col.code,
                        kind=col.kind,
                        computed=False,
                        table_label=table.caption,
                        row_label=row.label,
                        column_label=col.label,
                    )
        for row in self.applications_rows:
            for col in self.applications_columns:
                yield CellSpec(
                    ref=f"applications.{row.code}.{col.code}",
                    section="applications",
                    subtable="",
                    row=row.code,
                    column=col.code,
                    kind=col.kind,
                    computed=row.computed or col.computed,
                    table_label="",
                    row_label=row.full_label,
                    column_label=col.label,
                )
        for block in self.reviews_blocks:
            for col in self.reviews_columns:
                yield CellSpec(
                    ref=f"reviews.{block.code}.{col.code}",
                    section="reviews",
                    subtable="",
                    row=block.code,
                    column=col.code,
                    kind=col.kind,
                    computed=col.computed,
                    table_label="",
                    row_label=block.label,
                    column_label=col.label,
                )

    def cell(self, ref: str) -> CellSpec:
        return self._cell_index[ref]

    def label_of(self, ref: str) -> str:
        """A human label for any ref of a document (spec §7): header fields,
        narrative parts and the fee amount, the unit, cells. KeyError for others."""
        if ref in HEADER_LABELS:
            return HEADER_LABELS[ref]
        if ref.startswith("narrative."):
            path = ref.removeprefix("narrative.")
            if path.endswith(".amount_yuan"):
                for part in self.narrative:
                    if part.has_amount and part.path == path.removesuffix(".amount_yuan"):
                        return f"{part.label}{AMOUNT_SUFFIX}"
                raise KeyError(ref)
            for part in self.narrative:
                if part.path == path:
                    return part.label
            return path
        if ref.startswith("active_disclosure.") and ref.endswith(".unit"):
            return f"{self.subtable(ref.split('.')[1]).caption}{UNIT_SUFFIX}"
        spec = self.cell(ref)
        if spec.section == "reviews":
            return f"{spec.row_label}{spec.column_label}"
        return f"{spec.table_label}“{spec.row_label}”{spec.column_label}"
