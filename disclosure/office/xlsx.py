"""Excel workbooks: a report's tables in the statutory layout, templates, jurisdiction sheets.

A report workbook has one sheet per table, laid out as printed (captions,
merged headers, row groups), and a sheet “报告信息” with the header fields
and the narrative. Every value cell carries a workbook-level defined name
(``ref_`` + its cell ref, e.g. ``ref_applications.new_received.natural_person``),
so the import finds each cell even after rows were inserted above it, and
the round trip export → import is lossless: blanks stay blank (null), 0
stays 0, printed totals stay as printed, the 2019 procurement unit is kept.
"""

from __future__ import annotations

import copy
import functools
import io
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import escape as xml_escape

from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.cell_range import CellRange

from .. import formats as reg
from ..cells import CellInputError, parse_cell
from ..formats import CellKind, Format
from ..interchange import (
    SCHEMA_ID,
    YUAN_PLACES,
    InvalidDocument,
    canonicalize,
    cell_value,
    format_amount,
    get_path,
    set_path,
    validate_document,
)
from ..layout import Grid, GridCell, amount_header, grids
from ..parsing.files import open_workbook, read_bytes
from ..parsing.report import derive_org_code, org_kind
from ..text import excerpt, is_formula_like

REF_PREFIX = "ref_"
META_PREFIX = "meta_"
INFO_SHEET = "报告信息"
FONT_NAME = "宋体"
TOP = 4  # the grid starts on this sheet row, under the title and the office line
KIND_LABELS = {"department": "政府部门", "government": "人民政府"}

_THIN = Side(style="thin", color="000000")
BORDER = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
COMPUTED_FILL = PatternFill("solid", fgColor="EDEDED")
HEADER_FILL = PatternFill("solid", fgColor="F2F2F2")
NUMBER_FORMATS = {CellKind.COUNT: "0", CellKind.SIGNED: "0", CellKind.AMOUNT: "0.0000"}
# Header field → (label, how it is written): the 报告信息 sheet, in order.
META_FIELDS = (
    ("format", "格式版本"),
    ("year", "报告年度"),
    ("organization.name", "机关名称"),
    ("organization.code", "机关代码"),
    ("organization.kind", "机关类型（政府部门/人民政府）"),
    ("title", "标题"),
    ("issued_on", "成文日期（如 2021-01-21）"),
)
UNIT_FIELD = ("unit", "采购金额单位（万元/元）")


def _defined_name(sheet_title: str, coordinate: str, name: str) -> DefinedName:
    col, row = "".join(ch for ch in coordinate if ch.isalpha()), "".join(ch for ch in coordinate if ch.isdigit())
    quoted = sheet_title.replace("'", "''")
    return DefinedName(name, attr_text=f"'{quoted}'!${col}${row}")


def _add_name(workbook: Workbook, name: str, sheet_title: str, coordinate: str) -> None:
    workbook.defined_names[name] = _defined_name(sheet_title, coordinate, name)


def _excel_amount(text: str | None) -> float | str | None:
    """An amount as a number when a float holds it exactly, else as text (nothing is rounded)."""
    if text is None:
        return None
    value = Decimal(text)
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else text


def _keep_text(target: Any) -> None:
    """Text typed by an office is never a formula: "=HYPERLINK(…)" stays text.

    Stored as a string with Excel's own quote prefix, so the value reads back
    unchanged and Excel does not turn it into a formula when it is edited.
    """
    if is_formula_like(target.value):
        target.data_type = "s"
        target.quotePrefix = True


def _cell_value(doc: dict | None, fmt: Format, cell: GridCell) -> Any:
    if doc is None:
        return None
    value = cell_value(doc, fmt.cell(cell.ref))
    if cell.kind == CellKind.AMOUNT:
        return _excel_amount(value)
    return value


def _sum_formula(coords: list[str]) -> str:
    return "=SUM(" + ",".join(coords) + ")"


def _formulas(fmt: Format, coords: dict[str, str]) -> dict[str, str]:
    """Template formulas for the computed cells (总计 column, （七）总计 row, 四's 总计)."""
    return {target: _sum_formula([coords[p] for p in parts]) for target, parts in fmt.totals}


def _write_grid(workbook: Workbook, fmt: Format, grid: Grid, doc: dict | None, subtitle: str) -> dict[str, str]:
    sheet = workbook.create_sheet(grid.title)
    sheet.sheet_view.showGridLines = False
    last = get_column_letter(grid.width)
    sheet.merge_cells(f"A1:{last}1")
    sheet["A1"] = grid.title
    sheet["A1"].font = Font(name=FONT_NAME, size=14, bold=True)
    sheet["A1"].alignment = CENTER
    sheet.merge_cells(f"A2:{last}2")
    sheet["A2"] = subtitle
    _keep_text(sheet["A2"])
    sheet["A2"].font = Font(name=FONT_NAME, size=11)
    sheet["A2"].alignment = LEFT
    coords: dict[str, str] = {}
    for cell in grid.cells:
        row, col = TOP + cell.row, 1 + cell.col
        target = sheet.cell(row=row, column=col)
        for r in range(row, row + cell.rowspan):
            for c in range(col, col + cell.colspan):
                sheet.cell(row=r, column=c).border = BORDER
        if cell.rowspan > 1 or cell.colspan > 1:
            sheet.merge_cells(
                start_row=row, start_column=col, end_row=row + cell.rowspan - 1, end_column=col + cell.colspan - 1
            )
        target.font = Font(name=FONT_NAME, size=10, bold=cell.role in ("caption", "header", "note"))
        if cell.role == "value":
            coords[cell.ref] = target.coordinate
            target.value = _cell_value(doc, fmt, cell)
            target.alignment = CENTER
            target.number_format = NUMBER_FORMATS[cell.kind]
            if cell.computed:
                target.fill = COMPUTED_FILL
            _add_name(workbook, REF_PREFIX + cell.ref, sheet.title, target.coordinate)
        else:
            target.value = cell.text
            target.alignment = LEFT if cell.role in ("label", "caption") else CENTER
            if cell.role in ("header", "note", "caption"):
                target.fill = HEADER_FILL
    widths = {"active_disclosure": [26] + [18] * (grid.width - 1), "reviews": [10] * grid.width}
    label_cols = grid.width - len(fmt.applications_columns)
    widths["applications"] = [10] * (label_cols - 1) + [34] + [10] * len(fmt.applications_columns)
    for i, width in enumerate(widths[grid.code], 1):
        sheet.column_dimensions[get_column_letter(i)].width = width
    for r in range(TOP, TOP + grid.height):
        sheet.row_dimensions[r].height = 30
    sheet.print_title_rows = f"{TOP}:{TOP + grid.header_rows - 1}" if grid.header_rows else None
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    return coords


def _meta_value(doc: dict | None, path: str, fmt: Format) -> Any:
    if path == "format":
        return fmt.code
    if doc is None:
        return None
    node = get_path(doc, path)
    if path == "organization.kind":
        return KIND_LABELS.get(node, node)
    return node


def _write_info(workbook: Workbook, fmt: Format, doc: dict | None) -> None:
    sheet = workbook.create_sheet(INFO_SHEET)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 100
    sheet.merge_cells("A1:B1")
    sheet["A1"] = f"年度报告信息（{fmt.document}，{fmt.code}格式）"
    sheet["A1"].font = Font(name=FONT_NAME, size=14, bold=True)
    sheet["A2"] = "本工作簿的单元格带有隐藏的名称，导入时据此对应；请只修改内容，不要删除表格。"
    sheet["A2"].font = Font(name=FONT_NAME, size=10, color="666666")
    fields: list[tuple[str, str, Any]] = [
        (f"{META_PREFIX}{p}", label, _meta_value(doc, p, fmt)) for p, label in META_FIELDS
    ]
    if fmt.unit_table:
        fields.append((f"{META_PREFIX}{UNIT_FIELD[0]}", f"{fmt.unit_table.caption}{UNIT_FIELD[1]}", fmt.unit_of(doc)))
    for part in fmt.narrative:
        value = _meta_value(doc, f"narrative.{part.path}", fmt)
        if part.has_amount:
            value = value if isinstance(value, dict) else {}
            fields.append((f"{REF_PREFIX}narrative.{part.path}.text", part.label, value.get("text")))
            fields.append(
                (
                    f"{REF_PREFIX}narrative.{part.path}.amount_yuan",
                    f"{part.label}（金额，元）",
                    value.get("amount_yuan"),
                )
            )
        else:
            fields.append((f"{REF_PREFIX}narrative.{part.path}", part.label, value))
    for i, (name, label, value) in enumerate(fields, 4):
        sheet.cell(row=i, column=1, value=label).font = Font(name=FONT_NAME, size=11, bold=True)
        target = sheet.cell(row=i, column=2, value=value if value not in ("",) else None)
        if isinstance(value, str) and value:
            target.data_type = "s"  # years, codes and dates stay text
        _keep_text(target)
        target.font = Font(name=FONT_NAME, size=11)
        target.alignment = Alignment(wrap_text=True, vertical="top")
        target.number_format = "@"  # text: years, codes and dates stay as typed
        sheet.cell(row=i, column=1).alignment = Alignment(wrap_text=True, vertical="top")
        _add_name(workbook, name, sheet.title, target.coordinate)


def _subtitle(doc: dict | None) -> str:
    if doc is None:
        return "机关：　　　　　　　　年度："
    return f"机关：{doc['organization']['name']}　　年度：{doc['year']}"


def _workbook(fmt: Format, doc: dict | None, *, formulas: bool) -> bytes:
    workbook = Workbook()
    workbook.remove(workbook.active)
    coords: dict[str, tuple[str, str]] = {}
    for grid in grids(fmt, fmt.unit_of(doc)):
        for ref, coord in _write_grid(workbook, fmt, grid, doc, _subtitle(doc)).items():
            coords[ref] = (grid.title, coord)
    if formulas:
        by_sheet = {ref: coord for ref, (_title, coord) in coords.items()}
        for ref, formula in _formulas(fmt, by_sheet).items():
            workbook[coords[ref][0]][coords[ref][1]] = formula
    _write_info(workbook, fmt, doc)
    workbook.active = 0
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_report_xlsx(doc: dict) -> bytes:
    """A report's tables in the statutory layout, with its header fields and narrative."""
    validate_document(doc)
    doc = canonicalize(doc)
    return _workbook(reg.get_format(doc["format"]), doc, formulas=False)


def template_xlsx(format_code: str) -> bytes:
    """A blank workbook of a format; totals are formulas, the import derives them if Excel did not."""
    return _workbook(reg.get_format(format_code), None, formulas=True)


# -- import --------------------------------------------------------------------


@dataclass
class _Reader:
    workbook: Any
    errors: list[str]

    def cell(self, name: str):
        defined = self.workbook.defined_names.get(name)
        if defined is None:
            return None, ""
        for sheet_title, coordinate in defined.destinations:
            if sheet_title in self.workbook.sheetnames:
                sheet = self.workbook[sheet_title]
                target = sheet[coordinate.replace("$", "")]
                return target, f"{sheet_title}!{target.coordinate}"
        return None, ""

    def text(self, name: str) -> str | None:
        target, _where = self.cell(name)
        if target is None or target.value is None:
            return None
        value = target.value
        if hasattr(value, "isoformat"):
            return value.date().isoformat() if hasattr(value, "date") else value.isoformat()
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return str(value).strip()


def _number(value: Any, kind: CellKind, label: str, where: str, errors: list[str]) -> Any:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise CellInputError(f"“{value}”不是数字。", "not_a_number")
        if isinstance(value, int | float):
            text = repr(value) if isinstance(value, float) else str(value)
            if isinstance(value, float) and value.is_integer() and kind != CellKind.AMOUNT:
                text = str(int(value))
            parsed = parse_cell(text, kind)
        else:
            parsed = parse_cell(str(value), kind)
    except CellInputError as exc:
        errors.append(f"{where}（{label}）：{exc.message}")
        return None
    return parsed  # amounts as checked decimal strings; canonicalize() writes them out


def read_report_xlsx(source: str | Path | bytes, filename: str | None = None) -> dict:
    """A workbook exported (or a template filled) by this system → a canonical document.

    Every problem is collected and raised at once as ``InvalidDocument``; nothing
    is returned half-read.
    """
    data, name = read_bytes(source, filename)
    workbook = open_workbook(data, name)
    reader = _Reader(workbook, [])
    format_code = reader.text(f"{META_PREFIX}format")
    if format_code is None:
        raise InvalidDocument(
            f"工作簿“{name}”不是本系统导出的年度报告或模板（缺少单元格名称）。"
            "其他来源的表格请用“识别已发布报告”（parse_report）导入。",
            code="not_our_workbook",
        )
    try:
        fmt = reg.get_format(format_code)
    except reg.UnknownFormat:
        raise InvalidDocument(f"工作簿的格式版本“{excerpt(format_code)}”无法识别。", code="unknown_format") from None
    errors = reader.errors
    year_text = reader.text(f"{META_PREFIX}year")
    org_name = reader.text(f"{META_PREFIX}organization.name")
    # ASCII digits only: str.isdigit() also takes Arabic-Indic and Devanagari digits.
    year_ok = bool(year_text) and year_text.isascii() and year_text.isdigit()
    if not year_ok:
        errors.append(f"“{INFO_SHEET}”中的报告年度未填写或不是年份（{excerpt(year_text) if year_text else '空'}）。")
    if not org_name:
        errors.append(f"“{INFO_SHEET}”中的机关名称未填写。")
    kind_text = reader.text(f"{META_PREFIX}organization.kind") or ""
    kinds = {**{v: k for k, v in KIND_LABELS.items()}, **{k: k for k in KIND_LABELS}, "部门": "department"}
    if kind_text and kind_text not in kinds:
        errors.append(f"“{INFO_SHEET}”中的机关类型“{excerpt(kind_text)}”应为“政府部门”或“人民政府”。")
    doc: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "format": fmt.code,
        "year": int(year_text) if year_ok else None,
        "organization": {
            "name": org_name or "",
            "code": reader.text(f"{META_PREFIX}organization.code") or derive_org_code(org_name or ""),
            "kind": kinds.get(kind_text) or org_kind(org_name or ""),
        },
        "title": reader.text(f"{META_PREFIX}title") or "",
        "issued_on": reader.text(f"{META_PREFIX}issued_on"),
        "narrative": {},
    }
    for part in fmt.narrative:
        if part.has_amount:
            text = reader.text(f"{REF_PREFIX}narrative.{part.path}.text") or ""
            target, where = reader.cell(f"{REF_PREFIX}narrative.{part.path}.amount_yuan")
            amount = _number(target.value if target else None, CellKind.AMOUNT, part.label, where, errors)
            amount = format_amount(Decimal(amount), YUAN_PLACES) if amount is not None else None
            set_path(doc["narrative"], part.path, {"amount_yuan": amount, "text": text})
        else:
            target, _where = reader.cell(f"{REF_PREFIX}narrative.{part.path}")
            value = target.value if target is not None else None
            set_path(doc["narrative"], part.path, "" if value is None else str(value))
    missing_names = []
    for spec in fmt.cells():
        target, where = reader.cell(REF_PREFIX + spec.ref)
        if target is None:
            missing_names.append(spec.ref)
            continue
        set_path(doc, spec.ref, _number(target.value, spec.kind, fmt.label_of(spec.ref), where, errors))
    if missing_names:
        errors.append(
            f"工作簿缺少{len(missing_names)}个单元格（可能删除了表格的行或列），例如：{fmt.label_of(missing_names[0])}。"
        )
    if fmt.unit_table:
        unit = reader.text(f"{META_PREFIX}{UNIT_FIELD[0]}") or reg.DEFAULT_PROCUREMENT_UNIT
        if unit not in fmt.amount_unit_choices:
            errors.append(f"“{INFO_SHEET}”中的采购金额单位“{excerpt(unit)}”应为万元或元。")
        doc["active_disclosure"][fmt.unit_table.code]["unit"] = unit
    if errors:
        raise InvalidDocument(errors, code="cells", params={"count": len(errors)})
    validate_document(doc)
    return canonicalize(doc)


# -- a supervisor's jurisdiction --------------------------------------------------


@dataclass
class JurisdictionRow:
    """One organization of the jurisdiction: its report for the year, or none."""

    name: str
    code: str
    status: str  # the dashboard's word, e.g. 已发布, 草稿, 未创建
    document: dict | None


TOTAL_LABEL = "合计"
# Amounts of a table with a stated unit (2019 procurement: 万元 or 元) are
# written in 元, so that a column holds one unit and its 合计 adds up.
JURISDICTION_UNIT = "元"
YUAN_PER_UNIT = {"万元": Decimal(10_000), "元": Decimal(1)}


def _in_stated_unit(fmt: Format, spec: reg.CellSpec) -> bool:
    return spec.kind == CellKind.AMOUNT and spec.section == "active_disclosure" and fmt.subtable(spec.subtable).has_unit


def _cell_columns(fmt: Format, section: str) -> list[tuple[tuple[str, ...], str, reg.CellSpec]]:
    """(header levels, ref, spec) for every cell of a table, in printed order."""
    out = []
    for spec in fmt.cells():
        if spec.section != section:
            continue
        column = spec.column_label
        if _in_stated_unit(fmt, spec):
            column = amount_header(column, JURISDICTION_UNIT)
        levels = (spec.table_label, spec.row_label, column)
        out.append((levels if spec.table_label else levels[1:], spec.ref, spec))
    return out


JURISDICTION_SECTIONS = ("active_disclosure", "applications", "reviews")
JURISDICTION_FIXED = ("机关代码", "机关名称", "报告状态")


def _bordered(sheet: Any, value: Any, *, font: Font | None = None, header: bool = False) -> WriteOnlyCell:
    cell = WriteOnlyCell(sheet, value=value)
    cell.border = BORDER
    if font is not None:
        cell.font = font
    if header:
        cell.alignment, cell.fill = CENTER, HEADER_FILL
    return cell


def _jurisdiction_sheet(workbook: Workbook, fmt: Format, section: str, heading: str) -> tuple[Any, list]:
    """A write-only sheet with its title and statutory column headers written; the rows follow."""
    sheet = workbook.create_sheet(fmt.section(section).title)
    columns = _cell_columns(fmt, section)
    depth = max(len(levels) for levels, _ref, _spec in columns)
    fixed, first = JURISDICTION_FIXED, len(JURISDICTION_FIXED) + 1
    width = len(fixed) + len(columns)
    head, refs_row = 2, 2 + depth
    # Widths, merges, the hidden refs row and the frozen panes are set before any row is written.
    for letter, size in (("A", 16), ("B", 28), ("C", 10)):
        sheet.column_dimensions[letter].width = size
    for j in range(len(columns)):
        sheet.column_dimensions[get_column_letter(first + j)].width = 12
    sheet.row_dimensions[refs_row].hidden = True  # machine-readable cell refs
    sheet.freeze_panes = f"{get_column_letter(first)}{refs_row + 1}"
    sheet.merged_cells.add(CellRange(min_col=1, min_row=1, max_col=width, max_row=1))
    labels: dict[tuple[int, int], tuple[str, Font]] = {}
    bold10, bold9 = Font(name=FONT_NAME, size=10, bold=True), Font(name=FONT_NAME, size=9, bold=True)
    for i, label in enumerate(fixed, 1):
        sheet.merged_cells.add(CellRange(min_col=i, min_row=head, max_col=i, max_row=head + depth - 1))
        labels[head, i] = (label, bold10)
    for level in range(depth):
        start = 0
        while start < len(columns):
            levels = columns[start][0]
            end = start
            # Merge neighbours that share this header and every header above it.
            while end + 1 < len(columns) and columns[end + 1][0][: level + 1] == levels[: level + 1]:
                end += 1
            if level < len(levels):
                bottom = head + level if level < len(levels) - 1 else head + depth - 1
                if end > start or bottom > head + level:
                    sheet.merged_cells.add(
                        CellRange(min_col=first + start, min_row=head + level, max_col=first + end, max_row=bottom)
                    )
                labels[head + level, first + start] = (levels[level], bold9)
            start = end + 1
    title = WriteOnlyCell(sheet, value=heading)
    title.font = Font(name=FONT_NAME, size=14, bold=True)
    sheet.append([title])
    for r in range(head, refs_row):
        row = []
        for c in range(1, width + 1):
            value, font = labels.get((r, c), (None, None))
            row.append(_bordered(sheet, value, font=font, header=True))
        sheet.append(row)
    refs = ["ref", None, None, *(ref for _levels, ref, _spec in columns)]
    sheet.append([_bordered(sheet, ref) for ref in refs])
    return sheet, columns


class _RawRow(tuple):
    """A data row already serialized: each cell's <c> element without its opening "<c"
    and its reference, which the row's number completes when it is written."""


def _take_raw_rows(sheet: Any) -> None:
    """Let a write-only sheet whose header rows are written take _RawRow rows.

    openpyxl builds, styles and serializes a cell object per value (≈3 M of
    them for a province, two thirds of the build); a jurisdiction row is
    serialized here as text instead and handed to openpyxl's XML stream as one
    element, parsed by lxml in C. Other rows (the 合计) go openpyxl's way.
    """
    values_to_row, write_row = sheet._values_to_row, sheet._writer.write_row

    def to_row(values: Any, row_idx: int) -> Any:
        return values if isinstance(values, _RawRow) else values_to_row(values, row_idx)

    def write(xf: Any, row: Any, row_idx: int) -> None:
        if isinstance(row, _RawRow):
            letters = _letters(len(row))
            cells = "".join(f'<c r="{letter}{row_idx}"{cell}' for letter, cell in zip(letters, row, strict=True))
            xf.write(etree.fromstring(f'<row r="{row_idx}">{cells}</row>'))
        else:
            write_row(xf, row, row_idx)

    sheet._values_to_row = to_row
    sheet._writer.write_row = write


@functools.cache
def _letters(width: int) -> tuple[str, ...]:
    return tuple(get_column_letter(i) for i in range(1, width + 1))


def _xml_cell(style: int, value: Any) -> str:
    """One <c> element as openpyxl writes it (strings inline), after its "<c r=…"."""
    if value is None:
        return f' s="{style}"/>'
    if isinstance(value, str):
        text = xml_escape(ILLEGAL_CHARACTERS_RE.sub("", value))
        space = ' xml:space="preserve"' if text != text.strip() else ""
        return f' s="{style}" t="inlineStr"><is><t{space}>{text}</t></is></c>'
    return f' s="{style}" t="n"><v>{value!r}</v></c>'


class _Styles:
    """The workbook's style indices of the data cells: bordered, and per kind
    its number format; a name that looks like a formula keeps Excel's quote prefix."""

    def __init__(self, workbook: Workbook, sheet: Any) -> None:
        registry = workbook._cell_styles
        self.plain = registry.add(_bordered(sheet, None)._style)
        quoted = _bordered(sheet, None)
        quoted.quotePrefix = True
        self.quoted = registry.add(quoted._style)
        self.numbers = {}
        self.bold_numbers = {}
        for kind, number_format in NUMBER_FORMATS.items():
            cell = _bordered(sheet, None)
            cell.number_format = number_format
            self.numbers[kind] = registry.add(cell._style)
            cell.font = Font(name=FONT_NAME, size=10, bold=True)
            self.bold_numbers[kind] = cell


class _Totals:
    """The 合计 row of a sheet: each numeric column summed exactly (amounts as
    Decimal, in one unit), blanks left out; a column with no value stays blank."""

    def __init__(self, columns: list) -> None:
        self.sums: list[int | Decimal | None] = [None] * len(columns)

    def add(self, index: int, value: int | Decimal | None) -> None:
        if value is not None:
            current = self.sums[index]
            self.sums[index] = value if current is None else current + value


def _jurisdiction_row(fmt: Format, columns: list, row: JurisdictionRow, styles: _Styles, totals: _Totals) -> _RawRow:
    plain = styles.plain
    cells = [
        _xml_cell(plain, row.code),
        _xml_cell(styles.quoted if is_formula_like(row.name) else plain, row.name),
        _xml_cell(plain, row.status),
    ]
    doc = row.document
    factor = YUAN_PER_UNIT[fmt.unit_of(doc)] if doc is not None and fmt.unit_table is not None else None
    numbers = styles.numbers
    for index, (_levels, _ref, spec) in enumerate(columns):
        value = cell_value(doc, spec) if doc is not None else None
        if value is not None:
            if spec.kind == CellKind.AMOUNT:
                amount = Decimal(value)
                if _in_stated_unit(fmt, spec):
                    amount *= factor
                    value = format_amount(amount)
                totals.add(index, amount)
                value = _excel_amount(value)
            else:
                totals.add(index, value)
        cells.append(_xml_cell(numbers[spec.kind], value))
    return _RawRow(cells)


def _total_row(sheet: Any, columns: list, totals: _Totals, statuses: dict[str, int], styles: _Styles) -> list:
    """合计: the number of organizations, how many in each status, each column's sum."""
    bold = Font(name=FONT_NAME, size=10, bold=True)
    organizations = sum(statuses.values())
    summary = "，".join(f"{status}{count}" for status, count in statuses.items())
    cells = [
        _bordered(sheet, TOTAL_LABEL, font=bold),
        _bordered(sheet, f"{organizations}个机关", font=bold),
        _bordered(sheet, summary, font=bold),
    ]
    for (_levels, _ref, spec), total in zip(columns, totals.sums, strict=True):
        if spec.kind == CellKind.AMOUNT and total is not None:
            total = _excel_amount(format_amount(total))
        cell = WriteOnlyCell(sheet, value=total)
        cell._style = copy.copy(styles.bold_numbers[spec.kind]._style)
        cells.append(cell)
    return cells


def jurisdiction_xlsx(
    year: int, rows: Iterable[JurisdictionRow], *, title: str = "", out: IO[bytes] | None = None
) -> bytes | None:
    """One workbook for a jurisdiction-year: a sheet per table, a row per organization.

    Written in openpyxl's write-only mode as ``rows`` yields them, so a
    province of 10,000 organizations never sits in memory as cell objects;
    the last row of each sheet is the 合计 (totals, counted on the way).
    Returns the bytes, or writes them to ``out`` and returns None.
    """
    fmt = reg.format_for_year(year)
    workbook = Workbook(write_only=True)
    sheets = []
    for section in JURISDICTION_SECTIONS:
        heading = f"{title}——{fmt.section(section).title}" if title else f"{year}年度{fmt.section(section).title}"
        sheets.append(_jurisdiction_sheet(workbook, fmt, section, heading))
    styles = _Styles(workbook, sheets[0][0])
    for sheet, _columns in sheets:
        _take_raw_rows(sheet)
    totals = [_Totals(columns) for _sheet, columns in sheets]
    statuses: dict[str, int] = {}
    for row in rows:
        if row.document is not None and row.document["format"] != fmt.code:
            raise InvalidDocument(
                f"{row.name}的报告为{row.document['format']}格式，与{year}年度的{fmt.code}格式不符。",
                code="format_mismatch",
            )
        statuses[row.status] = statuses.get(row.status, 0) + 1
        for (sheet, columns), sums in zip(sheets, totals, strict=True):
            sheet.append(_jurisdiction_row(fmt, columns, row, styles, sums))
    for (sheet, columns), sums in zip(sheets, totals, strict=True):
        sheet.append(_total_row(sheet, columns, sums, statuses, styles))
    if out is not None:
        workbook.save(out)
        return None
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
