"""report_docx ORG_CODE YEAR -o FILE.docx"""

from disclosure.management.exporting import ExportCommand
from disclosure.office import export_report_docx


class Command(ExportCommand):
    help = "把一份年度报告按公文格式导出为 Word（.docx）文件。"
    output_help = "输出的 .docx 文件"
    render = staticmethod(export_report_docx)
