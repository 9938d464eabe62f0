"""The commands that write one stored report out: ORG_CODE YEAR [-o FILE]."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.selectors import export_report, report_queryset


class ExportCommand(BaseCommand):
    """Finds the report, turns its interchange document into a file with ``render``
    and writes it to ``-o FILE`` (or, where the output is text and optional, to stdout)."""

    render: Callable[[dict], bytes | str]
    output_help = "输出文件"
    output_required = True

    def add_arguments(self, parser) -> None:
        parser.add_argument("org_code")
        parser.add_argument("year", type=int)
        parser.add_argument("-o", "--output", required=self.output_required, help=self.output_help)

    def handle(self, *args, **options) -> None:
        report = report_queryset().filter(organization__code=options["org_code"], year=options["year"]).first()
        if report is None:
            raise CommandError(f"没有找到机关“{options['org_code']}”{options['year']}年度的报告。")
        data = self.render(export_report(report))
        if not options["output"]:
            self.stdout.write(data, ending="")
            return
        target = Path(options["output"])
        if isinstance(data, str):
            target.write_text(data, encoding="utf-8")
        else:
            target.write_bytes(data)
        self.stdout.write(f"已导出：{options['output']}")
