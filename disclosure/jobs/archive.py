"""Importing an archive of published reports (ADR 0015): the core of ``manage.py
import_archive`` and of the supervisor's archive job.

Every report file below a folder or inside a zip is read in the parse sandbox,
matched to an organization of the jurisdiction's subtree (by the printed name's
match key, or by a mapping of file names or printed names to codes) and to its
year, and imported through ``services.import_document``: as published history
(``publish_imported``) or as drafts. Files are read first and imported in year
order, so last year's report, imported in the same run, settles a split of this
year's run-together digits (``parsing.choices.settle_with_previous``). A report
the organization already has for that year is left alone: running it again
changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction

from ..interchange import InvalidDocument
from ..models import Job, Organization, Report
from ..parsing.files import EXTENSIONS, check_zip, max_upload_bytes
from ..parsing.labels import key

OUTCOMES = {
    "complete": "完整",
    "gaps": "有缺项",
    "ambiguous": "有待确认的数字",
    "unreadable": "无法识别",
    "unmatched": "未匹配机关",
}
IMPORTED = "已导入"
EXISTING = "已存在，未改变"
DRY_RUN = "试运行，未写入"
# The zip a supervisor uploads holds a jurisdiction's reports: ten uploads' worth by default.
ARCHIVE_MAX_FACTOR = 10


def max_archive_bytes() -> int:
    return int(getattr(settings, "REPORT_ARCHIVE_MAX_BYTES", ARCHIVE_MAX_FACTOR * max_upload_bytes()))


@dataclass
class Row:
    """One file's fate, as the closing table shows it."""

    name: str
    outcome: str
    reason: str
    organization: str = ""
    year: int | None = None
    action: str = ""  # 已导入 / 已存在，未改变 / 试运行，未写入

    @property
    def outcome_label(self) -> str:
        return OUTCOMES[self.outcome]


@dataclass
class Options:
    dry_run: bool = False
    drafts: bool = False
    mapping: dict[str, str] = field(default_factory=dict)


def archive_files(source: Path) -> Iterator[tuple[str, bytes | None]]:
    """(name, bytes) of every file below a folder or inside a zip whose extension a report may have;
    bytes None for a file over the upload size limit (never read into memory)."""
    if source.is_dir():
        for path in sorted(p for p in source.rglob("*") if p.is_file()):
            if path.suffix.lower() in EXTENSIONS:
                if path.stat().st_size > max_upload_bytes():
                    yield str(path.relative_to(source)), None
                    continue
                yield str(path.relative_to(source)), path.read_bytes()
        return
    yield from zip_files(source.read_bytes(), source.name)


def zip_files(data: bytes, name: str) -> Iterator[tuple[str, bytes | None]]:
    """The report files of a zip, checked like an upload before any member is read."""
    archive = check_zip(data, name)  # bombs and oversized members refused first
    for info in sorted(archive.infolist(), key=lambda i: i.filename):
        if info.is_dir() or PurePosixPath(info.filename).suffix.lower() not in EXTENSIONS:
            continue
        if info.file_size > max_upload_bytes():
            yield info.filename, None
            continue
        yield info.filename, archive.read(info)


def parse_mapping(text: str) -> dict[str, str]:
    """File names or printed names → organization codes: a JSON object, or one
    ``name<Tab>code`` (or ``name,code``) a line; # starts a comment."""
    if text.lstrip().startswith("{"):
        return {str(k): str(v) for k, v in json.loads(text).items()}
    mapping = {}
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, code = line.rpartition("\t") if "\t" in line else line.rpartition(",")
            mapping[name.strip()] = code.strip()
    return mapping


@dataclass
class _Read:
    row: Row
    org: Organization | None = None
    doc: dict | None = None
    problems: list[dict] = field(default_factory=list)


class Importer:
    """One run over an archive for one jurisdiction."""

    def __init__(self, top: Organization, options: Options, *, actor=None) -> None:
        self.top = top
        self.options = options
        self.actor = actor
        orgs = list(Organization.objects.filter(path__startswith=top.path)) if top.path else [top]
        self.by_name = {key(o.name): o for o in orgs}
        self.by_code = {o.code: o for o in orgs}

    def read(self, name: str, data: bytes | None) -> _Read:
        """Parse (in the sandbox) and match one file; nothing is written."""
        from ..parsing.sandbox import parse_untrusted

        filename = PurePosixPath(name).name
        mapping = self.options.mapping
        if data is None:
            return _Read(Row(name, "unreadable", f"文件超过上传大小上限（{max_upload_bytes() // (1024 * 1024)} MB）"))
        org = self.by_code.get(mapping.get(name) or mapping.get(filename) or "")
        try:
            result = parse_untrusted(data, filename=filename, org_name=org.name if org else None)
        except InvalidDocument as exc:
            return _Read(Row(name, "unreadable", "；".join(exc.messages)))
        doc = result.document
        printed = doc["organization"]["name"]
        if org is None:
            org = self.by_name.get(key(printed)) or self.by_code.get(mapping.get(printed, ""))
        if org is None:
            reason = f"辖区内没有名为“{printed}”的机关；请在对照文件中写明其代码"
            return _Read(Row(name, "unmatched", reason, year=doc["year"]))
        doc["organization"] = {"name": org.name, "code": org.code, "kind": org.kind}
        return _Read(Row(name, "", "", org.code, doc["year"]), org, doc, [p.as_dict() for p in result.problems])

    def store(self, read: _Read) -> Row:
        """Settle what last year's report decides, classify, and import unless already there."""
        from ..parsing.choices import AMBIGUOUS, settle_with_previous
        from ..parsing.result import ParseResult
        from ..services.core import import_document
        from ..services.uploads import _previous_document

        row, org, doc = read.row, read.org, read.doc
        assert org is not None and doc is not None
        problems = settle_with_previous(doc, read.problems, _previous_document(org, doc["year"]))
        ambiguous = [p for p in problems if p["code"] == AMBIGUOUS]
        missing = ParseResult(document=doc).missing_cells
        if ambiguous:
            row.outcome, row.reason = "ambiguous", f"{len(ambiguous)}行数字可有多种拆分，已留空待确认"
        elif missing:
            row.outcome, row.reason = "gaps", f"{len(missing)}个单元格未能识别，已留空"
        else:
            row.outcome, row.reason = "complete", ""
        if Report.objects.filter(organization=org, year=doc["year"]).exists():
            row.action = EXISTING
            return row
        if self.options.dry_run:
            row.action = DRY_RUN
            return row
        status = Report.Status.DRAFT if self.options.drafts else Report.Status.PUBLISHED
        try:
            with transaction.atomic():
                imported = import_document(doc, actor=self.actor, status=status)
                if status == Report.Status.PUBLISHED:
                    from ..workflow import publish_imported

                    publish_imported(imported.report, actor=self.actor)
        except InvalidDocument as exc:
            row.outcome, row.reason = "unreadable", "未导入：" + "；".join(exc.messages)
            return row
        row.action = IMPORTED
        return row

    def run(
        self,
        files: list[tuple[str, bytes | None]],
        progress: Callable[[str, int, int, Row], None] | None = None,
    ) -> list[Row]:
        """Every file read (progress "read"), then stored in year order (progress "store");
        rows in the files' order."""
        reads: list[_Read] = []
        for n, (name, data) in enumerate(files, 1):
            read = self.read(name, data)
            reads.append(read)
            if progress:
                progress("read", n, len(files), read.row)
        pending = sorted((r for r in reads if r.doc is not None), key=lambda r: (r.doc["year"], r.row.name))
        for n, read in enumerate(pending, 1):
            self.store(read)
            if progress:
                progress("store", n, len(pending), read.row)
        return [r.row for r in reads]


def counts(rows: list[Row]) -> dict[str, int]:
    return {outcome: sum(1 for r in rows if r.outcome == outcome) for outcome in OUTCOMES}


def ordered(rows: list[Row]) -> list[Row]:
    """The closing table's order: by outcome, then as the files came."""
    return [r for outcome in OUTCOMES for r in rows if r.outcome == outcome]


# -- the job ------------------------------------------------------------------------------------


def run_job(job: Job) -> dict[str, Any]:
    """The archive job: a supervisor's zip for their jurisdiction (``job.organization``).

    Progress goes to ``job.result`` as it runs; the closing table is the result. A
    retried job reads the zip again and changes nothing already imported.
    """
    from . import core
    from .core import JobFailed

    with job.input_file.open("rb") as f:
        data = f.read()
    options = Options(
        dry_run=bool(job.params.get("dry_run")),
        drafts=bool(job.params.get("drafts")),
        mapping=dict(job.params.get("mapping") or {}),
    )
    try:
        files = list(zip_files(data, job.params.get("filename", "archive.zip")))
    except InvalidDocument as exc:
        _discard_input(job)
        raise JobFailed("；".join(exc.messages), code=exc.code, params=exc.params) from exc
    if not files:
        _discard_input(job)
        raise JobFailed("压缩包中没有可识别的报告文件（网页、文本、Word、PDF、Excel）。", code="empty_archive")

    def progress(phase: str, n: int, total: int, row: Row) -> None:
        core.save_progress(job, progress={"phase": phase, "done": n, "total": total, "file": row.name})

    rows = Importer(job.organization, options, actor=job.actor).run(files, progress)
    _discard_input(job)
    from ..services.core import record_event

    record_event(
        "archive.imported",
        actor=job.actor,
        organization=job.organization,
        job=str(job.pk),
        files=len(rows),
        imported=sum(1 for r in rows if r.action == IMPORTED),
        **counts(rows),
    )
    return {"rows": [asdict(r) for r in ordered(rows)], "counts": counts(rows), "progress": None}


def _discard_input(job: Job) -> None:
    """The zip is kept only while the job may still need it (a retry reads it again)."""
    if job.input_file:
        job.input_file.delete(save=False)
        Job.objects.filter(pk=job.pk).update(input_file="")


def progress_text(job: Job) -> str:
    """读取 3/12：2022/商务局.txt — what a running archive job is doing."""
    progress = (job.result or {}).get("progress")
    if not progress:
        return ""
    step = "读取" if progress["phase"] == "read" else "导入"
    return f"{step} {progress['done']}/{progress['total']}：{progress['file']}"


@transaction.atomic
def queue_archive(
    organization: Organization, *, actor, filename: str, data: bytes, drafts: bool = False, mapping_text: str = ""
) -> Job:
    """Check a supervisor's zip like an upload (size, bombs) and record the job that imports it."""
    from ..services.core import record_event
    from ..services.uploads import check_filename, display_filename
    from . import core

    check_filename(filename)
    name = display_filename(filename)
    if len(data) > max_archive_bytes():
        raise InvalidDocument(
            f"压缩包过大（{len(data) / 1048576:.1f} MB），上限为 {max_archive_bytes() // 1048576} MB。",
            code="too_large",
            params={"size": len(data), "limit": max_archive_bytes()},
        )
    if not name.lower().endswith(".zip"):
        raise InvalidDocument("请上传 .zip 压缩包。", code="wrong_type", params={})
    files = [n for n, _d in zip_files(data, name)]  # bombs refused now, before anything is queued
    if not files:
        raise InvalidDocument("压缩包中没有可识别的报告文件（网页、文本、Word、PDF、Excel）。", code="empty_archive")
    try:
        mapping = parse_mapping(mapping_text) if mapping_text.strip() else {}
    except ValueError:
        raise InvalidDocument(
            "名称对照格式有误：每行“文件名或机关名称<Tab>机关代码”，或 JSON 对象。", code="mapping"
        ) from None
    job = core.submit(
        Job.Kind.ARCHIVE,
        actor=actor,
        organization=organization,
        params={"filename": name, "size": len(data), "files": len(files), "drafts": drafts, "mapping": mapping},
        input_data=data,
    )
    record_event(
        "archive.uploaded", actor=actor, organization=organization, filename=name, files=len(files), job=str(job.pk)
    )
    return job
