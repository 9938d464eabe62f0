"""report_export ORG_CODE YEAR [-o FILE]"""

from disclosure.interchange import dumps
from disclosure.management.exporting import ExportCommand


class Command(ExportCommand):
    help = "导出一份年度报告为交换文件（disclosure-report/1）。"
    output_help = "输出文件；省略时写到标准输出"
    output_required = False
    render = staticmethod(dumps)
