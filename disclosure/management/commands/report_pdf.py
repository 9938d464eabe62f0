"""report_pdf FILE.json OUT.pdf [--draft] [--revision N]

Renders an interchange document (disclosure-report/1) as the official-format
PDF. Exit 0: written; 2: not a valid document, or the PDF cannot be made here.
"""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from disclosure.interchange import InvalidDocument, load_document
from disclosure.pdf import PdfSetupError, render_pdf


class Command(BaseCommand):
    help = "将一份年度报告交换文件（disclosure-report/1）排成正式格式的 PDF。"
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="年度报告交换文件（JSON）")
        parser.add_argument("out", help="输出的 PDF 文件")
        parser.add_argument("--draft", action="store_true", help="排成草稿（带“草稿”水印）")
        parser.add_argument("--revision", type=int, help="草稿的修订号，印在水印上")

    def handle(self, *args, **options):
        try:
            doc = load_document(options["file"])
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"无效文档：{message}")
            sys.exit(2)
        try:
            pdf = render_pdf(doc, draft=options["draft"], revision=options["revision"])
        except PdfSetupError as exc:
            self.stderr.write(f"无法生成 PDF：{exc}")
            sys.exit(2)
        out = Path(options["out"])
        try:
            out.write_bytes(pdf)
        except FileNotFoundError:
            self.stderr.write(f"无法写入 {out}：目录 {out.parent} 不存在。")
            sys.exit(2)
        except PermissionError:
            self.stderr.write(f"无法写入 {out}：没有写入权限。")
            sys.exit(2)
        except OSError as exc:
            self.stderr.write(f"无法写入 {out}：{exc.strerror or exc}")
            sys.exit(2)
        self.stdout.write(f"已生成 {out}（{len(pdf) // 1024} KB）")
