"""report_docx ORG_CODE YEAR -o FILE.docx"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.office import export_report_docx
from disclosure.selectors import export_report, report_queryset


class Command(BaseCommand):
    help = "把一份年度报告按公文格式导出为 Word（.docx）文件。"

    def add_arguments(self, parser):
        parser.add_argument("org_code")
        parser.add_argument("year", type=int)
        parser.add_argument("-o", "--output", required=True, help="输出的 .docx 文件")

    def handle(self, *args, **options):
        report = report_queryset().filter(organization__code=options["org_code"], year=options["year"]).first()
        if report is None:
            raise CommandError(f"没有找到机关“{options['org_code']}”{options['year']}年度的报告。")
        Path(options["output"]).write_bytes(export_report_docx(export_report(report)))
        self.stdout.write(f"已导出：{options['output']}")
