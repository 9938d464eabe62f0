"""import_archive DIR|ZIP --jurisdiction CODE [--dry-run] [--mapping FILE] [--drafts]

Every report file below a folder or inside a zip (HTML, text, .docx, PDF, .xlsx) is
read in the parse sandbox, matched to an organization of the jurisdiction by the
name it prints (the mapping file names the rest: one ``file-or-printed-name<TAB>org
code`` a line, or a JSON object) and to its year, and imported as published history
(``--drafts``: as drafts) through ``services.import_document``. A report the
organization already has for that year is left alone, so running it again changes
nothing. Ends with a table: complete / with gaps / ambiguous / unreadable /
unmatched, each with its reason. Exit 0 when every file was imported or already
there, 1 otherwise.
"""

from __future__ import annotations

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.interchange import InvalidDocument
from disclosure.jobs.archive import (
    OUTCOMES,
    REFUSED,
    Importer,
    Options,
    Row,
    counts,
    open_archive,
    ordered,
    parse_mapping,
)
from disclosure.models import Organization

__all__ = ["OUTCOMES", "Row", "open_archive", "read_mapping"]


def read_mapping(path: str | None) -> dict[str, str]:
    """File names or printed names → organization codes."""
    return parse_mapping(Path(path).read_text(encoding="utf-8")) if path else {}


class Command(BaseCommand):
    help = "批量导入一个文件夹或压缩包中的历年年度报告（网页、文本、Word、PDF、Excel），按机关名称和年度匹配。"

    def add_arguments(self, parser):
        parser.add_argument("source", help="文件夹或 .zip 压缩包")
        parser.add_argument("--jurisdiction", required=True, help="辖区（上级机关）代码：只匹配其下的机关")
        parser.add_argument("--mapping", help="名称对照文件：每行“文件名或印出的机关名称<Tab>机关代码”，或 JSON 对象")
        parser.add_argument("--dry-run", action="store_true", help="只识别和匹配，不写入")
        parser.add_argument("--drafts", action="store_true", help="作为草稿导入（默认作为已发布的历年报告）")

    def handle(self, *args, **options):
        source = Path(options["source"])
        if not source.exists():
            raise CommandError(f"找不到 {source}")
        top = Organization.objects.filter(code=options["jurisdiction"]).first()
        if top is None:
            raise CommandError(f"没有代码为“{options['jurisdiction']}”的机关")
        run = Options(dry_run=options["dry_run"], drafts=options["drafts"], mapping=read_mapping(options["mapping"]))

        def progress(phase: str, n: int, total: int, row: Row) -> None:
            if phase == "read":
                what = (
                    f"{row.outcome_label} {row.reason}" if row.outcome else f"已读取（{row.organization} {row.year}）"
                )
            else:
                what = f"{row.outcome_label} {row.action} {row.reason}"
            step = "读取" if phase == "read" else "导入"
            self.stdout.write(f"{step} [{n}/{total}] {row.name}：{what}".rstrip())

        try:
            with open_archive(source) as members:
                rows = Importer(top, run).run(members, progress)
        except InvalidDocument as exc:
            raise CommandError("；".join(exc.messages)) from None
        self._table(rows)
        if any(r.outcome in ("unreadable", "unmatched") or r.action == REFUSED for r in rows):
            sys.exit(1)

    def _table(self, rows: list[Row]) -> None:
        self.stdout.write("")
        self.stdout.write("结果\t文件\t机关\t年度\t处理\t原因")
        for r in ordered(rows):
            year = str(r.year or "")
            self.stdout.write(f"{r.outcome_label}\t{r.name}\t{r.organization}\t{year}\t{r.action}\t{r.reason}")
        summary = "，".join(
            f"{label}{n}" for (o, label), n in zip(OUTCOMES.items(), counts(rows).values(), strict=True)
        )
        self.stdout.write(f"共{len(rows)}个文件：{summary}。")
