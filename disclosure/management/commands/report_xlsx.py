"""report_xlsx ORG_CODE YEAR -o FILE.xlsx"""

from disclosure.management.exporting import ExportCommand
from disclosure.office import export_report_xlsx


class Command(ExportCommand):
    help = "把一份年度报告的三张表格（按法定样式）及文字部分导出为 Excel 工作簿。"
    output_help = "输出的 .xlsx 文件"
    render = staticmethod(export_report_xlsx)
