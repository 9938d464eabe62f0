"""Office files: Excel workbooks and Word documents of reports, in the statutory layout."""

from .docx import export_report_docx
from .xlsx import JurisdictionRow, export_report_xlsx, jurisdiction_xlsx, read_report_xlsx, template_xlsx

__all__ = [
    "JurisdictionRow",
    "export_report_docx",
    "export_report_xlsx",
    "jurisdiction_xlsx",
    "read_report_xlsx",
    "template_xlsx",
]
