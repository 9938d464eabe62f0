"""report_xlsx ORG_CODE YEAR -o FILE.xlsx"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.office import export_report_xlsx
from disclosure.selectors import export_report, report_queryset


class Command(BaseCommand):
    help = "把一份年度报告的三张表格（按法定样式）及文字部分导出为 Excel 工作簿。"

    def add_arguments(self, parser):
        parser.add_argument("org_code")
        parser.add_argument("year", type=int)
        parser.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")

    def handle(self, *args, **options):
        report = report_queryset().filter(organization__code=options["org_code"], year=options["year"]).first()
        if report is None:
            raise CommandError(f"没有找到机关“{options['org_code']}”{options['year']}年度的报告。")
        Path(options["output"]).write_bytes(export_report_xlsx(export_report(report)))
        self.stdout.write(f"已导出：{options['output']}")
