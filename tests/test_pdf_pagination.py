"""The official PDF's page breaks and tags (issue 13).

A table's header never stands at a page foot with fewer than three of its
rows (table 三's header and one row were seen alone at the foot of a page),
checked from each page's text as poppler's ``pdftotext -raw`` reads it, on the
seeds and on reports whose narrative moves the tables down the pages line by
line. The PDF is tagged (a structure tree whose table cells name their
headers) and still declares PDF/A-3b.
"""

from __future__ import annotations

import io
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from pypdf import PdfReader

from disclosure import formats as reg
from disclosure import pdf as report_pdf
from disclosure.interchange import canonicalize, get_path, load_document, set_path
from disclosure.pdf import presentation
from tests.factories import balanced_document

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "disclosure" / "fixtures" / "seeds").glob("*.json"))
MIN_ROWS = presentation.KEEP_FIRST_ROWS  # rows a header keeps at a page foot
PAGE_NUMBER = re.compile(r"^— \d+ —$")
# About one printed line of the 28-character grid (the indent takes two).
LINE = "本机关坚持以公开为常态、不公开为例外，推进政务公开标准化。"


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text in drawing order (pdftotext -raw), squashed, without
    page numbers and draft marks."""
    with tempfile.NamedTemporaryFile(suffix=".pdf") as source:
        source.write(pdf)
        source.flush()
        raw = subprocess.run(["pdftotext", "-raw", source.name, "-"], capture_output=True, text=True, check=True)
    pages = raw.stdout.split("\f")
    if pages and not pages[-1].strip():
        pages.pop()
    return [
        squash(
            "".join(
                line
                for line in page.splitlines()
                if not PAGE_NUMBER.match(line.strip()) and presentation.DRAFT_WORD not in line
            )
        )
        for page in pages
    ]


@dataclass(frozen=True)
class HeaderFoot:
    page: int  # 1-based
    table: str
    rows: int  # body rows printed after the header on that page


def lonely_headers(pdf: bytes, doc: dict) -> list[HeaderFoot]:
    return lonely_headers_in(page_texts(pdf), doc)


def lonely_headers_in(pages: list[str], doc: dict) -> list[HeaderFoot]:
    """Every place where a table header is followed on its page by fewer than
    MIN_ROWS of its rows although the table goes on after them."""
    found = []
    tables = presentation.report_view(doc).tables.values()
    for number, text in enumerate(pages, start=1):
        for table in tables:
            if not table.head:
                continue
            head = squash("".join(cell.text for row in table.head for cell in row.cells))
            rows = [squash("".join(cell.text for cell in row.cells)) for body in table.bodies for row in body.rows]
            for match in re.finditer(re.escape(head), text):
                rest = text[match.end() :]
                # The rows that follow, from wherever the table resumes: the longest run that matches.
                best_start, best_run = 0, 0
                for start in range(len(rows)):
                    run, at = 0, 0
                    while start + run < len(rows) and rest.startswith(rows[start + run], at):
                        at += len(rows[start + run])
                        run += 1
                    if run > best_run:
                        best_start, best_run = start, run
                if best_start + best_run < len(rows) and best_run < MIN_ROWS:
                    found.append(HeaderFoot(number, table.code, best_run))
    return found


def with_narrative(fmt_code: str, year: int, chars: int) -> dict:
    """A balanced report whose first narrative part holds ``chars`` characters,
    which moves the tables down by about a line per 28 characters."""
    doc = balanced_document(fmt_code, year=year)
    part = reg.get_format(fmt_code).narrative[0]
    text = (LINE * (chars // len(LINE) + 1))[:chars]
    node = get_path(doc["narrative"], part.path)
    if isinstance(node, dict):
        node["text"] = text
    else:
        set_path(doc["narrative"], part.path, text)
    return canonicalize(doc)


# -- page feet -------------------------------------------------------------------


@pytest.mark.parametrize("path", SEEDS, ids=[p.stem for p in SEEDS])
def test_it_keeps_each_table_header_with_three_rows_in_the_seeds(path):
    doc = canonicalize(load_document(path))
    for draft in (False, True):
        pdf = report_pdf.render_pdf(doc, draft=draft, revision=3 if draft else None)
        assert lonely_headers(pdf, doc) == [], (path.stem, draft)


# Narratives from empty to a page and a half, two lines apart: table 三's
# header meets the page foot at every height at least once per format.
SHIFTS = [(fmt, year, lines * 28) for fmt, year in (("2021", 2021), ("2019", 2020)) for lines in range(0, 34, 2)]


@pytest.mark.parametrize("fmt_code, year, chars", SHIFTS, ids=[f"{f}-{c}" for f, _y, c in SHIFTS])
def test_it_keeps_each_table_header_with_three_rows_wherever_the_table_starts(fmt_code, year, chars):
    doc = with_narrative(fmt_code, year, chars)
    assert lonely_headers(report_pdf.render_pdf(doc), doc) == []


def test_it_keeps_each_table_header_with_three_rows_in_a_long_report():
    doc = balanced_document("2021", year=2021)
    for part in reg.get_format("2021").narrative:
        node = get_path(doc["narrative"], part.path)
        text = (LINE * 80)[: 1500 + 37 * len(part.path)]
        if isinstance(node, dict):
            node["text"] = text
        else:
            set_path(doc["narrative"], part.path, text)
    doc = canonicalize(doc)
    pdf = report_pdf.render_pdf(doc)
    assert len(page_texts(pdf)) > 10
    assert lonely_headers(pdf, doc) == []


def test_it_finds_a_header_left_alone_at_a_page_foot():
    # The check itself: a page that ends two rows after table 三's header is found.
    doc = canonicalize(load_document(SEEDS[1]))
    table = presentation.report_view(doc).tables["applications"]
    head = "".join(cell.text for row in table.head for cell in row.cells)
    rows = ["".join(cell.text for cell in row.cells) for row in table.bodies[0].rows]
    pages = [squash(head + rows[0] + rows[1]), squash(head + "".join(rows[2:]))]
    lonely = lonely_headers_in(pages, doc)
    assert lonely == [HeaderFoot(1, "applications", 2)]


# -- tags ----------------------------------------------------------------------


def structure(node, out: list) -> list:
    node = node.get_object()
    if "/S" in node:
        out.append(node)
    kids = node.get("/K")
    for kid in kids if isinstance(kids, list) else [kids]:
        kid = kid.get_object() if hasattr(kid, "get_object") else kid
        if isinstance(kid, dict):
            structure(kid, out)
    return out


@pytest.mark.parametrize("path", SEEDS[:1] + SEEDS[-1:], ids=[p.stem for p in SEEDS[:1] + SEEDS[-1:]])
def test_it_tags_the_pdf_and_keeps_it_pdfa3b(path):
    doc = canonicalize(load_document(path))
    reader = PdfReader(io.BytesIO(report_pdf.render_pdf(doc)))
    catalog = reader.trailer["/Root"]
    assert bool(catalog["/MarkInfo"]["/Marked"])
    assert str(catalog["/Lang"]) == doc.get("lang", "zh-CN")
    elements = structure(catalog["/StructTreeRoot"], [])
    kinds = [str(e["/S"]) for e in elements]
    view = presentation.report_view(doc)
    # WeasyPrint tags each page's part of a table as a table of its own (with its header).
    assert kinds.count("/Table") >= len(view.tables)
    # Every statutory value is a data cell in a row of a table; every label a header cell.
    cells = [e for e in elements if e["/S"] == "/TD"]
    values = sum(len(t.value_cells()) for t in view.tables.values())
    assert len(cells) == values
    rows = [r for t in view.tables.values() for r in (*t.head, *(r for b in t.bodies for r in b.rows))]
    assert kinds.count("/TH") >= sum(1 for r in rows for c in r.cells if c.kind != "value")
    for cell in cells:
        row = cell["/P"].get_object()
        assert row["/S"] == "/TR" and row["/P"].get_object()["/S"] in ("/TBody", "/THead", "/Table")
    assert "/THead" in kinds and "/H1" in kinds and "/H2" in kinds
    xmp = reader.xmp_metadata.stream.get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    assert catalog["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"
    assert catalog["/AF"]  # the data still attached as PDF/A-3 wants
