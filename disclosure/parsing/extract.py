"""Turn a file into lines: paragraphs and table rows, in reading order.

Every input kind (plain text in its many layouts, HTML, .docx, PDF, .xlsx)
becomes the same thing: a list of ``Line``. A table row keeps its cells; a
position covered by a merged cell (rowspan/colspan, Word's vMerge/gridSpan,
pdfplumber's None) is ``None`` — distinct from an empty cell ``""`` — so that
a blank cell can still be placed by position.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from itertools import count

from ..interchange import InvalidDocument
from .files import Source, check_zip, decode_bytes, open_workbook

SPAN = None  # a grid position covered by a merged cell


@dataclass
class Line:
    cells: list[str | None]
    table: bool = False
    heading: int = 0  # markdown # level or Word heading level; 0 for body text
    row: int = 0  # printed row identity (several text lines may form one row)
    where: str = ""  # for messages: 第12行, 第2页
    # PDF only: layout says a paragraph starts here / the previous one ended.
    para_start: bool | None = None
    para_end: bool | None = None
    extra: dict = field(default_factory=dict)

    @property
    def text(self) -> str:
        parts = [c for c in self.cells if c]
        return (" ".join(parts) if self.table else "".join(parts)).strip()

    @property
    def blank(self) -> bool:
        return not any(c and c.strip() for c in self.cells)


_ROW_IDS = count(1)


def _row_id() -> int:
    return next(_ROW_IDS)


# Page furniture that text exports leave inside tables and paragraphs.
PAGE_NUMBER = re.compile(
    r"^\s*(?:[-—–－]+\s*\d{1,4}\s*[-—–－]+|第\s*\d{1,4}\s*页(?:\s*[,，/]?\s*共\s*\d{1,4}\s*页)?"
    r"|\d{1,4}\s*/\s*\d{1,4}|page\s*\d{1,4}(?:\s*of\s*\d{1,4})?)\s*$",
    re.IGNORECASE,
)
_HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+")


def _pipe_cells(raw: str) -> list[str]:
    stripped = raw.strip()
    parts = stripped.split("|")
    if stripped.startswith("|"):
        parts = parts[1:]
    if stripped.endswith("|") and parts:
        parts = parts[:-1]
    return parts or [""]


def from_text(text: str) -> list[Line]:
    """Plain text: markdown headings, tab-separated rows, one cell per line, pipe rows."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    raw_lines: list[tuple[int, str, bool]] = []  # (line number, text, next to a form feed)
    for number, raw in enumerate(text.split("\n"), 1):
        pieces = raw.split("\f")
        for piece in pieces:
            raw_lines.append((number, piece, len(pieces) > 1))
    lines: list[Line] = []
    previous_cell_line = False
    row = 0
    for number, raw, near_break in raw_lines:
        where = f"第{number}行"
        if PAGE_NUMBER.match(raw) or (near_break and re.fullmatch(r"\s*\d{1,4}\s*", raw)):
            continue  # a page number, not a value
        if not raw.strip():
            lines.append(Line([""], where=where))
            previous_cell_line = False
            continue
        heading = 0
        match = _HEADING.match(raw)
        if match:
            heading = len(match.group(1))
            raw = raw[match.end() :]
        if "\t" in raw or "|" in raw:
            cells = raw.split("\t") if "\t" in raw else _pipe_cells(raw)
            # "\tlabel" one cell per line: consecutive lines form one printed row.
            cell_line = raw.startswith("\t") and len(cells) == 2
            if not (cell_line and previous_cell_line):
                row = _row_id()
            previous_cell_line = cell_line
            lines.append(Line(cells, table=True, heading=heading, row=row, where=where))
        else:
            previous_cell_line = False
            lines.append(Line([raw], heading=heading, row=_row_id(), where=where))
    return lines


# -- HTML -----------------------------------------------------------------

_BLOCK_TAGS = {
    "p", "div", "li", "ul", "ol", "section", "article", "blockquote", "pre", "dd", "dt", "dl", "center",
    "header", "footer", "main", "caption", "figcaption", "figure", "form", "address", "body", "nav", "aside",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "tr", "hr",
}  # fmt: skip
_SKIP_TAGS = {"script", "style", "head", "noscript", "template", "title", "meta", "link"}
_CJK = r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]"
# A line break between two ideographs is no space (CSS Text: segment break transformation).
_CJK_BREAK = re.compile(rf"(?<={_CJK})[ \t]*\n\s*(?={_CJK})")


def _clean_html_text(text: str) -> str:
    text = _CJK_BREAK.sub("", text.replace("\xa0", " "))
    return re.sub(r"[ \t\r\n\f]+", " ", text).strip()


def _tag(el) -> str:
    return el.tag.lower() if isinstance(el.tag, str) else ""


def _block_holders(root) -> set:
    """Every element with a block element below it, in one pass.

    Asking each element in turn (any block among its descendants?) is quadratic:
    a 7 MB page of spans nested 250 deep with the block at the bottom took minutes.
    """
    holders: set = set()  # the proxies stay alive in the set, so lxml hands back the same ones
    for el in root.iter():
        if _tag(el) in _BLOCK_TAGS:
            for ancestor in el.iterancestors():
                if ancestor in holders:
                    break  # and so are all of its ancestors
                holders.add(ancestor)
    return holders


def _html_cell_text(cell) -> str:
    for br in cell.iter("br"):
        br.tail = "\n" + (br.tail or "")
    return _clean_html_text(cell.text_content())


# Positions a table may expand to: a report's tables have a few thousand; rowspan=200
# colspan=60 on each of a few thousand cells (a 100 KB page) would ask for hundreds of millions.
MAX_TABLE_CELLS = 1_000_000
MAX_COLSPAN = 60
MAX_ROWSPAN = 200


def _grid(rows: list[list[tuple[str, int, int]]]) -> list[list[str | None]]:
    """Expand (text, rowspan, colspan) rows into a grid with SPAN where merged cells reach."""
    grid: dict[tuple[int, int], str | None] = {}
    for r, cells in enumerate(rows):
        c = 0
        for text, rowspan, colspan in cells:
            while (r, c) in grid:
                c += 1
            if len(grid) + rowspan * colspan > MAX_TABLE_CELLS:
                raise InvalidDocument(
                    f"文件过于复杂或已损坏，无法读取（网页中的表格展开合并单元格后超过 {MAX_TABLE_CELLS} 格）。",
                    code="too_complex",
                    params={"limit": "cells", "max_cells": MAX_TABLE_CELLS},
                )
            for dr in range(rowspan):
                for dc in range(colspan):
                    grid[(r + dr, c + dc)] = text if (dr, dc) == (0, 0) else SPAN
            c += colspan
    # Widths in one pass: scanning the grid once per row is quadratic in a long table.
    widths: dict[int, int] = {}
    for rr, c in grid:
        widths[rr] = max(widths.get(rr, 0), c + 1)
    return [[grid.get((r, c), "") for c in range(widths.get(r, 0))] for r in range(len(rows))]


def _span(value: str | None, limit: int) -> int:
    try:
        return max(1, min(int(str(value).strip() or 1), limit))
    except ValueError:
        return 1


def _html_table(table) -> list[Line]:
    rows = []
    for tr in table.iter("tr"):
        if next((a for a in tr.iterancestors() if _tag(a) == "table"), None) is not table:
            continue  # a row of a nested table
        cells = [
            (_html_cell_text(td), _span(td.get("rowspan"), MAX_ROWSPAN), _span(td.get("colspan"), MAX_COLSPAN))
            for td in tr
            if _tag(td) in ("td", "th")
        ]
        rows.append(cells)
    return [Line(cells, table=True, row=_row_id(), where="表格") for cells in _grid(rows)]


# The national specification for government websites (GB/T 39735 / 政府网站发展指引) has
# every article page carry these meta tags.
PAGE_META = ("ArticleTitle", "PubDate", "ContentSource", "SiteName", "ColumnName")
# Site furniture around the article: dropped before sections are looked for, so a
# navigation line ending in 报告 is never the title and a footer never the signature.
_CHROME_TAGS = {"nav", "footer", "aside", "menu", "form", "button", "select", "iframe"}
_CHROME_WORDS = {
    "nav", "navbar", "navigation", "menu", "menus", "footer", "foot", "bottom", "topbar",
    "breadcrumb", "breadcrumbs", "crumb", "crumbs", "position", "location", "share", "bshare", "jiathis",
    "bdshare", "social", "related", "relate", "xgxx", "xglj", "links", "friendlink", "sidebar",
    "toolbar", "tools", "login", "search", "copyright", "banner", "dh", "daohang",
}  # fmt: skip
_CHROME_TOKENS = re.compile(r"[A-Za-z]+")


def _is_chrome(el) -> bool:
    if _tag(el) in _CHROME_TAGS:
        return True
    if _tag(el) == "header" and not any(_tag(a) in ("article", "main") for a in el.iterancestors()):
        return True  # the site's banner; an article's own header holds its title
    if el.get("role") in ("navigation", "banner", "contentinfo", "search"):
        return True
    for attr in ("id", "class"):
        value = el.get(attr) or ""
        if any(token.lower() in _CHROME_WORDS for token in _CHROME_TOKENS.findall(value)):
            return True
    return False


def _html_root(data: bytes):
    import lxml.etree
    import lxml.html

    text = decode_bytes(data, "网页", html=True)[0]
    # Decoded here (declared charset, UTF-8, GB18030), then handed over as UTF-8: lxml
    # left to itself reads undeclared bytes as Latin-1.
    parser = lxml.html.HTMLParser(encoding="utf-8")
    try:
        return lxml.html.document_fromstring(text.encode("utf-8"), parser=parser)
    except (lxml.etree.ParserError, ValueError) as exc:
        raise InvalidDocument("网页文件无法解析。", code="corrupted", params={"detail": str(exc)[:200]}) from None


def page_meta(data: bytes) -> dict[str, str]:
    """The site-specification meta tags of a government page that carries them."""
    root = _html_root(data)
    found: dict[str, str] = {}
    wanted = {name.lower(): name for name in PAGE_META}
    for meta in root.iter("meta"):
        name = wanted.get((meta.get("name") or "").strip().lower())
        content = _clean_html_text(meta.get("content") or "")
        if name and content and name not in found:
            found[name] = content
    return found


# A JavaScript string literal, and the escapes inside one.
_JS_STRING = re.compile(r'"((?:[^"\\\n]|\\.)+)"|\'((?:[^\'\\\n]|\\.)+)\'', re.S)
_JS_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{2}|.)", re.S)
_JS_SIMPLE = {"n": "\n", "t": "\t", "r": "", "b": "", "f": "", "v": "", "0": ""}


def _js_unescape(text: str) -> str:
    def repl(match: re.Match) -> str:
        code = match.group(1)
        if code[0] in "ux" and len(code) > 1:
            return chr(int(code[1:], 16))
        return _JS_SIMPLE.get(code, code)

    return _JS_ESCAPE.sub(repl, text)


def _script_html(root) -> bytes | None:
    """A report a page writes with JavaScript (document.write, innerHTML = "…"): its markup."""
    for script in root.iter("script"):
        code = script.text or ""
        if "政府信息公开" not in code and "\\u" not in code:
            continue
        pieces = [_js_unescape(a or b) for a, b in _JS_STRING.findall(code)]
        markup = "".join(p for p in pieces if "<" in p or re.search(_CJK, p))
        if "主动公开政府信息" in markup:
            return markup.encode("utf-8")
    return None


def from_html(data: bytes) -> list[Line]:
    root = _html_root(data)
    lines = _html_lines(root)
    if not _shows_report(lines):
        # A report inside an element whose class only looked like site furniture.
        whole = _html_lines(root, chrome=True)
        if _shows_report(whole):
            return whole
    if not _shows_report(lines):
        # Nothing of a report shows: the page may hold it in a script's strings.
        markup = _script_html(root)
        if markup is not None:
            lines += _html_lines(_html_root(markup))
    return lines


def _shows_report(lines: list[Line]) -> bool:
    return any("主动公开政府信息" in line.text for line in lines)


def _html_lines(root, chrome: bool = False) -> list[Line]:
    """The page's lines; site furniture left out unless ``chrome``."""
    lines: list[Line] = []
    holders = _block_holders(root)

    def _has_block(el) -> bool:
        return el in holders

    def flush(buffer: list[str], heading: int = 0) -> None:
        text = _clean_html_text("".join(buffer))
        buffer.clear()
        if text:
            lines.append(Line([text], heading=heading, row=_row_id(), where="网页"))

    def walk(el) -> None:
        tag = _tag(el)
        if tag in _SKIP_TAGS or not tag or (not chrome and tag not in ("body", "html") and _is_chrome(el)):
            return
        if tag == "table":
            lines.extend(_html_table(el))
            return
        heading = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 0
        if not _has_block(el):
            for br in el.iter("br"):
                br.tail = "\n" + (br.tail or "")
            if heading:
                flush([el.text_content()], heading)
            else:
                for piece in el.text_content().split("\n"):
                    flush([piece])
            return
        buffer = [el.text or ""]
        for child in el:
            ctag = _tag(child)
            if ctag in _BLOCK_TAGS or (ctag and _has_block(child)):
                flush(buffer, heading)
                walk(child)
            elif ctag == "br":
                flush(buffer, heading)
            elif ctag not in _SKIP_TAGS and not (ctag and not chrome and _is_chrome(child)):
                buffer.append(child.text_content() if ctag else "")
            buffer.append(child.tail or "")
        flush(buffer, heading)

    body = root.find("body")
    walk(body if body is not None else root)
    return lines


# -- Word -----------------------------------------------------------------


def _docx_heading(paragraph) -> int:
    try:
        name = (paragraph.style.name or "").lower()
    except (KeyError, ValueError, AttributeError):
        name = ""
    if name == "title":
        return 1
    match = re.match(r"^(?:heading|标题)\s*(\d)", name)
    if match:
        return int(match.group(1))
    return 0


def from_docx(data: bytes, name: str) -> list[Line]:
    from docx import Document
    from docx.oxml.ns import qn
    from docx.table import _Cell
    from docx.text.paragraph import Paragraph

    check_zip(data, name)
    try:
        document = Document(io.BytesIO(data))
    except Exception as exc:  # python-docx raises many kinds on a damaged package
        raise InvalidDocument(
            f"Word 文件“{name}”已损坏，无法打开。请在 Word/WPS 中打开后重新保存再上传。",
            code="corrupted",
            params={"detail": type(exc).__name__},
        ) from None
    lines: list[Line] = []

    def table(tbl) -> None:
        for tr in tbl.tr_lst:
            cells: list[str | None] = []
            for tc in tr.tc_lst:
                # Clamped as HTML's colspan: w:gridSpan="100000000" would ask for 800 MB a row.
                span = max(1, min(tc.grid_span, MAX_COLSPAN))
                if tc.vMerge == "continue":
                    cells.extend([SPAN] * span)
                    continue
                text = "\n".join(p.text for p in _Cell(tc, document).paragraphs).strip()
                cells.append(text)
                cells.extend([SPAN] * (span - 1))
            lines.append(Line(cells, table=True, row=_row_id(), where="Word 表格"))

    def walk(container) -> None:
        for child in container.iterchildren():
            if child.tag == qn("w:p"):
                paragraph = Paragraph(child, document)
                for piece in paragraph.text.split("\n"):
                    lines.append(Line([piece], heading=_docx_heading(paragraph), row=_row_id(), where="Word"))
            elif child.tag == qn("w:tbl"):
                table(child)
            elif child.tag == qn("w:sdt"):
                content = child.find(qn("w:sdtContent"))
                if content is not None:
                    walk(content)

    walk(document.element.body)
    return lines


# -- PDF ------------------------------------------------------------------


MAX_PDF_PAGES = 500


def _check_pdf(data: bytes, name: str) -> None:
    """Refuse encrypted PDFs and decompression bombs before pdfminer reads the file."""
    from pypdf import PdfReader
    from pypdf.errors import LimitReachedError, PyPdfError

    from .pdfcheck import check_pdf_work

    bomb = f"PDF 文件“{name}”中的压缩内容解压后异常庞大，可能是恶意构造的文件，已拒绝读取。"
    try:
        reader = PdfReader(io.BytesIO(data))
        encrypted = reader.is_encrypted
        if encrypted and reader.decrypt(""):
            encrypted = False  # an owner password only: readable without one
        if encrypted:
            raise InvalidDocument(
                f"PDF 文件“{name}”设置了打开密码，系统无法读取。请提供未加密的 PDF 或 Word 文件。", code="encrypted"
            )
        if len(reader.pages) > MAX_PDF_PAGES:
            raise InvalidDocument(
                f"PDF 文件“{name}”有 {len(reader.pages)} 页，超过了 {MAX_PDF_PAGES} 页的上限。", code="too_large"
            )
        # Everything pdfminer will decode and draw, bounded before it does (forms included).
        check_pdf_work(reader, name)
    except InvalidDocument:
        raise
    except LimitReachedError:
        raise InvalidDocument(bomb, code="zip_bomb") from None
    except PyPdfError as exc:
        raise InvalidDocument(
            f"PDF 文件“{name}”已损坏或不完整，无法打开。请重新导出或下载后再上传。",
            code="corrupted",
            params={"detail": str(exc)[:200]},
        ) from None
    except Exception as exc:  # pypdf fails in many ways on garbage
        raise InvalidDocument(
            f"PDF 文件“{name}”已损坏或不完整，无法打开。", code="corrupted", params={"detail": type(exc).__name__}
        ) from None


def from_pdf(data: bytes, name: str) -> list[Line]:
    import pdfplumber

    _check_pdf(data, name)
    lines: list[Line] = []
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except Exception as exc:  # pdfminer's errors are many and unrelated
        raise InvalidDocument(
            f"PDF 文件“{name}”已损坏，无法打开。", code="corrupted", params={"detail": type(exc).__name__}
        ) from None
    with pdf:
        try:
            for page_no, page in enumerate(pdf.pages, 1):
                lines.extend(_pdf_page(page, page_no))
                page.close()  # its layout and objects: kept, they grow with every page read
        except InvalidDocument:
            raise
        except Exception as exc:
            raise InvalidDocument(
                f"PDF 文件“{name}”内容损坏，无法读取。", code="corrupted", params={"detail": type(exc).__name__}
            ) from None
    if not any(not line.blank for line in lines):
        raise InvalidDocument(
            f"PDF 文件“{name}”里没有可提取的文字，可能是扫描件或图片。请提供文字版 PDF 或 Word 文件。",
            code="no_text",
        )
    return lines


def _pdf_page(page, page_no: int) -> list[Line]:
    where = f"第{page_no}页"
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]

    def outside(obj) -> bool:
        if obj.get("object_type") != "char":
            return True
        cx, cy = (obj["x0"] + obj["x1"]) / 2, (obj["top"] + obj["bottom"]) / 2
        return not any(x0 <= cx <= x1 and top <= cy <= bottom for x0, top, x1, bottom in boxes)

    items: list[tuple[float, int, list[Line]]] = []
    for found in tables:
        rows = [Line(cells, table=True, row=_row_id(), where=where) for cells in _table_cells(page, found)]
        items.append((found.bbox[1], 0, rows))
    text_lines = [t for t in page.filter(outside).extract_text_lines() if t["text"].strip()]
    body = [t for t in text_lines if not PAGE_NUMBER.match(t["text"])]
    # A bare number in the bottom margin is the page number.
    body = [t for t in body if not (t["top"] > page.height * 0.88 and re.fullmatch(r"\s*\d{1,4}\s*", t["text"]))]
    if body:
        left = min(t["x0"] for t in body)
        right = max(t["x1"] for t in body)
    for t in body:
        size = max(t["bottom"] - t["top"], 1.0)
        line = Line([t["text"]], row=_row_id(), where=where)
        line.para_start = t["x0"] > left + 0.8 * size
        line.para_end = t["x1"] < right - 1.5 * size
        items.append((t["top"], 1, [line]))
    items.sort(key=lambda item: (item[0], item[1]))
    return [line for _, _, group in items for line in group]


def _table_cells(page, found) -> list[list[str | None]]:
    """A PDF table's cells, with numbers its ruling lines failed to enclose put back in their row.

    A table continued on a new page (its caption left on the page before) may lose some
    of its rules: pdfplumber then sees no cell where a number is printed (the number is
    dropped) or one tall cell over several rows (their numbers in one cell). A number
    outside every cell, or in a tall cell within another row's band, goes to the row and
    column it is printed in, where that row has no cell of its own. Only numbers move:
    text in a tall cell is a merged label and stays.
    """
    from .values import read_cell

    table = [list(r) for r in found.extract()]
    rows = found.rows
    if not rows or not table:
        return table
    width = max(len(r) for r in table)
    for r in table:
        r.extend([None] * (width - len(r)))

    def band(row) -> tuple[float, float] | None:
        cells = [c for c in row.cells if c]
        if not cells:
            return None
        low = min(cells, key=lambda c: c[3] - c[1])
        return low[1], low[3]

    bands = [band(r) for r in rows]
    spans: list[tuple[float, float] | None] = []
    for j in range(width):
        at = [r.cells[j] for r in rows if j < len(r.cells) and r.cells[j]]
        narrow = min(at, key=lambda c: c[2] - c[0]) if at else None
        spans.append((narrow[0], narrow[2]) if narrow else None)
    cells = [(i, j, c) for i, r in enumerate(rows) for j, c in enumerate(r.cells) if c]
    try:
        words = page.crop(found.bbox, strict=False).extract_words()
    except Exception:  # a bbox pdfplumber itself cannot crop: keep what it extracted
        return table
    moved: dict[tuple[int, int], list[str]] = {}
    for word in words:
        cx, cy = (word["x0"] + word["x1"]) / 2, (word["top"] + word["bottom"]) / 2
        k = next((i for i, b in enumerate(bands) if b and b[0] <= cy <= b[1]), None)
        j = next((n for n, s in enumerate(spans) if s and s[0] <= cx <= s[1]), None)
        if k is None or j is None or table[k][j] is not None or not read_cell(word["text"]).is_value:
            continue
        home = next(((i, jj) for i, jj, c in cells if c[0] <= cx <= c[2] and c[1] <= cy <= c[3]), None)
        if home is not None and home[0] == k:
            continue  # in a cell of its own row: extracted already
        moved.setdefault((k, j), []).append((word["text"], home))
    for (k, j), found_words in moved.items():
        if len(found_words) != 1:
            continue  # several pieces in one place: not a number the rules lost
        text, home = found_words[0]
        if home is not None:
            # Out of the tall cell it was read into (one number a line there).
            i, jj = home
            lines = (table[i][jj] or "").split("\n")
            if text not in lines:
                continue
            lines.remove(text)
            table[i][jj] = "\n".join(lines)
        table[k][j] = text
    return table


# -- Excel ----------------------------------------------------------------


def from_xlsx(data: bytes, name: str) -> list[Line]:
    workbook = open_workbook(data, name)
    lines: list[Line] = []
    for sheet in workbook.worksheets:
        if sheet.sheet_state != "visible":
            continue
        lines.append(Line([sheet.title], heading=1, row=_row_id(), where=sheet.title))
        covered = set()
        for merged in sheet.merged_cells.ranges:
            for r in range(merged.min_row, merged.max_row + 1):
                for c in range(merged.min_col, merged.max_col + 1):
                    if (r, c) != (merged.min_row, merged.min_col):
                        covered.add((r, c))
        hidden_cols = {key for key, dim in sheet.column_dimensions.items() if dim.hidden}
        for row in sheet.iter_rows():
            if not row or sheet.row_dimensions[row[0].row].hidden:
                continue
            cells: list[str | None] = []
            for cell in row:
                if getattr(cell, "column_letter", None) in hidden_cols:
                    continue
                if (cell.row, cell.column) in covered:
                    cells.append(SPAN)
                else:
                    cells.append("" if cell.value is None else str(cell.value))
            if any(c for c in cells):
                lines.append(Line(cells, table=True, row=_row_id(), where=f"{sheet.title}!{row[0].row}"))
    return lines


# A report is a few hundred to a few thousand lines; the parse costs ~0.1–0.4 ms a line, so a
# 20 MB file of a million short rows would run for minutes before the sandbox stops it.
MAX_LINES = 50_000


def extract(source: Source) -> list[Line]:
    readers = {
        "text": lambda: from_text(decode_bytes(source.data, source.filename)[0]),
        "html": lambda: from_html(source.data),
        "docx": lambda: from_docx(source.data, source.filename),
        "pdf": lambda: from_pdf(source.data, source.filename),
        "xlsx": lambda: from_xlsx(source.data, source.filename),
    }
    if source.kind not in readers:  # pragma: no cover
        raise InvalidDocument(f"不支持的文件类型：{source.kind}", code="wrong_type")
    lines = readers[source.kind]()
    if len(lines) > MAX_LINES:
        raise InvalidDocument(
            f"文件过于复杂或已损坏，无法读取（内容超过 {MAX_LINES} 行）。",
            code="too_complex",
            params={"limit": "lines", "lines": len(lines), "max_lines": MAX_LINES},
        )
    return lines
