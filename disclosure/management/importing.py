"""What the import commands share: store a document, publish it if asked, report findings."""

import sys
from collections.abc import Callable

from django.core.management.base import BaseCommand
from django.db import transaction

from disclosure.interchange import InvalidDocument
from disclosure.models import Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported


class ImportCommand(BaseCommand):
    """Subclasses set ``reader``: the file's path → an interchange document."""

    reader: Callable[[str], dict]

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--replace", action="store_true", help="覆盖该机关该年度已有的报告")
        parser.add_argument(
            "--published", action="store_true", help="作为已发布的报告导入（历年已公开的报告），同时生成公开版本"
        )

    def handle(self, *args, **options):
        status = Report.Status.PUBLISHED if options["published"] else Report.Status.DRAFT
        try:
            # One transaction: a report is never "published" without its stored publication.
            with transaction.atomic():
                result = import_document(type(self).reader(options["file"]), replace=options["replace"], status=status)
                publication = publish_imported(result.report) if options["published"] else None
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"未导入：{message}")
            sys.exit(2)
        report = result.report
        verb = "已导入" if result.created else "已替换"
        self.stdout.write(f"{verb}：{report.organization.code} {report.year}（{report.get_status_display()}）")
        if publication is not None:
            self.stdout.write(f"公开版本 r{publication.number}，PDF SHA-256 {publication.pdf_sha256}")
        for f in result.findings:
            self.stdout.write(f"{f.severity.upper()} {f.rule} {','.join(f.cells)} {f.message}")
