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

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from disclosure.interchange import InvalidDocument
from disclosure.models import Organization, Report
from disclosure.parsing.files import EXTENSIONS, check_zip, max_upload_bytes
from disclosure.parsing.labels import key
from disclosure.parsing.sandbox import parse_untrusted
from disclosure.services import import_document

OUTCOMES = {
    "complete": "完整",
    "gaps": "有缺项",
    "ambiguous": "有待确认的数字",
    "unreadable": "无法识别",
    "unmatched": "未匹配机关",
}


@dataclass
class Row:
    name: str
    outcome: str
    reason: str
    organization: str = ""
    year: int | None = None
    action: str = ""  # 已导入 / 已存在，未改变 / 试运行


def archive_files(source: Path) -> Iterator[tuple[str, bytes | None]]:
    """(name, bytes) of every file below a folder or inside a zip whose extension a report may have."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if path.suffix.lower() in EXTENSIONS:
                if path.stat().st_size > max_upload_bytes():
                    yield str(path.relative_to(source)), None  # not read into memory at all
                    continue
                yield str(path.relative_to(source)), path.read_bytes()
        return
    data = source.read_bytes()
    archive = check_zip(data, source.name)  # bombs and oversized members refused before any is read
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        if info.is_dir() or PurePosixPath(info.filename).suffix.lower() not in EXTENSIONS:
            continue
        yield info.filename, archive.read(info)


def read_mapping(path: str | None) -> dict[str, str]:
    """File names or printed names → organization codes."""
    if not path:
        return {}
    text = Path(path).read_text(encoding="utf-8")
    if text.lstrip().startswith("{"):
        return {str(k): str(v) for k, v in json.loads(text).items()}
    mapping = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, code = line.rpartition("\t") if "\t" in line else line.rpartition(",")
            mapping[name.strip()] = code.strip()
    return mapping


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
        orgs = list(Organization.objects.filter(path__startswith=top.path))
        by_name = {key(o.name): o for o in orgs}
        by_code = {o.code: o for o in orgs}
        mapping = read_mapping(options["mapping"])
        try:
            files = list(archive_files(source))
        except InvalidDocument as exc:
            raise CommandError("；".join(exc.messages)) from None
        rows: list[Row] = []
        for n, (name, data) in enumerate(files, 1):
            row = self._one(name, data, by_name, by_code, mapping, options)
            rows.append(row)
            self.stdout.write(f"[{n}/{len(files)}] {name}：{OUTCOMES[row.outcome]} {row.action} {row.reason}".rstrip())
        self._table(rows)
        if any(r.outcome in ("unreadable", "unmatched") for r in rows):
            sys.exit(1)

    def _one(self, name: str, data: bytes, by_name, by_code, mapping, options) -> Row:
        filename = PurePosixPath(name).name
        if data is None:
            return Row(name, "unreadable", f"文件超过上传大小上限（{max_upload_bytes() // (1024 * 1024)} MB）")
        org = by_code.get(mapping.get(name) or mapping.get(filename) or "")
        try:
            result = parse_untrusted(data, filename=filename, org_name=org.name if org else None)
        except InvalidDocument as exc:
            return Row(name, "unreadable", "；".join(exc.messages))
        doc = result.document
        printed = doc["organization"]["name"]
        if org is None:
            org = by_name.get(key(printed)) or by_code.get(mapping.get(printed, ""))
        if org is None:
            return Row(
                name, "unmatched", f"辖区内没有名为“{printed}”的机关；请在对照文件中写明其代码", year=doc["year"]
            )
        doc["organization"] = {"name": org.name, "code": org.code, "kind": org.kind}
        ambiguous = [p for p in result.problems if p.code == "digits_ambiguous"]
        missing = result.missing_cells
        if ambiguous:
            outcome, reason = "ambiguous", f"{len(ambiguous)}行数字可有多种拆分，已留空待确认"
        elif missing:
            outcome, reason = "gaps", f"{len(missing)}个单元格未能识别，已留空"
        else:
            outcome, reason = "complete", ""
        row = Row(name, outcome, reason, org.code, doc["year"])
        if Report.objects.filter(organization=org, year=doc["year"]).exists():
            row.action = "已存在，未改变"
            return row
        if options["dry_run"]:
            row.action = "试运行，未写入"
            return row
        status = Report.Status.DRAFT if options["drafts"] else Report.Status.PUBLISHED
        try:
            with transaction.atomic():
                imported = import_document(doc, status=status)
                if status == Report.Status.PUBLISHED:
                    from disclosure.workflow import publish_imported

                    publish_imported(imported.report)
        except InvalidDocument as exc:
            return Row(name, "unreadable", "未导入：" + "；".join(exc.messages), org.code, doc["year"])
        row.action = "已导入"
        return row

    def _table(self, rows: list[Row]) -> None:
        self.stdout.write("")
        self.stdout.write("结果\t文件\t机关\t年度\t处理\t原因")
        for outcome in OUTCOMES:
            for r in (r for r in rows if r.outcome == outcome):
                year = str(r.year or "")
                self.stdout.write(f"{OUTCOMES[outcome]}\t{r.name}\t{r.organization}\t{year}\t{r.action}\t{r.reason}")
        counts = "，".join(f"{label}{sum(1 for r in rows if r.outcome == o)}" for o, label in OUTCOMES.items())
        self.stdout.write(f"共{len(rows)}个文件：{counts}。")
