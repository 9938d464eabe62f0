"""The official-format PDF (issue 4): statutory layout, GB/T 9704 page, fonts, PDF/A.

Each seed is rendered once per module (published, and two of them as drafts)
and read back with pdfplumber and pypdf. Visual references are pages rendered
by pdftoppm at low resolution; regenerate them after an intended change of
the layout with

    REPORT_PDF_UPDATE_REFERENCE=1 .venv/bin/python -m pytest tests/test_pdf.py -k visual

and look at every PNG before committing it.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import pdfplumber
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.template.loader import render_to_string
from lxml import html as lxml_html
from PIL import Image, ImageChops
from pypdf import PdfReader

from disclosure import formats as reg
from disclosure import pdf as report_pdf
from disclosure.formats import Requirement
from disclosure.interchange import canonicalize, cell_value, load_document
from disclosure.pdf import presentation
from disclosure.pdf.checks import HARFBUZZ_SUBSET, check_pdf_rendering

ROOT = Path(__file__).resolve().parent.parent
SEEDS = sorted((ROOT / "disclosure" / "fixtures" / "seeds").glob("*.json"))
REFERENCE = Path(__file__).parent / "pdf_reference"
UPDATE_REFERENCE = os.environ.get("REPORT_PDF_UPDATE_REFERENCE") == "1"
DRAFT_SEEDS = ("002_lc-swj_2021", "004_wch-zsj_2020")  # one per format
DRAFT_REVISION = 3
MM = 72 / 25.4
A4 = (210 * MM, 297 * MM)
PAGE_NUMBER = re.compile(r"^— (\d+) —$")
NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


@dataclass
class Rendered:
    name: str
    doc: dict
    pdf: bytes

    @cached_property
    def fmt(self) -> reg.Format:
        return reg.get_format(self.doc["format"])

    @cached_property
    def plumber(self) -> pdfplumber.PDF:
        return pdfplumber.open(io.BytesIO(self.pdf))

    @cached_property
    def reader(self) -> PdfReader:
        return PdfReader(io.BytesIO(self.pdf))

    @cached_property
    def page_texts(self) -> list[str]:
        return [page.extract_text() or "" for page in self.plumber.pages]

    @cached_property
    def text(self) -> str:
        """The whole text without page numbers and draft marks, squashed."""
        lines = [
            line
            for text in self.page_texts
            for line in text.splitlines()
            if not PAGE_NUMBER.match(line.strip()) and presentation.DRAFT_WORD not in line
        ]
        return squash("".join(lines))

    @cached_property
    def tables(self) -> list[list[list[str | None]]]:
        """Every table fragment, in page then top-to-bottom order."""
        out = []
        for page in self.plumber.pages:
            for table in sorted(page.find_tables(), key=lambda t: t.bbox[1]):
                out.append(table.extract())
        return out

    @cached_property
    def stream_text(self) -> str:
        """The characters in drawing order, squashed: each table cell's text is
        contiguous there, however its lines wrap."""
        return squash("".join(c["text"] for page in self.plumber.pages for c in page.chars))


@pytest.fixture(scope="module")
def rendered() -> dict[str, Rendered]:
    out = {}
    for path in SEEDS:
        doc = canonicalize(load_document(path))
        out[path.stem] = Rendered(path.stem, doc, report_pdf.render_pdf(doc))
    return out


@pytest.fixture(scope="module")
def drafts(rendered) -> dict[str, Rendered]:
    return {
        name: Rendered(name, rendered[name].doc, report_pdf.render_pdf(rendered[name].doc, draft=True, revision=3))
        for name in DRAFT_SEEDS
    }


def seed_names() -> list[str]:
    return [p.stem for p in SEEDS]


def test_it_has_seeds_of_both_formats():
    formats = {json.loads(p.read_text(encoding="utf-8"))["format"] for p in SEEDS}
    assert formats == set(reg.FORMATS)


# -- statutory content --------------------------------------------------------


def statutory_labels(fmt: reg.Format, kind: str) -> list[str]:
    labels = [s.title for s in fmt.sections]
    for table in fmt.active_disclosure:
        labels += [table.caption, fmt.active_disclosure_first_header]
        labels += [r.label for r in table.rows] + [c.label for c in table.columns]
    labels += [fmt.applications_note, fmt.applications_applicant_header]
    labels += [c.label for c in fmt.applications_columns] + [c.group for c in fmt.applications_columns if c.group]
    labels += [r.label for r in fmt.applications_rows] + [g for r in fmt.applications_rows for g in r.groups]
    labels += [b.label for b in fmt.reviews_blocks] + [b.group for b in fmt.reviews_blocks if b.group]
    labels += [c.label for c in fmt.reviews_columns]
    for part in fmt.narrative:
        if part.requirement == Requirement.ALWAYS or (
            part.requirement == Requirement.GOVERNMENT and kind == "government"
        ):
            labels.append(part.label)
    return list(dict.fromkeys(labels))


@pytest.mark.parametrize("name", seed_names())
def test_it_prints_every_statutory_label(rendered, name):
    r = rendered[name]
    labels = statutory_labels(r.fmt, r.doc["organization"]["kind"])
    assert [label for label in labels if squash(label) not in r.stream_text] == []


def printed_values(r: Rendered) -> list[str]:
    """The value cells of the extracted tables, in printed order.

    A data row ends with its value cells: numbers or blanks, after its labels
    (which are never blank nor numbers). Merged cells (None) are the rest of
    the cell to their left; header and caption rows end with labels or merged
    cells only.
    """
    values = []
    for table in r.tables:
        for row in table:
            run = []
            for cell in reversed(row):
                if cell is not None and cell != "" and not NUMBER.match(cell):
                    break
                run.insert(0, cell)
            values += [c for c in run if c is not None]
    return values


@pytest.mark.parametrize("name", seed_names())
def test_it_prints_every_cell_value_in_table_order(rendered, name):
    r = rendered[name]
    expected = ["" if (v := cell_value(r.doc, spec)) is None else str(v) for spec in r.fmt.cells()]
    assert printed_values(r) == expected


def test_it_prints_blank_as_blank_and_zero_as_0(rendered):
    # Seed 002 leaves three rows of 三 blank; its other cells are 0.
    r = rendered["002_lc-swj_2021"]
    values = printed_values(r)
    specs = r.fmt.cells()
    blank = [s.ref for s, v in zip(specs, values, strict=True) if v == ""]
    assert len(blank) == 21
    assert all(ref.split(".")[1] in {"granted", "partially_granted", "withheld_state_secret"} for ref in blank)
    assert values.count("0") > 100


@pytest.mark.parametrize("name", seed_names())
def test_it_prints_the_narrative_title_and_signature(rendered, name):
    r = rendered[name]
    doc = r.doc
    paragraphs = []
    for part in r.fmt.narrative:
        node = doc["narrative"]
        for key in part.path.split("."):
            node = node[key]
        text = node["text"] if part.has_amount else node
        paragraphs += [line for line in text.splitlines() if line.strip()]
    missing = [p for p in paragraphs if squash(p) not in r.text]
    assert missing == []
    assert squash(doc["title"]) in r.text
    last_page = squash(r.page_texts[-1])
    assert squash(doc["organization"]["name"]) in last_page
    if doc["issued_on"]:
        year, month, day = (int(x) for x in doc["issued_on"].split("-"))
        assert f"{year}年{month}月{day}日" in last_page


def test_it_repeats_the_header_of_a_table_that_crosses_a_page(rendered):
    crossing = 0
    for r in rendered.values():
        note = squash(r.fmt.applications_note)
        fragments = [
            t for t in r.tables if len(t[0]) == len(presentation.report_view(r.doc).tables["applications"].columns)
        ]
        crossing += len(fragments) > 1
        assert all(squash(t[0][0] or "") == note for t in fragments)
    assert crossing >= 1


# -- the page -------------------------------------------------------------------


@pytest.mark.parametrize("name", seed_names())
def test_it_prints_on_a4_within_the_gbt9704_text_block(rendered, name):
    r = rendered[name]
    for number, page in enumerate(r.plumber.pages, start=1):
        assert (round(page.width, 1), round(page.height, 1)) == (round(A4[0], 1), round(A4[1], 1))
        binding = 28 * MM if number % 2 else 26 * MM  # odd pages are bound on the left
        body = [c for c in page.chars if abs(c["size"] - 14) > 0.1]  # all but the page number
        assert min(c["x0"] for c in body) >= binding - 0.5
        assert max(c["x1"] for c in body) <= binding + 156 * MM + 0.5
        assert min(c["top"] for c in body) >= 37 * MM - 0.5
        assert max(c["bottom"] for c in body) <= (37 + 225) * MM + 0.5


@pytest.mark.parametrize("name", seed_names())
def test_it_numbers_the_pages_outside_the_text_block(rendered, name):
    r = rendered[name]
    for number, page in enumerate(r.plumber.pages, start=1):
        chars = [c for c in page.chars if abs(c["size"] - 14) < 0.1]
        assert "".join(c["text"] for c in chars).replace(" ", "") == f"—{number}—"
        left, right = min(c["x0"] for c in chars), max(c["x1"] for c in chars)
        block_left = (28 if number % 2 else 26) * MM
        if number % 2:  # odd: right, one character (14 pt) in from the text block
            assert right == pytest.approx(block_left + 156 * MM - 14, abs=1)
        else:
            assert left == pytest.approx(block_left + 14, abs=1)
        assert min(c["top"] for c in chars) > (37 + 225) * MM
    texts = [PAGE_NUMBER.match(line.strip()) for t in r.page_texts for line in t.splitlines()]
    assert [int(m.group(1)) for m in texts if m] == list(range(1, len(r.page_texts) + 1))


def test_it_sets_the_statutory_type_sizes_and_faces(rendered):
    from disclosure.pdf.fonts import resolved_faces

    faces = resolved_faces(report_pdf.static_path(report_pdf.STYLESHEETS[0]).read_text(encoding="utf-8"))
    r = rendered["004_wch-zsj_2020"]
    first = r.plumber.pages[0]
    title = [c for c in first.chars if c["size"] > 20]
    assert squash("".join(c["text"] for c in title)) == squash(r.doc["title"])
    assert {round(c["size"]) for c in title} == {22}
    assert all(faces["xiaobiaosong"].replace(" ", "-") in c["fontname"] for c in title)

    def face_of(text: str) -> set[str]:
        for page in r.plumber.pages:
            words = page.extract_words(extra_attrs=["fontname", "size"])
            for word in words:
                if word["text"].startswith(text):
                    return {word["fontname"].split("+")[-1], round(word["size"])}
        raise AssertionError(text)

    heading = r.fmt.sections[0].title
    assert face_of(heading) == {faces["heiti"].replace(" ", "-"), 16}
    subheading = presentation.item_heading(1, r.fmt.narrative_part("overview.active_disclosure").label)
    assert face_of(subheading) == {faces["kaiti"].replace(" ", "-"), 16}
    paragraph = r.doc["narrative"]["preamble"][:6]
    assert face_of(paragraph) == {faces["fangsong"].replace(" ", "-"), 16}


def test_it_fills_the_line_with_28_characters(rendered):
    # The character grid of GB/T 9704: a full line of Chinese holds 28 characters.
    full = []
    for r in rendered.values():
        for page in r.plumber.pages:
            lines: dict[float, list] = {}
            for c in page.chars:
                if abs(c["size"] - 16) < 0.1:
                    lines.setdefault(round(c["top"], 1), []).append(c)
            for chars in lines.values():
                if all(ord(c["text"]) > 0x2E80 for c in chars):
                    full.append(len(chars))
    assert max(full) == 28
    assert full.count(28) >= 20


# -- fonts, metadata, archiving ----------------------------------------------------


@pytest.mark.parametrize("name", seed_names())
def test_it_embeds_and_subsets_every_font(rendered, name):
    fonts = {}
    for page in rendered[name].reader.pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            fonts[font["/BaseFont"]] = font
    assert len(fonts) >= 4
    for base, font in fonts.items():
        assert re.match(r"^/[A-Z]{6}\+", base), base
        descriptor = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
        assert any(key in descriptor for key in ("/FontFile", "/FontFile2", "/FontFile3")), base


def test_it_renders_no_missing_glyph(rendered, caplog):
    # Every character of the seeds (GB 2312 and beyond) has a face; the
    # control proves that a missing glyph would be noticed.
    def missing(doc: dict) -> list[str]:
        caplog.clear()
        with caplog.at_level("WARNING", logger="weasyprint"):
            report_pdf.render_pdf(doc)
        return [rec.getMessage() for rec in caplog.records if ".notdef" in rec.getMessage()]

    for name in ("000_xq-swj_2020", "002_lc-swj_2021"):
        assert missing(rendered[name].doc) == []
    control = copy.deepcopy(rendered["004_wch-zsj_2020"].doc)
    control["narrative"]["problems"] += "\U0010fffd"  # a private-use character no font has
    assert len(missing(control)) == 1


@pytest.mark.parametrize("name", seed_names())
def test_it_attaches_the_document_to_a_pdfa3_file(rendered, name):
    r = rendered[name]
    reader = r.reader
    attachments = reader.attachments
    assert list(attachments) == [report_pdf.attachment_name(r.doc)]
    (data,) = attachments[report_pdf.attachment_name(r.doc)]
    assert json.loads(data) == r.doc
    catalog = reader.trailer["/Root"]
    assert catalog["/Lang"] == "zh-CN"
    assert catalog["/OutputIntents"][0].get_object()["/S"] == "/GTS_PDFA1"
    filespec = catalog["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Source"
    xmp = catalog["/Metadata"].get_object().get_data().decode()
    assert 'pdfaid:part="3"' in xmp and 'pdfaid:conformance="B"' in xmp
    info = reader.metadata
    assert info.title == r.doc["title"]
    assert info.author == r.doc["organization"]["name"]
    assert info.creation_date is not None and info.modification_date is not None


def test_it_dates_the_pdf_by_the_report(rendered):
    # Seed 000 has a 成文日期; the PDF's creation date is that day.
    r = rendered["000_xq-swj_2020"]
    assert r.reader.metadata.creation_date.date().isoformat() == r.doc["issued_on"]


def test_it_reuses_the_font_configuration(rendered):
    before = report_pdf._get_resources()
    report_pdf.render_pdf(rendered["001_qu-swj_2020"].doc)
    assert report_pdf._get_resources() is before


# -- drafts -------------------------------------------------------------------------


@pytest.mark.parametrize("name", DRAFT_SEEDS)
def test_it_marks_drafts_with_their_revision(drafts, name):
    r = drafts[name]
    revision = presentation.REVISION_LINE.format(revision=DRAFT_REVISION)
    for text in r.page_texts:
        assert presentation.DRAFT_WORD in text
        assert revision in text


@pytest.mark.parametrize("name", seed_names())
def test_it_prints_no_draft_mark_on_a_published_report(rendered, name):
    assert all(presentation.DRAFT_WORD not in text for text in rendered[name].page_texts)


# -- the template context (shared with the on-screen preview) -------------------


def grid_widths(table: presentation.Table) -> list[int]:
    """How many grid columns each row fills, with the rowspans from above."""
    covered = [0] * len(table.columns)  # rows still covered, per column
    widths = []
    for row in (*table.head, *(r for body in table.bodies for r in body.rows)):
        pending = list(row.cells)
        column = filled = 0
        while column < len(covered) and (pending or covered[column]):
            if covered[column]:
                covered[column] -= 1
                column += 1
                filled += 1
                continue
            cell = pending.pop(0)
            for c in range(column, min(column + cell.colspan, len(covered))):
                covered[c] = cell.rowspan - 1
            column += cell.colspan
            filled += cell.colspan
        widths.append(filled + sum(c.colspan for c in pending))
    return widths


@pytest.mark.parametrize("name", seed_names())
def test_it_builds_complete_grids_from_the_registry(rendered, name):
    r = rendered[name]
    view = presentation.report_view(r.doc)
    assert [s.title for s in view.sections] == [s.title for s in r.fmt.sections]
    refs = []
    for table in view.tables.values():
        assert set(grid_widths(table)) == {len(table.columns)}, table.code
        refs += [c.ref for c in table.value_cells()]
    assert refs == [spec.ref for spec in r.fmt.cells()]


def test_it_renders_the_body_for_the_preview(rendered):
    r = rendered["002_lc-swj_2021"]
    context = report_pdf.report_context(r.doc, draft=True, revision=2)
    page = lxml_html.fragment_fromstring(render_to_string("report/_body.html", context))
    assert page.tag == "article" and page.get("lang") == "zh-CN"
    assert [td.get("data-ref") for td in page.iter("td")] == [spec.ref for spec in r.fmt.cells()]
    assert len(page.find_class("report-cell--blank")) == 21
    assert [h.text for h in page.iter("h2")] == [s.title for s in r.fmt.sections]
    assert page.find_class("report-watermark")
    published = lxml_html.fragment_fromstring(render_to_string("report/_body.html", report_pdf.report_context(r.doc)))
    assert not published.find_class("report-watermark")


def test_it_writes_dates_and_numbers_the_chinese_way():
    assert presentation.chinese_date("2021-01-21") == "2021年1月21日"
    assert presentation.chinese_date(None) == ""
    assert [presentation.chinese_number(n) for n in (1, 5, 10, 11, 20, 21)] == [
        "一",
        "五",
        "十",
        "十一",
        "二十",
        "二十一",
    ]
    assert presentation.cell_text(None) == "" and presentation.cell_text(0) == "0"


# -- start-up check and command line --------------------------------------------------


def test_it_reports_a_missing_harfbuzz_subsetter(monkeypatch):
    import weasyprint.text.ffi as ffi

    assert [m for m in check_pdf_rendering() if m.id == HARFBUZZ_SUBSET] == []
    monkeypatch.setattr(ffi, "harfbuzz_subset", None)
    assert [m.id for m in check_pdf_rendering() if m.is_serious()] == [HARFBUZZ_SUBSET]
    with pytest.raises(SystemCheckError, match="libharfbuzz-subset0"):
        call_command("check", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(report_pdf.PdfSetupError):
        report_pdf._load_resources()


def test_it_renders_from_the_command_line(tmp_path):
    out = tmp_path / "report.pdf"
    stdout = io.StringIO()
    call_command("report_pdf", str(SEEDS[0]), str(out), "--draft", "--revision", "2", stdout=stdout)
    reader = PdfReader(out)
    assert presentation.DRAFT_WORD in reader.pages[0].extract_text()
    assert str(out) in stdout.getvalue()


def test_it_refuses_an_invalid_document_in_chinese(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": "disclosure-report/1", "format": "2021"}', encoding="utf-8")
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "report_pdf", str(bad), str(tmp_path / "out.pdf")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "无效文档" in result.stderr and "缺少必填项" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.pdf").exists()


# -- visual references ------------------------------------------------------------------


def page_images(pdf: bytes, tmp_path: Path, stem: str) -> list[Path]:
    source = tmp_path / f"{stem}.pdf"
    source.write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", "40", "-gray", "-png", str(source), str(tmp_path / stem)], check=True)
    return sorted(tmp_path.glob(f"{stem}-*.png"), key=lambda p: int(p.stem.rsplit("-", 1)[1]))


def font_names(reader: PdfReader) -> list[str]:
    names = {
        str(font.get_object()["/BaseFont"]).split("+", 1)[-1]
        for page in reader.pages
        for font in page["/Resources"]["/Font"].values()
    }
    return sorted(names)


def difference(actual: Path, expected: Path) -> tuple[float, float]:
    """(share of pixels that differ visibly, mean difference) of two pages."""
    a, b = Image.open(actual).convert("L"), Image.open(expected).convert("L")
    assert a.size == b.size, (actual.name, a.size, b.size)
    histogram = ImageChops.difference(a, b).histogram()
    pixels = a.size[0] * a.size[1]
    visible = sum(histogram[64:]) / pixels
    mean = sum(i * n for i, n in enumerate(histogram)) / pixels
    return visible, mean


def visual_cases() -> list[tuple[str, bool]]:
    return [(name, False) for name in seed_names()] + [(name, True) for name in DRAFT_SEEDS]


@pytest.mark.parametrize("name, draft", visual_cases())
def test_it_matches_the_visual_references(rendered, drafts, tmp_path, name, draft):
    r = drafts[name] if draft else rendered[name]
    stem = f"{name}-draft" if draft else name
    manifest_path = REFERENCE / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8")) if manifest_path.exists() else {}
    images = page_images(r.pdf, tmp_path, stem)
    fonts = font_names(r.reader)
    if UPDATE_REFERENCE:
        REFERENCE.mkdir(exist_ok=True)
        for old in REFERENCE.glob(f"{stem}-*.png"):
            old.unlink()
        for image in images:
            image.replace(REFERENCE / image.name)
        manifest[stem] = {"pages": len(images), "fonts": fonts}
        manifest_path.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
        return
    expected = manifest[stem]
    if fonts != expected["fonts"]:
        pytest.skip(f"references were made with {expected['fonts']}; this machine prints with {fonts}")
    assert len(images) == expected["pages"]
    for image in images:
        visible, mean = difference(image, REFERENCE / image.name)
        assert visible <= 0.0005 and mean <= 0.25, (image.name, visible, mean)


def test_it_compresses_each_stream_once_and_writes_the_same_bytes(monkeypatch):
    import pydyf

    def build() -> pydyf.PDF:
        pdf = pydyf.PDF()
        for text in (b"BT /F1 12 Tf (page) Tj ET", bytes(range(256)) * 200):
            stream = pydyf.Stream([text], compress=True)
            pdf.add_object(stream)
        return pdf

    calls = []
    real = pydyf.zlib.compressobj
    monkeypatch.setattr(pydyf.zlib, "compressobj", lambda *a, **k: calls.append(1) or real(*a, **k))

    plain = io.BytesIO()
    build().write(plain, identifier=True, compress=True)
    twice = len(calls)
    calls.clear()
    pdf = build()
    report_pdf._compress_once(None, pdf)
    once = io.BytesIO()
    pdf.write(once, identifier=True, compress=True)

    assert once.getvalue() == plain.getvalue()
    # The identifier pass serializes every object again; kept streams are not compressed again.
    assert len(calls) == twice - 2
