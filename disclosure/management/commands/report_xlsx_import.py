"""report_xlsx_import FILE.xlsx [--replace] [--published]

Exit 0 when imported, 2 when the workbook is refused (nothing is written).
"""

from disclosure.management.importing import ImportCommand
from disclosure.office import read_report_xlsx


class Command(ImportCommand):
    help = "导入本系统导出的 Excel 工作簿或填好的模板，作为一份年度报告。"
    reader = staticmethod(read_report_xlsx)
