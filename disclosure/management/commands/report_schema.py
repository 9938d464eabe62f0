"""report_schema [--check]: regenerate the committed JSON Schema from the registry."""

import sys

from django.core.management.base import BaseCommand

from disclosure.interchange import SCHEMA_PATH, build_schema, dumps


class Command(BaseCommand):
    help = "由格式注册表生成交换文件的 JSON Schema。"

    def add_arguments(self, parser):
        parser.add_argument("--check", action="store_true", help="只检查已提交的文件是否最新")

    def handle(self, *args, **options):
        text = dumps(build_schema())
        if options["check"]:
            if SCHEMA_PATH.read_text(encoding="utf-8") != text:
                self.stderr.write(f"{SCHEMA_PATH} 已过期，请运行 manage.py report_schema。")
                sys.exit(1)
            return
        SCHEMA_PATH.write_text(text, encoding="utf-8")
        self.stdout.write(f"已写入 {SCHEMA_PATH}")
