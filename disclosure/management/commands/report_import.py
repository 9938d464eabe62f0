"""report_import FILE.json [--replace] [--published]"""

import sys

from django.core.management.base import BaseCommand

from disclosure.interchange import InvalidDocument, load_document
from disclosure.models import Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported


class Command(BaseCommand):
    help = "导入一份年度报告交换文件（disclosure-report/1）。"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="覆盖该机关该年度已有的报告")
        parser.add_argument("--published", action="store_true", help="作为已发布的报告导入（历年已公开的报告）")

    def handle(self, *args, **options):
        status = Report.Status.PUBLISHED if options["published"] else Report.Status.DRAFT
        try:
            result = import_document(load_document(options["file"]), replace=options["replace"], status=status)
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"未导入：{message}")
            sys.exit(2)
        report = result.report
        if options["published"]:
            publication = publish_imported(report)
            self.stdout.write(f"公开版本 r{publication.number}，PDF SHA-256 {publication.pdf_sha256}")
        verb = "已导入" if result.created else "已替换"
        self.stdout.write(f"{verb}：{report.organization.code} {report.year}（{report.get_status_display()}）")
        for f in result.findings:
            self.stdout.write(f"{f.severity.upper()} {f.rule} {','.join(f.cells)} {f.message}")
