"""Audit events as people read them: a Chinese phrase per recorded action, and
consecutive autosaves by one person folded into one row ("编辑了 12 个单元格，14:02–14:25").

The events themselves stay as recorded (append-only, ``services.core.record_event``);
this module only presents them. Every action the code records has a label here
(tests/test_audit_labels.py scans the source), so no event name reaches a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from .formats import get_format
from .formats.base import CellSpec, Format
from .models import AuditEvent, Report

# What the person did, as a phrase after their name (the 操作 column).
ACTION_LABELS: dict[str, str] = {
    # Writing the report
    "report.created": "创建了报告",
    "report.saved": "编辑了报告",
    "report.prefilled": "从上年报告带入了数据",
    "report.no_applications": "填写了“本年度未收到政府信息公开申请”",
    "report.explained": "说明了一条警示",
    "report.imported": "导入了报告",
    "report.admin_edited": "系统管理员修改了报告",
    "report.filled_from_rollup": "从下级汇总填入了数据",
    "report.rollup_accepted": "采用了下级汇总的数据",
    # The review workflow (workflow.Action, recorded as "report.<action>")
    "report.submit": "提交审核",
    "report.withdraw": "撤回了提交",
    "report.return": "退回修改",
    "report.approve": "审核通过",
    "report.publish": "发布了报告",
    "report.correct": "申请更正，报告回到草稿",
    "report.publish_requested": "请求发布，正在生成正式文本",
    "report.publish_imported": "登记了已公开的历年报告",
    # Comments
    "comment.added": "添加了意见",
    "comment.resolved": "将意见标记为已解决",
    # Importing a file
    "import.uploaded": "上传了导入文件",
    "import.staged": "导入文件已识别，等待确认",
    "import.confirmed": "确认了导入",
    "import.discarded": "放弃了导入",
    # Importing an archive of past reports (a job)
    "archive.uploaded": "上传了历年报告包",
    "archive.imported": "导入了历年报告包",
    # Organizations, accounts, jobs
    "organization.created": "创建了机关",
    "organization.report_scope": "更改了报告范围（本级或汇总）",
    "outlier.checked": "核实了异常数值",
    "account.password_set": "系统管理员设置了密码",
    "account.password_change": "修改了密码",
    "account.password_reset": "重置了密码",
    "job.failed": "后台任务失败",
    "deadline.reminded": "发送了截止提醒",
    "demo.loaded": "载入了演示数据",
}
# An action recorded by code newer than this table still reads as something.
FALLBACK_LABEL = "其他操作"
# Autosaves: one row per run of them by one person.
EDIT_ACTIONS = frozenset({"report.saved"})
# How many recent events the review page reads; a report has thousands of autosaves.
RECENT_EVENTS = 500
# How many changed places one row lists when expanded.
MAX_LISTED = 100
# Keys of an event's "changes" that are not places in the document.
NOT_PLACES = frozenset({"status"})
TABLE_SECTIONS = frozenset({"active_disclosure", "applications", "reviews"})
JOB_KINDS = {"publish": "发布", "export": "导出", "import": "导入", "mail": "邮件", "archive": "历年报告导入"}


def action_label(action: str) -> str:
    """The Chinese phrase for a recorded action; never the action's code."""
    return ACTION_LABELS.get(action, FALLBACK_LABEL)


def place_label(fmt: Format, ref: str) -> str:
    """A reader's name for a place of a document (spec §7 refs, a section, the
    whole report), never the ref."""
    if ref == "report":
        return "整份报告"
    section = next((s for s in fmt.sections if s.code == ref), None)
    if section is not None:
        return section.title
    try:
        label = fmt.label_of(ref)
    except KeyError:
        return "其他内容"
    # label_of answers an unknown narrative path with the path itself.
    if label == ref.removeprefix("narrative."):
        return "其他内容"
    head = ref.split(".")[0]
    if head in TABLE_SECTIONS:
        # Which table, as the rules' messages and the clerk's pages name it: 表三“…”自然人.
        label = f"表{fmt.section(head).title.split('、')[0]}{label}"
    return label


def _cell(fmt: Format, ref: str) -> CellSpec | None:
    try:
        return fmt.cell(ref)
    except KeyError:
        return None


@dataclass
class Change:
    label: str
    old: Any
    new: Any


@dataclass
class AuditRow:
    """One line of a report's 操作记录: an event, or a run of autosaves."""

    actor: str
    label: str
    first: Any  # datetime of the earliest event
    last: Any  # datetime of the latest event
    events: int = 1
    summary: str = ""
    changes: list[Change] = field(default_factory=list)
    more: int = 0  # changed places beyond those listed

    @property
    def span(self) -> str:
        """The run's times of day, e.g. 14:02–14:25."""
        first, last = timezone.localtime(self.first), timezone.localtime(self.last)
        return f"{first:%H:%M}–{last:%H:%M}" if f"{first:%H:%M}" != f"{last:%H:%M}" else f"{last:%H:%M}"

    @property
    def when(self) -> str:
        first, last = timezone.localtime(self.first), timezone.localtime(self.last)
        if first.date() != last.date():  # runs stop at midnight; kept for any other caller
            return f"{first:%Y-%m-%d %H:%M} – {last:%Y-%m-%d %H:%M}"
        return f"{last:%Y-%m-%d} {self.span}"


def _actor_name(event: AuditEvent) -> str:
    if event.actor is None:
        return "系统"
    return event.actor.get_full_name() or event.actor.get_username()


def _changes(fmt, events: list[AuditEvent]) -> tuple[dict[str, list[Any]], int, int]:
    """Changed places of a run of events (oldest first): first old value, last new value."""
    merged: dict[str, list[Any]] = {}
    for event in events:
        for ref, pair in (event.data.get("changes") or {}).items():
            if ref in NOT_PLACES or not isinstance(pair, list | tuple) or len(pair) != 2:
                continue
            cell = _cell(fmt, ref)
            if cell is not None and cell.computed:
                continue  # a total follows from the cells typed: not an edit of its own
            if ref in merged:
                merged[ref][1] = pair[1]
            else:
                merged[ref] = [pair[0], pair[1]]
    # An edit undone within the run changed nothing.
    merged = {ref: pair for ref, pair in merged.items() if pair[0] != pair[1]}
    cells = sum(_cell(fmt, ref) is not None for ref in merged)
    return merged, cells, len(merged) - cells


def _edit_summary(cells: int, others: int) -> str:
    parts = []
    if cells:
        parts.append(f"{cells} 个单元格")
    if others:
        parts.append(f"{others} 处文字")
    return "编辑了 " + "和 ".join(parts) if parts else "保存了报告，内容没有变化"


def _detail(fmt, event: AuditEvent) -> str:
    """The 内容 column for events other than edits: what a reader needs, in Chinese."""
    data = event.data or {}
    action = event.action
    if action == "comment.added":
        where = place_label(fmt, str(data.get("anchor") or "report"))
        body = str(data.get("body", ""))
        return f"{where}：{body[:40]}{'…' if len(body) > 40 else ''}"
    if action == "report.explained":
        text = str(data.get("new") or "")
        return f"说明：{text[:40]}{'…' if len(text) > 40 else ''}" if text else "撤销了说明"
    if action == "report.publish" and data.get("publication"):
        return f"第{data['publication']}版"
    if action in ("import.uploaded", "import.staged", "import.confirmed", "import.discarded") and data.get("filename"):
        return f"文件：{data['filename']}"
    if action == "job.failed":
        kind = JOB_KINDS.get(str(data.get("kind", "")), "")
        return f"{kind}任务：{data.get('error', '')}" if kind else str(data.get("error", ""))
    return ""


def _row(fmt, events: list[AuditEvent], *, grouped: bool) -> AuditRow:
    first, last = events[0], events[-1]
    row = AuditRow(
        actor=_actor_name(last),
        label=action_label(last.action),
        first=first.created_at,
        last=last.created_at,
        events=len(events),
    )
    merged, cells, others = _changes(fmt, events)
    if grouped:
        row.summary = _edit_summary(cells, others)
    elif merged and last.action != "report.created":
        row.summary = f"{len(merged)} 项内容"
    row.summary = " ".join(s for s in (row.summary, _detail(fmt, last)) if s)
    listed = list(merged.items())[:MAX_LISTED]
    row.changes = [Change(place_label(fmt, ref), old, new) for ref, (old, new) in listed]
    row.more = len(merged) - len(listed)
    return row


def report_history(report: Report, *, limit: int = RECENT_EVENTS) -> tuple[list[AuditRow], bool]:
    """The report's recent events as rows, newest first, and whether older ones were left out.

    One query. Consecutive autosaves by one person on one day are one row.
    """
    events = list(report.audit_events.select_related("actor").order_by("-created_at", "-id")[: limit + 1])
    truncated = len(events) > limit
    events = events[:limit]
    events.reverse()  # oldest first, to merge old → new
    fmt = get_format(report.format)
    runs: list[list[AuditEvent]] = []
    for event in events:
        run = runs[-1] if runs else None
        if (
            run is not None
            and event.action in EDIT_ACTIONS
            and run[-1].action in EDIT_ACTIONS
            and event.actor_id == run[-1].actor_id
            and timezone.localtime(event.created_at).date() == timezone.localtime(run[-1].created_at).date()
        ):
            run.append(event)
        else:
            runs.append([event])
    rows = [_row(fmt, run, grouped=run[0].action in EDIT_ACTIONS) for run in runs]
    rows.reverse()
    return rows, truncated
