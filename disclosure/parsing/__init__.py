"""Reading published annual reports (text, HTML, .docx, PDF, .xlsx) into interchange documents.

``parse_report(path_or_bytes, filename=…, year=…, org_name=…)`` returns a
``ParseResult``: the ``disclosure-report/1`` document (canonical form) and the
``problems`` — cells it could not place, numbers left over — instead of
guesses. Unreadable files raise ``InvalidDocument`` with a ``code``.
"""

from .files import load_source, max_upload_bytes
from .report import derive_org_code, org_kind, parse_lines, parse_report
from .result import ParseResult, Problem

__all__ = [
    "ParseResult",
    "Problem",
    "derive_org_code",
    "load_source",
    "max_upload_bytes",
    "org_kind",
    "parse_lines",
    "parse_report",
]
