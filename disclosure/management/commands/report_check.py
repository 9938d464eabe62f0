"""report_check FILE.json [--previous PREV.json] [--json]

Exit 0: no error; 1: errors found; 2: not a valid document.
"""

import json
import sys

from django.core.management.base import BaseCommand

from disclosure.interchange import InvalidDocument, canonicalize, derive_totals, load_document
from disclosure.rules import check_document, has_errors


class Command(BaseCommand):
    help = "校验一份年度报告交换文件（disclosure-report/1），逐条列出发现的问题。"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--previous", help="上一年度报告文件，用于跨年度校验")
        parser.add_argument("--json", action="store_true", help="以JSON列表输出")

    def handle(self, *args, **options):
        try:
            doc = derive_totals(canonicalize(load_document(options["file"])))
            previous = None
            if options["previous"]:
                previous = canonicalize(load_document(options["previous"]))
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"无效文档：{message}")
            sys.exit(2)
        findings = check_document(doc, previous)
        if options["json"]:
            self.stdout.write(json.dumps([f.as_dict() for f in findings], ensure_ascii=False, indent=2))
        else:
            for f in findings:
                self.stdout.write(f"{f.severity.upper()} {f.rule} {','.join(f.cells)} {f.message}")
        sys.exit(1 if has_errors(findings) else 0)
