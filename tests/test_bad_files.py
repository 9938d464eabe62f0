"""Bad files: a clear Chinese message and a code for each, nothing half-read or half-imported.

Every bad file is generated here: wrong types, password-protected Office and
PDF files, corrupted containers, oversized files, zip bombs.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from django.test import override_settings

from disclosure.interchange import InvalidDocument, canonicalize
from disclosure.models import Organization, Report
from disclosure.office import export_report_docx, export_report_xlsx, read_report_xlsx, template_xlsx
from disclosure.office.xlsx import META_PREFIX, REF_PREFIX
from disclosure.parsing import max_upload_bytes, parse_report

from .factories import seed

CJK = re.compile(r"[\u4e00-\u9fff]")


def refused(source, filename: str | None = None, *, reader=parse_report) -> InvalidDocument:
    with pytest.raises(InvalidDocument) as exc:
        reader(source, filename=filename) if reader is parse_report else reader(source, filename)
    error = exc.value
    assert error.messages and all(CJK.search(m) for m in error.messages), error.messages
    return error


def ole_file(*streams: str) -> bytes:
    """A minimal compound file (CFB v3) with empty streams of these names, as Office writes
    encrypted .docx/.xlsx (EncryptionInfo, EncryptedPackage) and legacy .doc/.xls files."""
    end, free, fat_sector = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<I", 0) + struct.pack("<I", free) * 108
    fat = struct.pack("<II", fat_sector, end) + struct.pack("<I", free) * 126

    def entry(name: str, kind: int, child: int, right: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", free, right, child)
            + b"\x00" * 16
            + b"\x00" * 4
            + b"\x00" * 16
            + struct.pack("<IQ", end, 0)
        )

    names = list(streams)
    directory = entry("Root Entry", 5, 1 if names else free, free)
    for i, name in enumerate(names, 1):
        directory += entry(name, 2, free, i + 1 if i < len(names) else free)
    directory = directory.ljust(512, b"\x00")
    return header + fat + directory


def docx_bytes() -> bytes:
    return export_report_docx(canonicalize(seed("004")))


def xlsx_bytes() -> bytes:
    return export_report_xlsx(canonicalize(seed("002")))


def rezip(data: bytes, replace: dict[str, bytes] | None = None, add: dict[str, bytes] | None = None) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, (replace or {}).get(info.filename, source.read(info.filename)))
        for name, content in (add or {}).items():
            target.writestr(name, content)
    return out.getvalue()


# -- wrong type --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, filename, code, words",
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "scan.png", "wrong_type", "图片"),
        (b"\xff\xd8\xff\xe0" + b"\x00" * 64, "report.pdf", "corrupted", "PDF"),
        (b"{\\rtf1\\ansi report}", "report.rtf", "wrong_type", "RTF"),
        (b"MZ\x90\x00" + b"\x00" * 64, "report.exe", "wrong_type", "程序"),
        (b"\x00\x01\x02garbage\x00" * 20, "report.bin", "wrong_type", "二进制"),
    ],
)
def test_files_of_the_wrong_type_are_refused(data, filename, code, words):
    error = refused(data, filename)
    assert error.code == code and words in error.messages[0]


def test_a_plain_zip_and_an_opendocument_file_are_not_reports():
    plain = io.BytesIO()
    with zipfile.ZipFile(plain, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refused(plain.getvalue(), "report.zip").code == "wrong_type"
    odt = io.BytesIO()
    with zipfile.ZipFile(odt, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.text")
        archive.writestr("content.xml", "<office:document-content/>")
    error = refused(odt.getvalue(), "report.odt")
    assert error.code == "wrong_type" and "OpenDocument" in error.messages[0]


@pytest.mark.parametrize(
    "stream, filename, words", [("WordDocument", "report.doc", ".docx"), ("Workbook", "t.xls", ".xlsx")]
)
def test_legacy_office_files_are_refused_with_how_to_convert(stream, filename, words):
    error = refused(ole_file(stream, "\x05SummaryInformation"), filename)
    assert error.code == "legacy_format" and words in error.messages[0]


def test_a_word_file_is_not_an_excel_workbook():
    error = refused(docx_bytes(), "report.xlsx", reader=read_report_xlsx)
    assert error.code == "wrong_type"


def test_an_empty_file_is_refused(tmp_path):
    path = tmp_path / "empty.docx"
    path.write_bytes(b"")
    assert refused(path).code == "empty"


def test_a_missing_file_is_refused(tmp_path):
    assert refused(tmp_path / "nowhere.txt").code == "not_found"


# -- password-protected ----------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["report.docx", "report.xlsx"])
def test_password_protected_office_files_are_refused(filename):
    encrypted = ole_file("EncryptionInfo", "EncryptedPackage", "\x06DataSpaces")
    error = refused(encrypted, filename)
    assert error.code == "encrypted" and "密码" in error.messages[0]
    assert refused(encrypted, filename, reader=read_report_xlsx).code == "encrypted"


def test_a_password_protected_pdf_is_refused():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.encrypt(user_password="secret", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    error = refused(out.getvalue(), "report.pdf")
    assert error.code == "encrypted" and "密码" in error.messages[0]


# -- corrupted -------------------------------------------------------------------------------


def test_a_truncated_docx_is_corrupted():
    data = docx_bytes()
    error = refused(data[: len(data) // 2], "report.docx")
    assert error.code == "corrupted" and "损坏" in error.messages[0]


def test_a_docx_with_broken_xml_is_corrupted():
    data = rezip(docx_bytes(), replace={"word/document.xml": b"<w:document><w:body><w:p>"})
    assert refused(data, "report.docx").code == "corrupted"


def test_a_truncated_or_garbled_pdf_is_corrupted():
    assert refused(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\n" + b"\x00garbage" * 50, "report.pdf").code == "corrupted"


def test_a_file_whose_content_does_not_match_its_extension_is_corrupted():
    assert refused("一、总体情况\n".encode(), "report.docx").code == "corrupted"


def test_a_truncated_workbook_is_corrupted():
    data = xlsx_bytes()
    assert refused(data[:3000], "r.xlsx", reader=read_report_xlsx).code == "corrupted"
    broken = rezip(data, replace={"xl/workbook.xml": b"<workbook>"})
    assert refused(broken, "r.xlsx", reader=read_report_xlsx).code == "corrupted"


def test_a_scanned_pdf_without_text_is_refused():
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    error = refused(out.getvalue(), "scan.pdf")
    assert error.code == "no_text" and "扫描件" in error.messages[0]


# -- oversized --------------------------------------------------------------------------------


def test_the_default_limit_is_20_mb():
    assert max_upload_bytes() == 20 * 1024 * 1024


@override_settings(REPORT_UPLOAD_MAX_BYTES=2048)
def test_an_oversized_file_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "big.txt"
    path.write_bytes(b"x" * 4096)
    error = refused(path)
    assert error.code == "too_large" and error.params == {"size": 4096, "limit": 2048}
    assert "超过" in error.messages[0]
    assert refused(b"y" * 3000, "big.txt").code == "too_large"
    assert refused(xlsx_bytes(), "r.xlsx", reader=read_report_xlsx).code == "too_large"


# -- zip bombs ----------------------------------------------------------------------------------


def test_a_docx_with_a_zip_bomb_is_refused():
    bomb = rezip(docx_bytes(), add={"word/media/image1.bin": b"\x00" * (8 * 1024 * 1024)})
    assert len(bomb) < 200 * 1024  # small on disk …
    error = refused(bomb, "report.docx")
    assert error.code == "zip_bomb" and "压缩" in error.messages[0]  # … huge unpacked
    assert error.params["member"] == "word/media/image1.bin"


def test_an_xlsx_with_a_zip_bomb_is_refused():
    bomb = rezip(xlsx_bytes(), add={"xl/media/image1.bin": b"\x00" * (8 * 1024 * 1024)})
    assert refused(bomb, "r.xlsx", reader=read_report_xlsx).code == "zip_bomb"


@override_settings(REPORT_UPLOAD_MAX_UNPACKED_BYTES=10_000)
def test_a_container_unpacking_beyond_the_limit_is_refused():
    error = refused(docx_bytes(), "report.docx")
    assert error.code == "zip_bomb" and error.params["limit"] == 10_000


def test_a_zip_with_thousands_of_members_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        for i in range(5001):
            archive.writestr(f"word/x{i}.xml", "")
    assert refused(out.getvalue(), "report.docx").code == "zip_bomb"


# -- nothing half-imported ------------------------------------------------------------------------


def run_import(path) -> tuple[int, str]:
    err = StringIO()
    try:
        call_command("report_xlsx_import", str(path), stdout=StringIO(), stderr=err)
        return 0, err.getvalue()
    except SystemExit as exc:
        return exc.code, err.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "make, code",
    [
        (lambda: ole_file("EncryptionInfo", "EncryptedPackage"), "密码"),
        (lambda: xlsx_bytes()[:5000], "损坏"),
        (lambda: rezip(xlsx_bytes(), add={"xl/media/x.bin": b"\x00" * (8 * 1024 * 1024)}), "压缩炸弹"),
        (lambda: docx_bytes(), "不是 Excel"),
        (lambda: b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, "并不是Excel（.xlsx）文件（内容与扩展名不符）"),
    ],
)
def test_a_refused_workbook_imports_nothing(tmp_path, make, code):
    path = tmp_path / "r.xlsx"
    path.write_bytes(make())
    exit_code, err = run_import(path)
    assert exit_code == 2 and "未导入" in err and code in err
    assert Report.objects.count() == 0 and Organization.objects.count() == 0


@pytest.mark.django_db
def test_a_workbook_with_bad_cells_lists_them_all_and_imports_nothing(tmp_path):
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx("2021")))

    def put(name: str, value) -> None:
        title, coord = next(iter(workbook.defined_names[name].destinations))
        workbook[title][coord.replace("$", "")] = value

    put(META_PREFIX + "year", "2021")
    put(META_PREFIX + "organization.name", "测试局")
    put(REF_PREFIX + "applications.new_received.natural_person", "五")
    put(REF_PREFIX + "applications.granted.research", -2)
    put(REF_PREFIX + "active_disclosure.art20_8.fees.amount", "1.5元整")
    path = tmp_path / "bad.xlsx"
    workbook.save(path)
    error = refused(path, None, reader=read_report_xlsx)
    assert error.code == "cells" and len(error.messages) == 3
    assert any("不是数字" in m for m in error.messages) and any("负数" in m for m in error.messages)
    exit_code, err = run_import(path)
    assert exit_code == 2 and err.count("未导入") == 3
    assert Report.objects.count() == 0 and Organization.objects.count() == 0


@pytest.mark.django_db
def test_a_workbook_without_year_or_office_is_refused(tmp_path):
    path = tmp_path / "blank.xlsx"
    path.write_bytes(template_xlsx("2019"))
    exit_code, err = run_import(path)
    assert exit_code == 2 and "报告年度" in err and "机关名称" in err
    assert Report.objects.count() == 0


def test_parse_report_exits_2_on_bad_files(tmp_path):
    path = tmp_path / "report.docx"
    path.write_bytes(ole_file("EncryptionInfo", "EncryptedPackage"))
    err = StringIO()
    with pytest.raises(SystemExit) as exc:
        call_command("parse_report", str(path), stdout=StringIO(), stderr=err)
    assert exc.value.code == 2 and "密码" in err.getvalue()


def test_an_owner_password_only_pdf_is_still_read():
    """Restrictions without an opening password do not stop reading."""
    weasyprint = pytest.importorskip("weasyprint")
    from pypdf import PdfReader, PdfWriter

    html = "<p>某某局2021年政府信息公开工作年度报告</p><p>一、总体情况</p><p>本年度依法公开。</p>"
    reader = PdfReader(io.BytesIO(weasyprint.HTML(string=html).write_pdf()))
    writer = PdfWriter(clone_from=reader)
    writer.encrypt(user_password="", owner_password="owner")
    out = io.BytesIO()
    writer.write(out)
    result = parse_report(out.getvalue(), filename="r.pdf")
    assert result.document["organization"]["name"] == "某某局"
    assert result.document["narrative"]["overview"]["summary"] == "本年度依法公开。"


@override_settings(REPORT_UPLOAD_MAX_UNPACKED_BYTES=1024 * 1024)
def test_a_pdf_whose_content_unpacks_beyond_the_limit_is_refused():
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=595, height=842)
    stream = DecodedStreamObject()
    stream.set_data(b"% padding\n" * (300 * 1024))  # 3 MB of content, a few KB compressed
    page[NameObject("/Contents")] = writer._add_object(stream.flate_encode())
    out = io.BytesIO()
    writer.write(out)
    assert len(out.getvalue()) < 100 * 1024
    error = refused(out.getvalue(), "report.pdf")
    assert error.code == "zip_bomb" and "异常庞大" in error.messages[0]
