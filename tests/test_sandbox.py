"""Untrusted files are read in a child process with hard limits (issue 11).

Every hostile file is generated here. Limits are lowered in the tests so that
a child that runs into one is stopped within a second or two.
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import subprocess
import sys
import time
import zipfile
import zlib
from concurrent.futures import ThreadPoolExecutor
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

from disclosure.interchange import InvalidDocument, canonicalize
from disclosure.office import export_report_docx, export_report_xlsx
from disclosure.parsing import parse_report
from disclosure.parsing.sandbox import MB, Limits, child_environment, parse_untrusted

from .factories import seed

FIXTURES = Path(__file__).resolve().parent / "parse_fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.iterdir()), ids=lambda p: p.name)
def test_it_reads_good_files_exactly_as_parse_report(path):
    data = path.read_bytes()
    direct = parse_report(data, filename=path.name)
    sandboxed = parse_untrusted(data, filename=path.name)
    assert sandboxed.document == direct.document
    assert sandboxed.problems == direct.problems
    assert sandboxed.kind == direct.kind


def office_and_pdf_files() -> list[tuple[str, bytes, int]]:
    weasyprint = pytest.importorskip("weasyprint")
    html = (FIXTURES / "002_lc-swj_2021.html").read_text(encoding="utf-8")
    return [
        ("report.docx", export_report_docx(canonicalize(seed("004"))), 2020),
        ("report.xlsx", export_report_xlsx(canonicalize(seed("002"))), 2021),
        ("report.pdf", weasyprint.HTML(string=html).write_pdf(), 2021),
    ]


def test_it_reads_word_excel_and_pdf_exactly_as_parse_report():
    for name, data, year in office_and_pdf_files():
        # The Office exports print the tables, not always the title: year and office given.
        direct = parse_report(data, filename=name, year=year, org_name="某某局")
        sandboxed = parse_untrusted(data, filename=name, year=year, org_name="某某局")
        assert (sandboxed.document, sandboxed.problems, sandboxed.kind) == (
            direct.document,
            direct.problems,
            direct.kind,
        ), name


def test_it_reads_again_with_the_fallback_name_when_the_file_names_no_office():
    data = "2020年政府信息公开工作年度报告\n一、总体情况\n本年度依法公开。\n".encode()
    with pytest.raises(InvalidDocument) as exc:
        parse_untrusted(data, filename="r.txt")
    assert exc.value.code == "no_organization" and exc.value.params == {"year": 2020}
    sandboxed = parse_untrusted(data, filename="r.txt", org_code="org-x", fallback_org_name="某某局")
    assert sandboxed.document == parse_report(data, filename="r.txt", org_code="org-x", org_name="某某局").document
    assert sandboxed.document["organization"]["name"] == "某某局"


@override_settings(REPORT_UPLOAD_MAX_UNPACKED_BYTES=10_000)
def test_it_reads_with_the_parents_settings():
    with pytest.raises(InvalidDocument) as error:
        parse_untrusted(export_report_docx(canonicalize(seed("004"))), filename="r.docx")
    assert error.value.code == "zip_bomb" and error.value.params["limit"] == 10_000


def test_it_gives_the_child_no_secrets(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s3cret")
    monkeypatch.setenv("DATABASE_URL", "postgres://u:pw@db/x")
    env = child_environment()
    assert "s3cret" not in str(env) and "pw@db" not in str(env) and "DJANGO_SETTINGS_MODULE" not in env


def test_it_passes_year_org_name_and_code_through():
    path = next(FIXTURES.glob("seed_004_*.txt"))
    kwargs = {"year": 2020, "org_name": "某某局", "org_code": "org-test"}
    direct = parse_report(path.read_bytes(), filename=path.name, **kwargs)
    sandboxed = parse_untrusted(path.read_bytes(), filename=path.name, **kwargs)
    assert sandboxed.document == direct.document
    assert sandboxed.document["organization"]["code"] == "org-test"


def test_it_returns_the_childs_invalid_document_with_code_and_params():
    with pytest.raises(InvalidDocument) as direct:
        parse_report(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="a.png")
    with pytest.raises(InvalidDocument) as sandboxed:
        parse_untrusted(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="a.png")
    assert (sandboxed.value.messages, sandboxed.value.code, sandboxed.value.params) == (
        direct.value.messages,
        direct.value.code,
        direct.value.params,
    )


# -- hostile files --------------------------------------------------------------------------------

# Low enough that a child that runs away is stopped within seconds, high enough for good files.
TIGHT = Limits(memory_bytes=768 * MB, cpu_seconds=8, wall_seconds=15, output_bytes=5 * MB)
CJK = re.compile(r"[\u4e00-\u9fff]")


def refused_untrusted(data: bytes, filename: str, limits: Limits = TIGHT) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as exc:
        parse_untrusted(data, filename=filename, limits=limits)
    error = exc.value
    assert error.code == "too_complex", (error.code, error.messages)
    assert error.messages[0].startswith("文件过于复杂或已损坏，无法读取（") and CJK.search(error.messages[0])
    return error


def stream(data: bytes, entries: str = "", *, compress: bool = False) -> bytes:
    if compress:
        data, entries = zlib.compress(data), entries + " /Filter /FlateDecode"
    return f"<< /Length {len(data)} {entries} >>\nstream\n".encode() + data + b"\nendstream"


def raw_pdf(*extra: bytes, page_resources: str, contents: bytes) -> bytes:
    """A one-page PDF written object by object: 1 catalog, 2 pages, 3 page, 4 font, 5 contents, 6… extra."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources {page_resources} /Contents 5 0 R >>".encode(),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        stream(contents),
        *extra,
    ]
    out = b"%PDF-1.7\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


def nested_forms_pdf(depth: int = 10, fan_out: int = 5, name: str = "X") -> bytes:
    """Each form draws the next ``fan_out`` times; the innermost draws text: fan_out ** depth text draws."""
    forms = []
    for level in range(depth):
        number = 6 + level
        if level == depth - 1:
            resources, content = "<< /Font << /F1 4 0 R >> >>", b"BT /F1 1 Tf 0 0 Td (x) Tj ET"
        else:
            resources, content = f"<< /XObject << /{name} {number + 1} 0 R >> >>", f"/{name} Do ".encode() * fan_out
        forms.append(stream(content, f"/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources {resources}"))
    return raw_pdf(*forms, page_resources="<< /XObject << /X 6 0 R >> >>", contents=b"/X Do")


def deflated_zeros(megabytes: int) -> bytes:
    compressor, zeros, parts = zlib.compressobj(9), bytes(MB), []
    for _ in range(megabytes):
        parts.append(compressor.compress(zeros))
    return b"".join(parts) + compressor.flush()


def hidden_stream_pdf(megabytes: int = 400) -> bytes:
    """A page drawing one Form XObject whose stream is ``megabytes`` of zeros, deflated."""
    data = deflated_zeros(megabytes)
    form = f"<< /Length {len(data)} /Filter /FlateDecode /Type /XObject /Subtype /Form /BBox [0 0 10 10] >>"
    return raw_pdf(
        form.encode() + b"\nstream\n" + data + b"\nendstream",
        page_resources="<< /XObject << /X 6 0 R >> >>",
        contents=b"/X Do",
    )


def many_chars_pdf(megabytes: float = 2) -> bytes:
    """A page of text draws within every static limit: pdfminer keeps an object per character."""
    line = b"BT /F1 1 Tf 10 10 Td (" + b"x" * 200 + b") Tj ET\n"
    content = line * int(megabytes * MB / len(line))
    return raw_pdf(page_resources="<< /Font << /F1 4 0 R >> >>", contents=content)


def test_it_refuses_forms_nested_ten_deep_before_rendering():
    data = nested_forms_pdf()
    assert len(data) < 3 * 1024  # 2.4 KB, 10⁷ text draws
    started = time.monotonic()
    error = refused_untrusted(data, "nested.pdf")
    assert error.params["limit"] == "depth" and "嵌套超过 8 层" in error.messages[0]
    assert time.monotonic() - started < 5


def test_it_follows_forms_that_borrow_their_callers_resources():
    """A form with no (or empty) resources draws with the page's: nesting by names the page defines."""
    names = [f"N{level}" for level in range(10)]
    page_xobjects = " ".join(f"/{name} {6 + level} 0 R" for level, name in enumerate(names))
    forms = [
        stream(
            f"/{names[level + 1]} Do ".encode() * 5 if level < 9 else b"BT /F1 1 Tf (x) Tj ET",
            "/Type /XObject /Subtype /Form /BBox [0 0 10 10]" + (" /Resources << >>" if level % 2 else ""),
        )
        for level in range(10)
    ]
    data = raw_pdf(
        *forms, page_resources=f"<< /Font << /F1 4 0 R >> /XObject << {page_xobjects} >> >>", contents=b"/N0 Do"
    )
    assert refused_untrusted(data, "borrowed.pdf").params["limit"] == "depth"


def test_it_matches_names_spelled_in_other_charsets():
    """pypdf reads the GBK name 标 as text, pdfminer as bytes: the draws are found either way."""
    assert refused_untrusted(nested_forms_pdf(name="#b1#ea"), "named.pdf").params["limit"] == "depth"


def test_it_refuses_a_wide_fan_out_of_forms_within_the_depth():
    error = refused_untrusted(nested_forms_pdf(depth=6, fan_out=10), "wide.pdf")
    assert error.params["limit"] == "draws" and "次数超过" in error.messages[0]


def test_it_refuses_a_form_that_draws_itself():
    """pdfminer skips the cycle, but no real report has one: refused rather than reasoned about."""
    form = stream(b"/X Do", "/Type /XObject /Subtype /Form /BBox [0 0 10 10] /Resources << /XObject << /X 6 0 R >> >>")
    data = raw_pdf(form, page_resources="<< /XObject << /X 6 0 R >> >>", contents=b"/X Do")
    assert refused_untrusted(data, "loop.pdf").params["limit"] == "depth"


def test_it_refuses_a_400_mb_form_hidden_in_a_small_pdf_four_at_a_time():
    data = hidden_stream_pdf(400)
    assert len(data) < 450 * 1024
    started = time.monotonic()
    with ThreadPoolExecutor(4) as pool:  # four uploads at once, as in the attack
        errors = list(pool.map(lambda i: refused_untrusted(data, f"hidden{i}.pdf"), range(4)))
    assert all(e.params["limit"] == "stream" and "解压后超过 50 MB" in e.messages[0] for e in errors)
    assert time.monotonic() - started < 10


def test_it_refuses_a_font_whose_to_unicode_map_inflates_past_the_cap():
    data = deflated_zeros(60)
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /ToUnicode 7 0 R >>"
    cmap = f"<< /Length {len(data)} /Filter /FlateDecode >>\nstream\n".encode() + data + b"\nendstream"
    pdf = raw_pdf(font, cmap, page_resources="<< /Font << /F1 6 0 R >> >>", contents=b"BT /F1 9 Tf (x) Tj ET")
    error = refused_untrusted(pdf, "font.pdf")
    assert error.params["limit"] == "stream" and "字体解压后超过 50 MB" in error.messages[0]


def bloated_xlsx() -> bytes:
    """8 MB: a seed workbook whose first sheet XML unpacks to 84 MB at ratio 10."""
    rng = random.Random(11)
    rows = "".join(
        f'<row r="{r}">'
        + "".join(f'<c r="{c}{r}"><v>{rng.randrange(100) if c == "A" else 0}</v></c>' for c in "ABCDEFGHIJ")
        + "</row>"
        for r in range(1, 5000)
    ).encode()
    source = zipfile.ZipFile(io.BytesIO(export_report_xlsx(canonicalize(seed("002")))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                target.writestr(info, source.read(info))
                continue
            with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
                sheet.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
                for _ in range(84 * MB // len(rows)):
                    sheet.write(rows)
                sheet.write(b"</sheetData></worksheet>")
    return out.getvalue()


def test_it_refuses_an_xlsx_whose_sheet_xml_unpacks_to_84_mb_at_ratio_10():
    data = bloated_xlsx()
    member = zipfile.ZipFile(io.BytesIO(data)).getinfo("xl/worksheets/sheet1.xml")
    # 8 MB, 84 MB of sheet XML at ratio 10: inside the upload, total and ratio limits.
    assert len(data) < 9 * MB and member.file_size > 80 * MB and 9 < member.file_size / member.compress_size < 100
    started = time.monotonic()
    error = refused_untrusted(data, "report.xlsx")
    assert error.params["limit"] == "part" and error.params["member"] == "xl/worksheets/sheet1.xml"
    assert "超过 20 MB" in error.messages[0]
    assert time.monotonic() - started < 5


FAR_CELL = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


def seed_xlsx_with_sheet(change) -> bytes:
    """The seed workbook with its first sheet's XML passed through ``change``."""
    source = zipfile.ZipFile(io.BytesIO(export_report_xlsx(canonicalize(seed("002")))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


@pytest.mark.parametrize(
    "change, what",
    [
        (lambda xml: re.sub(rb"(<mergeCells[^>]*>)", rb'\1<mergeCell ref="E1:XFD1048576"/>', xml), "合并单元格"),
        (lambda xml: xml.replace(b"</sheetData>", FAR_CELL + b"</sheetData>"), "单元格范围"),
    ],
    ids=["merged", "extent"],
)
def test_it_refuses_a_tiny_sheet_that_spans_billions_of_cells(change, what):
    data = seed_xlsx_with_sheet(change)
    assert len(data) < 20 * 1024
    error = refused_untrusted(data, "report.xlsx")
    assert error.params["limit"] == "cells" and f"{what}超过 1000000 格" in error.messages[0]


def test_it_refuses_an_html_table_whose_spans_expand_past_a_million_cells():
    data = b"<html><body><table><tr>" + b'<td rowspan="200" colspan="60">x</td>' * 1000 + b"</tr></table></body></html>"
    assert len(data) < 40 * 1024  # 12 million grid positions
    error = refused_untrusted(data, "report.html")
    assert error.params["limit"] == "cells"


def test_it_refuses_a_file_of_more_lines_than_a_report_has_quickly():
    data = b"<html><body><table>" + b"<tr><td>1</td></tr>" * 60_000 + b"</table></body></html>"
    started = time.monotonic()
    error = refused_untrusted(data, "long.html")
    assert error.params["limit"] == "lines" and "超过 50000 行" in error.messages[0]
    assert time.monotonic() - started < 6  # the grid's widths were quadratic in the rows


def test_it_reads_inline_elements_nested_deep_in_linear_time():
    inner = b"<b>x</b>" * 100_000 + b"<p>y</p>"
    data = b"<html><body>" + b"<span>" * 250 + inner + b"</span>" * 250 + b"</body></html>"
    with pytest.raises(InvalidDocument) as exc:  # was minutes: each level scanned everything below it
        parse_untrusted(data, filename="deep.html", limits=TIGHT)
    assert exc.value.code == "not_a_report"


def test_it_clamps_a_word_cells_grid_span():
    source = zipfile.ZipFile(io.BytesIO(export_report_docx(canonicalize(seed("004")))))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/document.xml":
                data = data.replace(b'<w:gridSpan w:val="4"/>', b'<w:gridSpan w:val="100000000"/>')
            target.writestr(info, data)
    result = parse_untrusted(out.getvalue(), filename="r.docx", year=2020, org_name="某某局", limits=TIGHT)
    assert result.kind == "docx"  # 800 MB a row before


# -- the sandbox as the last line -----------------------------------------------------------------


def rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def good_file() -> tuple[bytes, str]:
    path = next(FIXTURES.glob("seed_004_*.txt"))
    return path.read_bytes(), path.name


@pytest.mark.parametrize(
    "limits, limit, words",
    [
        (Limits(memory_bytes=400 * MB, cpu_seconds=30, wall_seconds=30), "memory", "内存超出 400 MB"),
        (Limits(cpu_seconds=1, wall_seconds=30), "cpu", "处理时间超过 1 秒"),
        (Limits(cpu_seconds=30, wall_seconds=2), "time", "处理时间超过 2 秒"),
    ],
    ids=["memory", "cpu", "time"],
)
def test_it_stops_a_child_that_passes_the_checks_and_the_parent_takes_the_next_file(limits, limit, words):
    data = many_chars_pdf(2)
    before = rss()
    started = time.monotonic()
    error = refused_untrusted(data, "chars.pdf", limits)
    if limit == "memory" and error.params["limit"] == "crashed":
        # Out of address space inside C code (pdfminer's, lxml's) the child may die of a
        # signal instead of raising MemoryError: refused all the same, named as a crash.
        assert "读取程序异常退出" in error.messages[0]
    else:
        assert error.params["limit"] == limit and words in error.messages[0]
    assert time.monotonic() - started < limits.wall_seconds + 3
    assert rss() - before < 20 * MB  # the child's gigabyte is not the parent's
    good, name = good_file()
    assert parse_untrusted(good, filename=name, limits=limits).document == parse_report(good, filename=name).document


def test_it_refuses_an_answer_larger_than_the_output_cap():
    good, name = good_file()
    error = refused_untrusted(good, name, Limits(output_bytes=2000))
    assert error.params["limit"] == "output"


def test_it_guards_the_command_too_unless_told_not_to(tmp_path):
    bad = tmp_path / "nested.pdf"
    bad.write_bytes(nested_forms_pdf())
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("parse_report", str(bad), stdout=StringIO(), stderr=err)
    assert exc.value.code == 2 and "文件过于复杂或已损坏" in err.getvalue()
    good = next(FIXTURES.glob("seed_004_*.txt"))
    outputs = []
    for flag in ("--sandbox", "--no-sandbox"):
        out = StringIO()
        call_command("parse_report", str(good), flag, stdout=out, stderr=StringIO())
        outputs.append(out.getvalue())
    assert outputs[0] == outputs[1] and json.loads(outputs[0])["year"] == 2020


def test_it_ends_the_child_when_the_parent_is_killed(tmp_path):
    """A worker killed by its own time limit leaves no reader behind: the wall clock was its to keep."""
    (tmp_path / "chars.pdf").write_bytes(many_chars_pdf(2))
    parent = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from django.conf import settings; settings.configure();"
            "from disclosure.parsing.sandbox import Limits, parse_untrusted;"
            "parse_untrusted(open(sys.argv[1], 'rb').read(), filename='c.pdf', limits=Limits(wall_seconds=60))",
            str(tmp_path / "chars.pdf"),
        ],
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
    )
    try:
        child = None
        for _ in range(100):
            child = next((pid for pid in _pids() if _stat(pid)[1] == parent.pid), None)
            if child:
                break
            time.sleep(0.05)
        assert child, "no child started"
        time.sleep(0.5)  # well into reading
    finally:
        parent.kill()
        parent.wait()
    for _ in range(60):
        if _stat(child)[0] in ("", "Z"):
            break
        time.sleep(0.05)
    assert _stat(child)[0] in ("", "Z"), "the child outlived its parent"


def _pids() -> list[int]:
    return [int(name) for name in os.listdir("/proc") if name.isdigit()]


def _stat(pid: int) -> tuple[str, int]:
    """State and parent of a process; ("", 0) when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return "", 0
    return fields[0], int(fields[1])
