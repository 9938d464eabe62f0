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

Only history is published: a year before the current report year whose 成文日期
is not in the future. The current year's report (or one dated after today) comes
in as a draft that goes through review like any other; a later year is refused.

Files are read one at a time: a zip is opened from its file, its central
directory checked (``check_zip``) before any member is unpacked, and each member
read when its turn comes and dropped after parsing.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import lzma
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from django.conf import settings
from django.db import transaction

from .. import calendar
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
REFUSED = "未导入"
SAME_NAME = "多个机关同名（“{name}”：{codes}），请在对照文件中写明代码"
DAMAGED_MEMBER = "文件在压缩包中已损坏或压缩方式不受支持，无法读出；请重新打包后上传。"
UNKNOWN_CODE = "对照文件中的代码“{code}”不是本辖区的机关，未按文件中的名称匹配；请核对对照文件"
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


@dataclass(frozen=True)
class Member:
    """One report file of an archive; its bytes are read only when ``load`` is called."""

    name: str
    size: int
    load: Callable[[], bytes]


@contextmanager
def open_archive(source: Path) -> Iterator[list[Member]]:
    """The report files below a folder or inside a zip (checked like an upload), unread."""
    if source.is_dir():
        paths = sorted(p for p in source.rglob("*") if p.is_file() and p.suffix.lower() in EXTENSIONS)
        yield [Member(str(p.relative_to(source)), p.stat().st_size, p.read_bytes) for p in paths]
        return
    with source.open("rb") as f:
        yield zip_members(open_zip(f, source.name))


def open_zip(fileobj: BinaryIO, name: str) -> zipfile.ZipFile:
    """A zip opened from a seekable file, after ``check_zip`` (bombs, member count, total
    size) has looked at its central directory; no member is unpacked and the compressed
    archive is never held in memory."""
    try:
        archive = zipfile.ZipFile(fileobj)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        fileobj.seek(0)
        return check_zip(fileobj.read(), name)  # says why, as for any upload; only a broken zip gets here
    # From the central directory to the end: a zip of its own (zipfile allows for data before
    # it), so check_zip reads the same member list without the members' bytes.
    fileobj.seek(getattr(archive, "start_dir", 0))
    check_zip(fileobj.read(), name)
    return archive


def zip_members(archive: zipfile.ZipFile) -> list[Member]:
    """The report files of a checked zip, each unpacked only when loaded."""
    return [
        Member(info.filename, info.file_size, partial(archive.read, info))
        for info in sorted(archive.infolist(), key=lambda i: i.filename)
        if not info.is_dir() and PurePosixPath(info.filename).suffix.lower() in EXTENSIONS
    ]


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
        self.today = calendar.today()
        orgs = list(Organization.objects.filter(path__startswith=top.path)) if top.path else [top]
        # Names are not unique: every office a name may mean, so a clash is reported, never guessed.
        self.by_name: dict[str, list[Organization]] = {}
        for o in orgs:
            self.by_name.setdefault(key(o.name), []).append(o)
        self.by_code = {o.code: o for o in orgs}

    def read(self, member: Member) -> _Read:
        """Parse (in the sandbox) and match one file; nothing is written. The file's bytes
        are held only while it is parsed."""
        from ..parsing.sandbox import parse_untrusted

        name = member.name
        filename = PurePosixPath(name).name
        mapping = self.options.mapping
        if member.size > max_upload_bytes():
            return _Read(Row(name, "unreadable", f"文件超过上传大小上限（{max_upload_bytes() // (1024 * 1024)} MB）"))
        mapped = mapping.get(name) or mapping.get(filename) or ""
        org = self.by_code.get(mapped)
        if mapped and org is None:
            # A mapping exists to override the printed name: never fall back to it.
            return _Read(Row(name, "unmatched", UNKNOWN_CODE.format(code=mapped)))
        try:
            data = member.load()
        except (zipfile.BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError, ValueError, OSError, EOFError):
            # One damaged member (or one packed by a method zipfile cannot unpack) is one
            # unreadable row, not a failed archive (zipfile's English reason stays off the page).
            return _Read(Row(name, "unreadable", DAMAGED_MEMBER))
        except RuntimeError:  # zipfile: an encrypted member needs a password (checked after its subclass above)
            return _Read(Row(name, "unreadable", "文件在压缩包中已加密，无法读出；请去掉密码后重新打包上传。"))
        try:
            result = parse_untrusted(data, filename=filename, org_name=org.name if org else None)
        except InvalidDocument as exc:
            return _Read(Row(name, "unreadable", "；".join(exc.messages)))
        doc = result.document
        printed = doc["organization"]["name"]
        if org is None and mapping.get(printed):
            org = self.by_code.get(mapping[printed])
            if org is None:
                return _Read(Row(name, "unmatched", UNKNOWN_CODE.format(code=mapping[printed]), year=doc["year"]))
        if org is None:
            named = self.by_name.get(key(printed), [])
            if len(named) > 1:
                reason = SAME_NAME.format(name=printed, codes="、".join(sorted(o.code for o in named)))
                return _Read(Row(name, "unmatched", reason, year=doc["year"]))
            org = named[0] if named else None
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
        status, why = self.status_for(org, doc)
        if status is None:
            row.action, row.reason = REFUSED, _join(row.reason, why)
            return row
        if Report.objects.filter(organization=org, year=doc["year"]).exists():
            row.action = EXISTING  # whatever its state: a live draft or submitted report is never overwritten
            return row
        row.reason = _join(row.reason, why)
        if self.options.dry_run:
            row.action = DRY_RUN
            return row
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

    def status_for(self, org: Organization, doc: dict) -> tuple[str | None, str]:
        """The state a file may be imported in (None: refused) and why, for the closing table.

        Publishing here skips clerk and reviewer, so only history is published: a year
        before the current report year, written on or before today (``workflow`` refuses
        to publish a 成文日期 after today). The current year is still being written by its
        office: a draft, reviewed like any other. A later year is not a report yet.
        """
        year = doc["year"]
        current = calendar.current_report_year(self.today, government_level=org.is_government)
        if year > current:
            return None, f"不能导入{year}年度的报告：当前填报年度为{current}年"
        if self.options.drafts:
            return Report.Status.DRAFT, ""
        if year == current:
            return Report.Status.DRAFT, f"{year}年度为当前填报年度，作为草稿导入，须经审核后发布"
        issued_on = dt.date.fromisoformat(doc["issued_on"]) if doc.get("issued_on") else None
        if issued_on is not None and issued_on > self.today:
            return Report.Status.DRAFT, calendar.future_issue_date_message(issued_on, self.today) + "作为草稿导入"
        return Report.Status.PUBLISHED, ""

    def run(
        self,
        members: Sequence[Member],
        progress: Callable[[str, int, int, Row], None] | None = None,
    ) -> list[Row]:
        """Every file read one at a time (progress "read"), then stored in year order
        (progress "store"); rows in the files' order."""
        reads: list[_Read] = []
        for n, member in enumerate(members, 1):
            read = self.read(member)
            reads.append(read)
            if progress:
                progress("read", n, len(members), read.row)
        pending = sorted((r for r in reads if r.doc is not None), key=lambda r: (r.doc["year"], r.row.name))
        for n, read in enumerate(pending, 1):
            self.store(read)
            if progress:
                progress("store", n, len(pending), read.row)
        return [r.row for r in reads]


def _join(*reasons: str) -> str:
    return "；".join(r for r in reasons if r)


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

    options = Options(
        dry_run=bool(job.params.get("dry_run")),
        drafts=bool(job.params.get("drafts")),
        mapping=dict(job.params.get("mapping") or {}),
    )

    def progress(phase: str, n: int, total: int, row: Row) -> None:
        core.save_progress(job, progress={"phase": phase, "done": n, "total": total, "file": row.name})

    failure: InvalidDocument | None = None
    rows: list[Row] = []
    # The zip stays on disk: its directory is checked, then each member is unpacked in turn.
    with job.input_file.open("rb") as f:
        try:
            members = zip_members(open_zip(f, job.params.get("filename", "archive.zip")))
        except InvalidDocument as exc:
            failure, members = exc, []
        if members:
            rows = Importer(job.organization, options, actor=job.actor).run(members, progress)
    if failure is not None:
        _discard_input(job)
        raise JobFailed("；".join(failure.messages), code=failure.code, params=failure.params) from failure
    if not rows:
        _discard_input(job)
        raise JobFailed("压缩包中没有可识别的报告文件（网页、文本、Word、PDF、Excel）。", code="empty_archive")

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
    # Bombs refused now, before anything is queued; the names come from the directory, nothing is unpacked.
    files = [m.name for m in zip_members(open_zip(io.BytesIO(data), name))]
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
