"""parse_report: a published report (text, HTML, .docx, PDF, .xlsx) → interchange document."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from .. import formats as reg
from ..formats import Format
from ..interchange import (
    SCHEMA_ID,
    YUAN_PLACES,
    InvalidDocument,
    canonicalize,
    format_amount,
    parse_amount,
    set_path,
)
from . import flatten
from . import narrative as nar
from .extract import Line, extract, page_meta
from .files import load_source
from .labels import key
from .result import ParseResult, Problem
from .tables import format_evidence, read_tables, tokens_of

GOVERNMENT_SUFFIX = "人民政府"
# Layouts whose lines are physical lines: a paragraph may be cut by a break.
BROKEN_LINES = {"text", "pdf"}
_PAGE = re.compile(r"^第\d+页$")


def derive_org_code(name: str) -> str:
    """A stable, slug-like organization code for a name: ``org-`` + 10 hex digits.

    The digits are the start of the SHA-1 of the name's match key (NFKC, no
    spaces or punctuation), so the same office always gets the same code and
    printing variants (full-width brackets, spaces) do not change it. Give a
    code explicitly (``--code``) to use a readable one.
    """
    return "org-" + hashlib.sha1(key(name).encode("utf-8")).hexdigest()[:10]


def org_kind(name: str) -> str:
    return "government" if name.strip().endswith(GOVERNMENT_SUFFIX) else "department"


def _choose_format(year: int | None, evidence: dict[str, int], problems: list[Problem]) -> tuple[Format, int]:
    by_labels = max(evidence, key=lambda code: evidence[code]) if any(evidence.values()) else None
    if year is None:
        raise InvalidDocument(
            "无法从文件中确定报告年度（标题里没有“XXXX年”）。请用 --year 指定年度。",
            code="no_year",
            params={"format_by_labels": by_labels},
        )
    try:
        fmt = reg.format_for_year(year)
    except reg.UnknownFormat:
        raise InvalidDocument(
            f"{year}年没有适用的年度报告格式（最早为{reg.FIRST_YEAR}年）。", code="no_format", params={"year": year}
        ) from None
    if by_labels and by_labels != fmt.code and evidence[by_labels] > evidence.get(fmt.code, 0):
        problems.append(
            Problem(
                "format_conflict",
                f"{year}年度应使用{fmt.code}格式（{fmt.document}），但表格标签更像{by_labels}格式；"
                f"已按{fmt.code}格式识别，对不上的单元格留空。",
            )
        )
    return fmt, year


# Where a government page's article ends: what follows is the site's (links, sharing, footer).
_PAGE_TAIL = re.compile(
    r"^[\s【\[]*(?:相关(?:链接|阅读|新闻|稿件)|相关(?:文件|信息)\s*(?:[:：]|$)|分享到|分享至|打印本页|"
    r"【?打印】?\s*$|关闭窗口|关闭本页|扫一扫在手机|版权所有|主办单位|主办：|承办单位|网站标识码|网站地图|"
    r"上一篇|下一篇)"
)
# Site furniture is short; a report's sentence that happens to start so is not.
_PAGE_TAIL_MAX = 80


def _article_lines(lines: list[Line], page: dict[str, str]) -> list[Line]:
    """A page's article without the site around it: from its title line to the first tail line."""
    start = 0
    title = key(page.get("ArticleTitle", ""))
    if title:
        at = next((i for i, line in enumerate(lines[:200]) if not line.table and key(line.text) == title), None)
        start = at if at is not None else 0
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if not lines[i].table and len(lines[i].text) <= _PAGE_TAIL_MAX and _PAGE_TAIL.match(lines[i].text)
        ),
        len(lines),
    )
    return lines[start:end]


def _with_ambiguities(fmt: Format, tables, ambiguities: list[flatten.Ambiguity]) -> list[Problem]:
    """The rows whose digits would not split: settled by their columns' sums when that leaves
    one candidate, else said so with their candidates (not as rows without numbers)."""
    problems = tables.problems
    if not ambiguities:
        return problems
    refs = {ref for a in ambiguities for ref in a.refs}
    kept = [p for p in problems if not (p.code == "row_empty" and p.cells and set(p.cells) <= refs)]
    unsettled = []
    for a in ambiguities:
        known = all(ref in tables.cells for ref in a.refs)
        settled = flatten.narrow_by_columns(fmt, tables.cells, a) if known else None
        if settled is None:
            unsettled.append(a)
            continue
        for ref, value in zip(a.refs, settled, strict=True):
            tables.cells[ref] = value
        kept.append(
            Problem(
                "digits_split",
                f"连在一起的数字“{a.printed}”有{len(a.candidates)}种拆分，只有"
                f"“{' | '.join(str(v) for v in settled)}”使各列勾稽关系成立，已按此填入，请核对。",
                a.refs,
                a.where,
                a.candidates,
            )
        )
    for a in unsettled:
        labels = "、".join(fmt.label_of(ref) for ref in a.refs)
        if a.candidates:
            shown = "；".join(" | ".join(str(v) for v in c) for c in a.candidates)
            what = f"可以拆分为{len(a.candidates)}种：{shown}。请核对原件后选择"
        else:
            what = "无法拆分为符合表格勾稽关系的数字，请核对原件"
        kept.append(
            Problem(
                "digits_ambiguous",
                f"连在一起的数字“{a.printed}”{what}；以下单元格留空：{labels}。",
                a.refs,
                a.where,
                a.candidates,
            )
        )
    return kept


def parse_lines(
    lines: list[Line],
    *,
    kind: str,
    year: int | None = None,
    org_name: str | None = None,
    org_code: str | None = None,
    page: dict[str, str] | None = None,
    encoding: str = "",
    default_year: int | None = None,
) -> ParseResult:
    """The parse proper, on lines from any extractor (``page``: a web page's meta tags)."""
    problems: list[Problem] = []
    page = dict(page or {})
    if kind == "html":
        lines = _article_lines(lines, page)
    lines, ambiguities = flatten.reflow(lines)
    join_broken = kind in BROKEN_LINES
    # Section titles are the same in every format; the latest registry entry serves to split.
    probe = max(reg.FORMATS.values(), key=lambda f: f.first_year)
    layout = nar.split_sections(lines, probe)
    header = nar.read_header(layout.head, join_broken)
    preamble_text = nar.join(header.preamble)
    sources: dict[str, str] = {}
    title = header.title or nar.title_from_text(preamble_text)
    if title:
        sources["title"] = "title_line" if header.title else "preamble"
    if "报告" in page.get("ArticleTitle", ""):
        title = page["ArticleTitle"]  # the site's record of the title: never a navigation line
        sources["title"] = "meta:ArticleTitle"
    tokens = tokens_of(layout.table_lines, layout.markers)
    if not tokens and not layout.narrative:
        raise InvalidDocument(
            f"文件中没有找到年度报告的表格或章节（如“{probe.sections[0].title}”“{probe.sections[1].title}”）。"
            "请确认上传的是政府信息公开工作年度报告。",
            code="not_a_report",
        )
    file_year = nar.title_year(title) or nar.title_year(preamble_text)
    if year:
        sources["year"] = "given"
    elif file_year:
        sources["year"] = "title" if nar.title_year(title) else "preamble"
    elif default_year:
        sources["year"] = "default"
    fmt, year = _choose_format(year or file_year or default_year, format_evidence(tokens), problems)
    tables = read_tables(fmt, tokens)
    problems += _with_ambiguities(fmt, tables, ambiguities)

    # The last section carries the signature and the date.
    last = next((code for code in reversed(nar.NARRATIVE_SECTIONS) if code in layout.narrative), None)
    signature, issued = "", None
    name = (org_name or "").strip()
    if name:
        sources["organization"] = "given"
    elif name := nar.name_from_title(title):
        sources["organization"] = "title"
    if last is not None:
        layout.narrative[last], signature, issued = nar.take_signature(layout.narrative[last], name)
    if issued is not None:
        sources["issued_on"] = "signature"
    if signature:
        sources["signature"] = signature
    if not name and (signature or page.get("ContentSource")):
        name = signature or page["ContentSource"]
        sources["organization"] = "signature" if signature else "meta:ContentSource"
    if not name and header.subtitles:
        texts = [preamble_text] + [line.text for lines_ in layout.narrative.values() for line in lines_]
        name = nar.expand_name(header.subtitles[0], texts)
        if name:
            sources["organization"] = "subtitle"
    if not name:
        raise InvalidDocument(
            "无法从文件中确定发布机关的名称。请用 --org 指定机关名称。", code="no_organization", params={"year": year}
        )
    if title and not key(title).startswith(key(name)) and re.match(r"^\s*(?:19|20)\d{2}", title):
        title = name + title  # 2020年度政府信息公开工作报告 under the subtitle 区招商局

    narrative: dict = {}
    set_path(narrative, "preamble", preamble_text)
    for path, text in nar.overview(fmt, nar.paragraphs(layout.narrative.get("overview", []), join_broken)).items():
        set_path(narrative, path, text)
    set_path(narrative, "problems", nar.join(nar.paragraphs(layout.narrative.get("problems", []), join_broken)))
    matters = nar.other_matters(fmt, nar.paragraphs(layout.narrative.get("other_matters", []), join_broken))
    for part in fmt.narrative:
        if not part.path.startswith("other_matters."):
            continue
        text = matters.get(part.path, "")
        if part.has_amount:
            amount = nar.fee_amount(text)
            set_path(
                narrative, part.path, {"amount_yuan": format_amount(parse_amount(amount), YUAN_PLACES), "text": text}
            )
        else:
            set_path(narrative, part.path, text)
    for code in nar.NARRATIVE_SECTIONS:
        if code not in layout.narrative:
            section = fmt.section(code)
            problems.append(Problem("section_missing", f"没有找到“{section.title}”这一部分，相应文字留空。"))

    document = {
        "schema": SCHEMA_ID,
        "format": fmt.code,
        "year": year,
        "organization": {"name": name, "code": org_code or derive_org_code(name), "kind": org_kind(name)},
        "title": title,
        "issued_on": issued.isoformat() if issued else None,
        "narrative": narrative,
    }
    for ref, value in tables.cells.items():
        set_path(document, ref, value)
    if fmt.unit_table:
        document["active_disclosure"][fmt.unit_table.code]["unit"] = tables.unit or reg.DEFAULT_PROCUREMENT_UNIT
    pages = len({line.where for line in lines if _PAGE.match(line.where)}) if kind == "pdf" else None
    return ParseResult(
        document=canonicalize(document),
        problems=problems,
        kind=kind,
        encoding=encoding,
        page=page,
        file_year=file_year,
        sources=sources,
        pages=pages,
    )


def parse_report(
    source: str | Path | bytes,
    *,
    filename: str | None = None,
    year: int | None = None,
    org_name: str | None = None,
    org_code: str | None = None,
    default_year: int | None = None,
) -> ParseResult:
    """Read a published report and map it to a ``disclosure-report/1`` document.

    ``source`` is a path or the file's bytes (then ``filename`` tells its
    name). Raises ``InvalidDocument`` (with a ``code``) when the file cannot
    be read at all; otherwise every cell that could not be placed is null in
    the document and named in ``problems``. ``year`` overrides the year the file
    states; ``default_year`` is used only when it states none (``file_year`` says which).
    """
    src = load_source(source, filename)
    lines = extract(src)
    page = page_meta(src.data) if src.kind == "html" else {}
    return parse_lines(
        lines,
        kind=src.kind,
        year=year,
        org_name=org_name,
        org_code=org_code,
        page=page,
        encoding=src.encoding,
        default_year=default_year,
    )
