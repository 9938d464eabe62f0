"""report_xlsx_import FILE.xlsx [--replace] [--published]

Exit 0 when imported, 2 when the workbook is refused (nothing is written).
"""

import sys

from django.core.management.base import BaseCommand

from disclosure.interchange import InvalidDocument
from disclosure.models import Report
from disclosure.office import read_report_xlsx
from disclosure.services import import_document


class Command(BaseCommand):
    help = "导入本系统导出的 Excel 工作簿或填好的模板，作为一份年度报告。"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="覆盖该机关该年度已有的报告")
        parser.add_argument("--published", action="store_true", help="作为已发布的报告导入")

    def handle(self, *args, **options):
        status = Report.Status.PUBLISHED if options["published"] else Report.Status.DRAFT
        try:
            doc = read_report_xlsx(options["file"])
            result = import_document(doc, replace=options["replace"], status=status)
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"未导入：{message}")
            sys.exit(2)
        report = result.report
        verb = "已导入" if result.created else "已替换"
        self.stdout.write(f"{verb}：{report.organization.code} {report.year}（{report.get_status_display()}）")
        for f in result.findings:
            self.stdout.write(f"{f.severity.upper()} {f.rule} {','.join(f.cells)} {f.message}")
