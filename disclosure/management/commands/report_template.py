"""report_template FORMAT -o FILE.xlsx"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure import formats as reg
from disclosure.office import template_xlsx


class Command(BaseCommand):
    help = "生成某一格式版本的空白 Excel 填报模板（总计为公式，导入时自动核算）。"

    def add_arguments(self, parser):
        parser.add_argument("format", help="格式版本：" + "、".join(reg.FORMATS))
        parser.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")

    def handle(self, *args, **options):
        if options["format"] not in reg.FORMATS:
            raise CommandError(f"没有格式版本“{options['format']}”；可用：{'、'.join(reg.FORMATS)}。")
        Path(options["output"]).write_bytes(template_xlsx(options["format"]))
        self.stdout.write(f"已生成：{options['output']}")
