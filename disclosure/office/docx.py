"""A report as a Word document in the official layout (spec §8, GB/T 9704-2012).

A4, top margin 37 mm, binding margin 28 mm, text block 156 × 225 mm; body in
3号 (16 pt) 仿宋, 22 lines a page; title 2号 (22 pt) 小标宋, centred;
first-level headings 黑体, second-level 楷体; page numbers “— 1 —” in 4号
宋体, odd pages right, even pages left. East-Asian font names are set on
every style and run, so Word and WPS pick the Chinese faces. Tables print
the statutory layout with merged headers, and their header rows repeat.
"""

from __future__ import annotations

import datetime as dt
import io

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_CELL_VERTICAL_ALIGNMENT, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import _Cell

from .. import formats as reg
from ..formats import Format
from ..interchange import canonicalize, cell_value, get_path, validate_document
from ..layout import Grid, GridCell, grids

TITLE_FONT = "方正小标宋简体"
BODY_FONT = "仿宋_GB2312"
HEADING1_FONT = "黑体"
HEADING2_FONT = "楷体_GB2312"
PAGE_NUMBER_FONT = "宋体"
LATIN_FONT = "Times New Roman"
BODY_SIZE = Pt(16)  # 3号
TITLE_SIZE = Pt(22)  # 2号
PAGE_NUMBER_SIZE = Pt(14)  # 4号
TABLE_SIZE = Pt(10.5)  # 5号: fifteen columns must fit 156 mm
LINE_PITCH = Pt(29)  # 22 lines in the 225 mm text block
INDENT = Pt(32)  # two characters
CN_NUMERALS = "一二三四五六七八九十"
TABLE_STYLE = "表格文字"
TABLE_STYLE_ID = "ReportTableText"


def _cn(n: int) -> str:
    if n <= 10:
        return CN_NUMERALS[n - 1]
    tens, units = divmod(n, 10)
    return (CN_NUMERALS[tens - 1] if tens > 1 else "") + "十" + (CN_NUMERALS[units - 1] if units else "")


def _fonts(element, east_asian: str, latin: str = LATIN_FONT) -> None:
    """Set the four font slots of a run or style (eastAsia is what Chinese text uses)."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for slot, name in (("w:ascii", latin), ("w:hAnsi", latin), ("w:eastAsia", east_asian), ("w:cs", latin)):
        fonts.set(qn(slot), name)
    for theme in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(theme), None)


def _style(document, name: str, font: str, size: Pt, *, bold: bool = False, base: str | None = None):
    styles = document.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, 1)
    if base:
        style.base_style = styles[base]
    style.font.size = size
    style.font.bold = bold
    style.font.italic = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    _fonts(style.element, font)
    fmt = style.paragraph_format
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
    fmt.line_spacing = LINE_PITCH
    return style


def _setup(document) -> None:
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.bottom_margin = Mm(37), Mm(297 - 37 - 225)
    section.left_margin, section.right_margin = Mm(28), Mm(210 - 28 - 156)
    section.footer_distance = Mm(297 - 37 - 225 - 7 - 5)  # page number 7 mm below the text block
    body = _style(document, "Normal", BODY_FONT, BODY_SIZE)
    body.paragraph_format.first_line_indent = INDENT
    body.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    title = _style(document, "Title", TITLE_FONT, TITLE_SIZE, base="Normal")
    border = title.element.pPr.find(qn("w:pBdr")) if title.element.pPr is not None else None
    if border is not None:  # the default template underlines titles; official documents do not
        title.element.pPr.remove(border)
    for name in ("w:spacing", "w:szCs"):  # letter-spacing and a stray complex-script size
        extra = title.element.rPr.find(qn(name))
        if extra is not None:
            title.element.rPr.remove(extra)
    title.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.paragraph_format.first_line_indent = Pt(0)
    title.paragraph_format.line_spacing = Pt(36)
    title.paragraph_format.space_after = LINE_PITCH
    _style(document, "Heading 1", HEADING1_FONT, BODY_SIZE, base="Normal").paragraph_format.first_line_indent = INDENT
    _style(document, "Heading 2", HEADING2_FONT, BODY_SIZE, base="Normal").paragraph_format.first_line_indent = INDENT
    table = _style(document, TABLE_STYLE, BODY_FONT, TABLE_SIZE, base="Normal")
    table.element.styleId = TABLE_STYLE_ID
    table.paragraph_format.first_line_indent = Pt(0)
    table.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    table.paragraph_format.line_spacing_rule = WD_LINE_SPACING.SINGLE
    _page_numbers(document)


def _field(paragraph, instruction: str) -> None:
    def char(kind: str):
        run = paragraph.add_run()
        element = OxmlElement("w:fldChar")
        element.set(qn("w:fldCharType"), kind)
        run._r.append(element)
        return run

    char("begin")
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    run._r.append(text)
    char("separate")
    paragraph.add_run("1")
    char("end")


def _page_numbers(document) -> None:
    document.settings.odd_and_even_pages_header_footer = True
    section = document.sections[0]
    for footer, align in (
        (section.footer, WD_ALIGN_PARAGRAPH.RIGHT),
        (section.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT),
    ):
        paragraph = footer.paragraphs[0] if footer.paragraphs else footer.add_paragraph()
        paragraph.alignment = align
        fmt = paragraph.paragraph_format
        fmt.first_line_indent = Pt(0)
        # One character in from the edge of the text block.
        if align == WD_ALIGN_PARAGRAPH.RIGHT:
            fmt.right_indent = PAGE_NUMBER_SIZE
        else:
            fmt.left_indent = PAGE_NUMBER_SIZE
        paragraph.add_run("— ")
        _field(paragraph, "PAGE")
        paragraph.add_run(" —")
        for run in paragraph.runs:
            run.font.size = PAGE_NUMBER_SIZE
            _fonts(run._r, PAGE_NUMBER_FONT, PAGE_NUMBER_FONT)


def _para(document, text: str, style: str = "Normal", font: str = BODY_FONT):
    paragraph = document.add_paragraph(style=style)
    run = paragraph.add_run(text)
    # On the run as well as the style: text pasted into another document keeps its face.
    _fonts(run._r, font)
    return paragraph


def _texts(text: str | None) -> list[str]:
    return [line.strip() for line in (text or "").split("\n") if line.strip()]


def _repeat_header(row) -> None:
    trpr = row._tr.get_or_add_trPr()
    element = OxmlElement("w:tblHeader")
    element.set(qn("w:val"), "true")
    trpr.append(element)


def _table(document, fmt: Format, grid: Grid, doc: dict) -> None:
    """The grid as a Word table; merged cells are written as gridSpan/vMerge directly
    (python-docx's cell merging is quadratic in the table size)."""
    table = document.add_table(rows=grid.height, cols=grid.width)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    origins = {(c.row, c.col): c for c in grid.cells}
    below: dict[tuple[int, int], GridCell] = {}  # positions a rowspan reaches, by origin column
    for cell in grid.cells:
        for r in range(cell.row + 1, cell.row + cell.rowspan):
            below[(r, cell.col)] = cell
    for r, row in enumerate(table.rows):
        tcs = list(row._tr.tc_lst)
        c = 0
        while c < grid.width:
            tc = tcs[c]
            cell = origins.get((r, c)) or below.get((r, c))
            span = cell.colspan if cell else 1
            for extra in tcs[c + 1 : c + span]:
                row._tr.remove(extra)
            if span > 1:
                tc.grid_span = span
                tc.width = sum((tcs[k].width or 0) for k in range(c, c + span)) or None
            if cell is not None and cell.rowspan > 1:
                tc.vMerge = "restart" if (r, c) in origins else "continue"
            if (r, c) in origins:
                _fill(document, fmt, grid, _Cell(tc, table), cell, doc)
            c += span
    for r in range(grid.header_rows):
        _repeat_header(table.rows[r])


def _fill(document, fmt: Format, grid: Grid, target: _Cell, cell: GridCell, doc: dict) -> None:
    if cell.role == "value":
        value = cell_value(doc, fmt.cell(cell.ref))
        text = "" if value is None else str(value)
    else:
        text = cell.text
    paragraph = target.paragraphs[0]
    paragraph._p.style = TABLE_STYLE_ID  # by id: looking a style up by name is slow
    if cell.role in ("label", "caption") and cell.colspan < grid.width:
        paragraph.alignment = WD_ALIGN_PARAGRAPH.LEFT
    run = paragraph.add_run(text)
    run.bold = cell.role in ("header", "caption", "note")
    _fonts(run._r, HEADING1_FONT if run.bold else BODY_FONT)
    target.vertical_alignment = WD_CELL_VERTICAL_ALIGNMENT.CENTER


def _signature(document, name: str, issued_on: str | None) -> None:
    document.add_paragraph()
    paragraph = _para(document, name)
    paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    paragraph.paragraph_format.right_indent = INDENT * 2
    if issued_on:
        date = dt.date.fromisoformat(issued_on)
        paragraph = _para(document, f"{date.year}年{date.month}月{date.day}日")
        paragraph.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        paragraph.paragraph_format.right_indent = INDENT * 2


def export_report_docx(doc: dict) -> bytes:
    """The report as a .docx in the official layout."""
    validate_document(doc)
    doc = canonicalize(doc)
    fmt = reg.get_format(doc["format"])
    document = Document()
    _setup(document)
    core = document.core_properties
    core.title = doc["title"] or ""
    core.author = doc["organization"]["name"]
    narrative = doc["narrative"]
    title = doc["title"] or f"{doc['organization']['name']}{doc['year']}年{reg.REPORT_NAME}"
    _para(document, title, "Title", TITLE_FONT)
    for text in _texts(narrative.get("preamble")):
        _para(document, text)
    tables = {grid.code: grid for grid in grids(fmt, fmt.unit_of(doc))}
    for section in fmt.sections:
        _para(document, section.title, "Heading 1", HEADING1_FONT)
        if section.is_table:
            _table(document, fmt, tables[section.code], doc)
            continue
        if section.code == "overview":
            for text in _texts(narrative["overview"].get("summary")):
                _para(document, text)
            topics = [p for p in fmt.narrative if p.path.startswith("overview.") and p.path != "overview.summary"]
            _items(document, topics, narrative)
        elif section.code == "problems":
            for text in _texts(narrative.get("problems")):
                _para(document, text)
        else:
            items = [p for p in fmt.narrative if p.path.startswith("other_matters.")]
            only_other = all(p.path == "other_matters.other" or not _part_text(narrative, p) for p in items)
            if only_other:
                for text in _texts(narrative["other_matters"].get("other")):
                    _para(document, text)
            else:
                _items(document, items, narrative)
    _signature(document, doc["organization"]["name"], doc["issued_on"])
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def _part_text(narrative: dict, part: reg.NarrativePart) -> str:
    node = get_path(narrative, part.path)
    if part.has_amount:
        node = node or {}
        text = node.get("text") or ""
        if not text and node.get("amount_yuan") is not None:
            text = f"{node['amount_yuan']}元"
        return text
    return node or ""


def _items(document, parts: list[reg.NarrativePart], narrative: dict) -> None:
    """Numbered second-level items （一）（二）… for the parts that have text."""
    n = 0
    for part in parts:
        text = _part_text(narrative, part)
        if not text:
            continue
        n += 1
        _para(document, f"（{_cn(n)}）{part.label}", "Heading 2", HEADING2_FONT)
        for line in _texts(text):
            _para(document, line)
