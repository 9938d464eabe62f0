"""Reading an uploaded file safely: size, type, encryption, corruption, zip bombs.

Every refusal is an ``InvalidDocument`` with a ``code`` and a Chinese message
that says what is wrong and what to do. Checks run on the bytes before any
parser (python-docx, openpyxl, pdfplumber) sees them, so nothing is half-read
and nothing is written.

Settings (read with defaults, so settings.py needs no change):
- ``REPORT_UPLOAD_MAX_BYTES`` (20 MB): the largest file accepted.
- ``REPORT_UPLOAD_MAX_UNPACKED_BYTES`` (200 MB): the most a .docx/.xlsx may unpack to.
- ``REPORT_UPLOAD_MAX_ZIP_RATIO`` (100): the highest compression ratio of a large zip member.
- ``REPORT_UPLOAD_MAX_XML_PART_BYTES`` (20 MB): the most one XML part (a sheet, the document body)
  may unpack to. The parsers hold a whole part as objects, at tens of times its size; a report's
  parts are well under 1 MB.
- ``REPORT_XLSX_MAX_CELLS`` (1 000 000): the most cells a worksheet may merge, and span (rows ×
  columns: what iterating its rows creates). openpyxl makes an object for every cell of a merged range and
  of the rectangle it iterates: a 1 KB sheet merging A1:XFD1048576 asks for 17 billion.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..interchange import InvalidDocument

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 20 * MB
DEFAULT_MAX_UNPACKED_BYTES = 200 * MB
DEFAULT_MAX_ZIP_RATIO = 100
DEFAULT_MAX_XML_PART_BYTES = 20 * MB
DEFAULT_MAX_SHEET_CELLS = 1_000_000
# Ratios of small members say nothing (an empty XML part compresses 50×).
RATIO_MIN_MEMBER = 1 * MB
MAX_ZIP_MEMBERS = 5000

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
PDF_MAGIC = b"%PDF-"

# Kinds a report can be read from, and what each extension promises.
EXTENSIONS = {
    ".txt": "text",
    ".md": "text",
    ".text": "text",
    ".html": "html",
    ".htm": "html",
    ".xhtml": "html",
    ".docx": "docx",
    ".pdf": "pdf",
    ".xlsx": "xlsx",
}
KIND_NAMES = {
    "text": "纯文本",
    "html": "网页（HTML）",
    "docx": "Word（.docx）",
    "pdf": "PDF",
    "xlsx": "Excel（.xlsx）",
}
SUPPORTED = "Word（.docx）、PDF、网页（.html）、纯文本（.txt）或 Excel（.xlsx）"


def _setting(name: str, default: int) -> int:
    from django.conf import settings

    return int(getattr(settings, name, default))


def max_upload_bytes() -> int:
    return _setting("REPORT_UPLOAD_MAX_BYTES", DEFAULT_MAX_BYTES)


def _mb(size: int) -> str:
    return f"{size / MB:.1f}".rstrip("0").rstrip(".") + " MB"


@dataclass(frozen=True)
class Source:
    data: bytes
    kind: str  # text, html, docx, pdf, xlsx
    filename: str
    encoding: str = ""  # text and html: how the bytes were decoded (decode_bytes)


def read_bytes(source: str | Path | bytes, filename: str | None = None) -> tuple[bytes, str]:
    """The file's bytes (size-checked before reading) and its name."""
    limit = max_upload_bytes()
    if isinstance(source, bytes | bytearray | memoryview):
        data = bytes(source)
        name = filename or "上传的文件"
    else:
        path = Path(source)
        name = filename or path.name
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise InvalidDocument(f"找不到文件：{path}", code="not_found") from None
        except OSError as exc:
            raise InvalidDocument(f"无法读取文件 {path}：{exc.strerror}", code="unreadable") from None
        if path.is_dir():
            raise InvalidDocument(f"{path} 是一个文件夹，不是文件。", code="unreadable")
        _check_size(size, limit, name)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise InvalidDocument(f"无法读取文件 {path}：{exc.strerror}", code="unreadable") from None
    _check_size(len(data), limit, name)
    if not data.strip():
        raise InvalidDocument(f"文件“{name}”是空的。", code="empty")
    return data, name


def _check_size(size: int, limit: int, name: str) -> None:
    if size > limit:
        raise InvalidDocument(
            f"文件“{name}”大小为 {_mb(size)}，超过了允许的上限 {_mb(limit)}。请压缩图片或删去附件后再试。",
            code="too_large",
            params={"size": size, "limit": limit},
        )


def _ole_streams(data: bytes) -> set[str]:
    """Names of the streams an OLE compound file mentions (UTF-16 directory entries)."""
    found = set()
    for name in ("EncryptedPackage", "EncryptionInfo", "WordDocument", "Workbook", "Book", "PowerPoint Document"):
        if name.encode("utf-16-le") in data:
            found.add(name)
    return found


def _refuse_ole(data: bytes, name: str) -> None:
    streams = _ole_streams(data)
    if {"EncryptedPackage", "EncryptionInfo"} & streams:
        raise InvalidDocument(
            f"文件“{name}”设置了打开密码，系统无法读取。请在 Word/WPS/Excel 中取消密码后另存，再重新上传。",
            code="encrypted",
        )
    if "WordDocument" in streams:
        what = "旧版 Word（.doc）或 WPS 文字文件"
        fix = "请用 Word 或 WPS 另存为 .docx 后再上传"
    elif {"Workbook", "Book"} & streams:
        what = "旧版 Excel（.xls）文件"
        fix = "请用 Excel 或 WPS 另存为 .xlsx 后再上传"
    else:
        what = "旧版 Office/WPS 格式的文件"
        fix = f"请另存为 {SUPPORTED} 后再上传"
    raise InvalidDocument(f"文件“{name}”是{what}，系统无法直接读取。{fix}。", code="legacy_format")


def check_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """Open a .docx/.xlsx container after checking what it would unpack to."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as exc:
        raise InvalidDocument(
            f"文件“{name}”已损坏或不完整，无法打开。请重新保存或重新下载后再上传。",
            code="corrupted",
            params={"detail": str(exc)[:200]},
        ) from None
    max_unpacked = _setting("REPORT_UPLOAD_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES)
    max_ratio = _setting("REPORT_UPLOAD_MAX_ZIP_RATIO", DEFAULT_MAX_ZIP_RATIO)
    bomb = f"文件“{name}”解压后异常庞大，可能是恶意构造的压缩炸弹，已拒绝读取。"
    if len(members) > MAX_ZIP_MEMBERS:
        raise InvalidDocument(
            f"{bomb}（内含 {len(members)} 个部件）", code="zip_bomb", params={"members": len(members)}
        )
    max_part = _setting("REPORT_UPLOAD_MAX_XML_PART_BYTES", DEFAULT_MAX_XML_PART_BYTES)
    total = 0
    for info in members:
        total += info.file_size
        # zipfile stops at the declared size (and then fails its CRC), so the declaration is a bound.
        if info.filename.lower().endswith((".xml", ".rels")) and info.file_size > max_part:
            raise InvalidDocument(
                f"文件过于复杂或已损坏，无法读取（部件 {info.filename} 解压后为 {_mb(info.file_size)}，"
                f"超过 {_mb(max_part)}）。",
                code="too_complex",
                params={"limit": "part", "member": info.filename, "size": info.file_size, "max_bytes": max_part},
            )
        if info.file_size >= RATIO_MIN_MEMBER and info.file_size > max_ratio * max(info.compress_size, 1):
            raise InvalidDocument(
                f"{bomb}（部件 {info.filename} 压缩比超过 {max_ratio} 倍）",
                code="zip_bomb",
                params={"member": info.filename, "size": info.file_size, "compressed": info.compress_size},
            )
    if total > max_unpacked:
        raise InvalidDocument(
            f"{bomb}（解压后共 {_mb(total)}，上限 {_mb(max_unpacked)}）",
            code="zip_bomb",
            params={"size": total, "limit": max_unpacked},
        )
    return archive


def _zip_kind(data: bytes, name: str) -> str:
    archive = check_zip(data, name)
    names = set(archive.namelist())
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    if any(n.startswith("ppt/") for n in names):
        what = "PowerPoint 演示文稿"
    elif "mimetype" in names or "content.xml" in names:
        what = "OpenDocument（WPS/LibreOffice 的 .odt/.ods）文件"
    elif "[Content_Types].xml" in names:
        what = "无法识别的 Office 文件"
    else:
        what = "普通压缩包（.zip）"
    raise InvalidDocument(f"文件“{name}”是{what}，不是年度报告文件。请上传 {SUPPORTED}。", code="wrong_type")


def _looks_like_html(head: str) -> bool:
    lowered = head.lstrip().lower()
    return lowered.startswith(("<!doctype html", "<html", "<?xml")) or any(
        tag in lowered for tag in ("<body", "<table", "<html", "<p>", "<div")
    )


# Byte-order marks, longest first (UTF-32 LE starts with UTF-16 LE's mark).
_BOMS = (
    (b"\xef\xbb\xbf", "utf-8-sig", "utf-8"),
    (b"\x84\x31\x95\x33", "gb18030", "gb18030"),
    (b"\xff\xfe", "utf-16", "utf-16"),
    (b"\xfe\xff", "utf-16", "utf-16"),
)
_DECLARED = (
    re.compile(rb"<meta[^>]*?\bcharset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I),
    re.compile(rb"<\?xml[^>]*?\bencoding\s*=\s*[\"']([A-Za-z0-9_.:-]+)", re.I),
)
# GB2312 and GBK are subsets of GB18030: pages declaring them often use GBK-only
# characters (and offices' names use rare ones), so the superset decodes them.
_GB_FAMILY = {"gb2312", "gbk", "gb18030", "gb_2312-80", "x-gbk", "cp936", "euc-cn", "hz-gb-2312"}


def declared_charset(data: bytes) -> str | None:
    """The charset a page declares (``<meta charset>``, http-equiv, or an XML declaration)."""
    head = data[:4096]
    for pattern in _DECLARED:
        match = pattern.search(head)
        if match:
            return match.group(1).decode("ascii").lower()
    return None


def decode_bytes(data: bytes, name: str, *, html: bool = False) -> tuple[str, str]:
    """(text, how it was decoded): a BOM, the declared charset (pages), strict UTF-8, then GB18030.

    The second item names the encoding used, and where it came from when that was
    not the bytes themselves: ``utf-8 (BOM)``, ``gb18030 (declared gbk)``.
    """
    for mark, codec, label in _BOMS:
        if data.startswith(mark):
            try:
                return data.decode(codec), f"{label} (BOM)"
            except UnicodeDecodeError:
                break
    declared = declared_charset(data) if html else None
    if declared:
        codec = "gb18030" if declared in _GB_FAMILY else declared
        try:
            return data.decode(codec), codec if codec == declared else f"{codec} (declared {declared})"
        except (LookupError, UnicodeDecodeError):
            pass  # an unknown name or a false declaration: the bytes decide
    for codec in ("utf-8", "gb18030"):
        try:
            return data.decode(codec), codec
        except UnicodeDecodeError:
            continue
    raise InvalidDocument(
        f"文件“{name}”的文字编码无法识别。请另存为 UTF-8 编码的文本或 Word 文件后再上传。", code="encoding"
    )


def decode_text(data: bytes, name: str) -> str:
    """Text in UTF-8 (with or without BOM), UTF-16 with BOM, or GB18030."""
    return decode_bytes(data, name)[0]


def _binary_kind(data: bytes) -> str | None:
    signatures = {
        b"\x89PNG": "PNG 图片",
        b"\xff\xd8\xff": "JPEG 图片",
        b"GIF8": "GIF 图片",
        b"BM": "BMP 图片",
        b"II*\x00": "TIFF 图片",
        b"MM\x00*": "TIFF 图片",
        b"Rar!": "RAR 压缩包",
        b"7z\xbc\xaf": "7z 压缩包",
        b"\x1f\x8b": "gzip 压缩包",
        b"MZ": "可执行程序",
        b"\x7fELF": "可执行程序",
        b"{\\rtf": "RTF 文档",
    }
    for magic, what in signatures.items():
        if data.startswith(magic):
            return what
    return None


def sniff(data: bytes, name: str) -> str:
    """The kind of the file from its content; the extension only breaks ties."""
    suffix = Path(name).suffix.lower()
    expected = EXTENSIONS.get(suffix)
    if data.startswith(OLE_MAGIC):
        _refuse_ole(data, name)
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return _zip_kind(data, name)
    if data.startswith(PDF_MAGIC) or (expected == "pdf" and PDF_MAGIC in data[:1024]):
        return "pdf"
    if expected in {"docx", "xlsx", "pdf"}:
        # The extension promises a binary container the bytes are not.
        raise InvalidDocument(
            f"文件“{name}”已损坏，或者并不是{KIND_NAMES[expected]}文件（内容与扩展名不符），无法打开。",
            code="corrupted",
        )
    what = _binary_kind(data)
    if what:
        raise InvalidDocument(f"文件“{name}”是{what}，不是年度报告。请上传 {SUPPORTED}。", code="wrong_type")
    if b"\x00" in data[:4096] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InvalidDocument(f"文件“{name}”是无法识别的二进制文件。请上传 {SUPPORTED}。", code="wrong_type")
    text = decode_bytes(data, name, html=True)[0]
    if expected == "html" or _looks_like_html(text[:2048]):
        return "html"
    return "text"


def load_source(source: str | Path | bytes, filename: str | None = None) -> Source:
    data, name = read_bytes(source, filename)
    kind = sniff(data, name)
    encoding = decode_bytes(data, name, html=kind == "html")[1] if kind in ("text", "html") else ""
    return Source(data=data, kind=kind, filename=name, encoding=encoding)


_REF = rb"\$?([A-Za-z]{1,3})\$?(\d{1,7})"
_MERGE = re.compile(rb"<(?:\w+:)?mergeCell\b[^>]*?\bref=[\"']" + _REF + b":" + _REF)


def _column(letters: bytes) -> int:
    number = 0
    for letter in letters.upper():
        number = number * 26 + letter - 64
    return number


def _too_many_cells(part: str, what: str, count: int, most: int) -> InvalidDocument:
    return InvalidDocument(
        f"文件过于复杂或已损坏，无法读取（工作表 {part} 的{what}超过 {most} 格）。",
        code="too_complex",
        params={"limit": "cells", "member": part, "cells": count, "max_cells": most},
    )


def check_merged_cells(archive: zipfile.ZipFile) -> None:
    """Refuse merged ranges openpyxl would fill with an object per cell while loading."""
    most = _setting("REPORT_XLSX_MAX_CELLS", DEFAULT_MAX_SHEET_CELLS)
    for info in archive.infolist():
        # Every XML part, not only xl/worksheets/: the workbook's relationships may put a sheet anywhere.
        if not info.filename.lower().endswith(".xml"):
            continue
        xml = archive.read(info)  # at most REPORT_UPLOAD_MAX_XML_PART_BYTES (check_zip)
        merged = 0
        for c1, r1, c2, r2 in _MERGE.findall(xml):
            merged += (abs(_column(c2) - _column(c1)) + 1) * (abs(int(r2) - int(r1)) + 1)
            if merged > most:
                raise _too_many_cells(info.filename, "合并单元格", merged, most)


def check_sheet_extent(workbook: Any) -> None:
    """Refuse a sheet whose cells span a rectangle iterating would fill (A1 and XFD1048576: 17 billion)."""
    most = _setting("REPORT_XLSX_MAX_CELLS", DEFAULT_MAX_SHEET_CELLS)
    for sheet in workbook.worksheets:
        extent = sheet.max_row * sheet.max_column
        if extent > most:
            raise _too_many_cells(sheet.title, "单元格范围", extent, most)


def open_workbook(data: bytes, name: str, *, data_only: bool = True) -> Any:
    """An openpyxl workbook, after the zip checks; InvalidDocument when it cannot be opened."""
    import openpyxl

    if sniff(data, name) != "xlsx":  # sniff refuses what is no file of ours at all, and says why
        raise InvalidDocument(f"文件“{name}”不是 Excel（.xlsx）工作簿。", code="wrong_type")
    check_merged_cells(check_zip(data, name))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), data_only=data_only)
    except Exception as exc:  # openpyxl raises KeyError, ValueError, XML errors … on damage
        raise InvalidDocument(
            f"Excel 文件“{name}”已损坏，无法打开。请在 Excel/WPS 中打开后重新保存再上传。",
            code="corrupted",
            params={"detail": type(exc).__name__},
        ) from None
    check_sheet_extent(workbook)
    return workbook
