"""report_export ORG_CODE YEAR [-o FILE]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.interchange import dumps
from disclosure.selectors import export_report, report_queryset


class Command(BaseCommand):
    help = "导出一份年度报告为交换文件（disclosure-report/1）。"

    def add_arguments(self, parser):
        parser.add_argument("org_code")
        parser.add_argument("year", type=int)
        parser.add_argument("-o", "--output", help="输出文件；省略时写到标准输出")

    def handle(self, *args, **options):
        report = report_queryset().filter(organization__code=options["org_code"], year=options["year"]).first()
        if report is None:
            raise CommandError(f"没有找到机关“{options['org_code']}”{options['year']}年度的报告。")
        text = dumps(export_report(report))
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
