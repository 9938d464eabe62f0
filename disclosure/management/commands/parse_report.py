"""parse_report FILE [--year Y] [--org NAME] [--code CODE] [-o OUT.json] [--no-sandbox]

Exit 0 when every cell was found, 1 when cells are missing (listed on
stderr), 2 when the file cannot be read. The file is read in a child process
with hard limits (``parsing.sandbox``) unless ``--no-sandbox`` is given.
"""

import argparse
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from disclosure.interchange import InvalidDocument, dumps
from disclosure.parsing import parse_report
from disclosure.parsing.files import read_bytes
from disclosure.parsing.sandbox import parse_untrusted


class Command(BaseCommand):
    help = "识别一份已发布的年度报告（文本、网页、Word、PDF、Excel），输出交换文件（disclosure-report/1）。"

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--year", type=int, help="报告年度（标题中没有年度时必填）")
        parser.add_argument("--org", help="发布机关名称（覆盖从标题识别的名称）")
        parser.add_argument("--code", help="机关代码；省略时按名称生成 org-xxxxxxxxxx")
        parser.add_argument("-o", "--output", help="输出文件；省略时写到标准输出")
        parser.add_argument(
            "--sandbox",
            action=argparse.BooleanOptionalAction,
            default=True,
            help="在受限的子进程中读取（默认）；--no-sandbox 在本进程中读取",
        )

    def handle(self, *args, **options):
        kwargs = {"year": options["year"], "org_name": options["org"], "org_code": options["code"]}
        try:
            if options["sandbox"]:
                data, name = read_bytes(options["file"])
                result = parse_untrusted(data, filename=name, **kwargs)
            else:
                result = parse_report(options["file"], **kwargs)
        except InvalidDocument as exc:
            for message in exc.messages:
                self.stderr.write(f"无法识别：{message}")
            sys.exit(2)
        text = dumps(result.document)
        if options["output"]:
            Path(options["output"]).write_text(text, encoding="utf-8")
        else:
            self.stdout.write(text, ending="")
        if result.encoding:
            self.stderr.write(f"文字编码：{result.encoding}")
        for name, value in result.page.items():
            self.stderr.write(f"网页元数据 {name}：{value}")
        for problem in result.problems:
            where = f"（{problem.where}）" if problem.where else ""
            self.stderr.write(f"{problem.code}{where}：{problem.message}")
        missing = result.missing_cells
        if missing:
            self.stderr.write(f"共有{len(missing)}个单元格未能识别，已留空。")
            sys.exit(1)
