"""Audit events as people read them (disclosure/audit.py): every action the code
records has a Chinese label, found by scanning the source, so a new action without
one fails here; and a report's 操作记录 folds a run of autosaves into one row."""

import ast
import datetime as dt
import re
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from disclosure import audit
from disclosure.formats import get_format
from disclosure.models import AuditEvent
from disclosure.services import add_comment, record_event, save_edits
from disclosure.workflow import Action

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parent.parent
SCANNED = [ROOT / "disclosure", ROOT / "accounts"]
DOTTED = re.compile(r"^[a-z_]+\.[a-z_]+$")
# What an f-string action stands for; a new f-string action must be listed here.
EXPANSIONS = {
    "report.{}": lambda tree_values: [f"report.{a.value}" for a in Action],
    "account.password_{}": lambda tree_values: [f"account.password_{how}" for how in tree_values["how"]],
}


def _python_files():
    for folder in SCANNED:
        for path in folder.rglob("*.py"):
            if "migrations" not in path.parts:
                yield path


def _pattern(node: ast.JoinedStr) -> str:
    return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)


def recorded_actions() -> tuple[set[str], set[str]]:
    """(literal actions, f-string patterns) the code records: record_event's first
    argument, any ``action=`` keyword and any ``action`` parameter's default."""
    literals: set[str] = set()
    patterns: set[str] = set()

    def take(node) -> None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and DOTTED.match(node.value):
            literals.add(node.value)
        elif isinstance(node, ast.JoinedStr):
            patterns.add(_pattern(node))

    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name == "record_event" and node.args:
                    take(node.args[0])
                for keyword in node.keywords:
                    if keyword.arg == "action":
                        take(keyword.value)
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                args = node.args.args + node.args.kwonlyargs
                defaults = [None] * (len(node.args.args) - len(node.args.defaults)) + list(node.args.defaults)
                defaults += list(node.args.kw_defaults)
                for arg, default in zip(args, defaults, strict=True):
                    if arg.arg == "action" and default is not None:
                        take(default)
    return literals, patterns


def _keyword_values(name: str) -> set[str]:
    """Every string literal passed as keyword ``name`` anywhere in the scanned code."""
    found = set()
    for path in _python_files():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == name and isinstance(node.value, ast.Constant):
                if isinstance(node.value.value, str):
                    found.add(node.value.value)
    return found


def test_it_has_a_chinese_label_for_every_action_the_code_records():
    literals, patterns = recorded_actions()
    # The scan finds what it is meant to (a scan finding nothing would pass anything).
    assert {"report.saved", "report.imported", "comment.added", "job.failed", "report.no_applications"} <= literals
    assert set(EXPANSIONS) <= patterns
    unknown_patterns = patterns - set(EXPANSIONS)
    assert not unknown_patterns, f"list what these f-string actions stand for in EXPANSIONS: {unknown_patterns}"
    values = {"how": _keyword_values("how")}
    assert values["how"] >= {"change", "reset"}
    actions = literals | {a for p in patterns for a in EXPANSIONS[p](values)}
    missing = sorted(a for a in actions if a not in audit.ACTION_LABELS)
    assert not missing, f"give these audit actions a Chinese label in disclosure/audit.py: {missing}"
    for action in actions:
        label = audit.action_label(action)
        assert re.search(r"[\u4e00-\u9fff]", label) and not re.search(r"[a-z]", label), (action, label)


def test_it_never_shows_the_code_of_an_action_it_does_not_know():
    assert audit.action_label("report.something_new") == audit.FALLBACK_LABEL
    assert "something_new" not in audit.FALLBACK_LABEL


def _editable_cells(report, n: int) -> list[str]:
    fmt = get_format(report.format)
    refs = [c.ref for c in fmt.cells() if c.section == "applications" and not c.computed]
    assert len(refs) >= n
    return refs[:n]


def test_it_folds_a_run_of_autosaves_by_one_person_into_one_row(world, report):
    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    clerk.first_name = "张填报"
    clerk.save()
    refs = _editable_cells(report, 14)
    for i, ref in enumerate(refs[:12]):
        report.refresh_from_db()
        result = save_edits(report, actor=clerk, expected_version=report.version, cells={ref: str(1000 + i)})
        assert result.changes, ref
    add_comment(report, actor=reviewer, anchor=refs[0], body="请核对这一项")
    for i, ref in enumerate(refs[12:]):
        report.refresh_from_db()
        save_edits(report, actor=clerk, expected_version=report.version, cells={ref: str(2000 + i)})
    rows, truncated = audit.report_history(report)
    assert not truncated
    # Newest first: two edits, the comment, twelve edits as one row, the import.
    assert [(r.label, r.events) for r in rows] == [
        ("编辑了报告", 2),
        ("添加了意见", 1),
        ("编辑了报告", 12),
        ("导入了报告", 1),
    ]
    twelve = rows[2]
    assert twelve.actor == "张填报"
    assert twelve.summary == "编辑了 12 个单元格"
    fmt = get_format(report.format)
    assert [c.label for c in twelve.changes] == ["表三" + fmt.label_of(ref) for ref in refs[:12]]
    assert [c.new for c in twelve.changes] == [1000 + i for i in range(12)]
    assert rows[1].summary.startswith("表三" + fmt.label_of(refs[0]) + "：请核对")


def test_it_gives_a_run_its_time_span(world, report):
    clerk = world.users["owner_clerk"]
    refs = _editable_cells(report, 3)
    # Yesterday: before the import that made the report, whatever the hour now.
    start = (timezone.localtime() - dt.timedelta(days=1)).replace(hour=14, minute=2, second=0, microsecond=0)
    for i, ref in enumerate(refs):
        report.refresh_from_db()
        event = save_edits(report, actor=clerk, expected_version=report.version, cells={ref: str(3000 + i)}).event
        # Written once: only a queryset update can put the run at known times.
        AuditEvent.objects.filter(pk=event.pk).update(created_at=start + dt.timedelta(minutes=[0, 11, 23][i]))
    rows = audit.report_history(report)[0]
    assert [r.label for r in rows] == ["导入了报告", "编辑了报告"]
    row = rows[1]
    assert (row.events, row.span) == (3, "14:02–14:25")
    assert row.when == f"{start:%Y-%m-%d} 14:02–14:25"


def test_it_lists_the_report_history_in_chinese_on_the_review_page(world, report):
    clerk = world.users["owner_clerk"]
    refs = _editable_cells(report, 3)
    for i, ref in enumerate(refs):
        report.refresh_from_db()
        save_edits(report, actor=clerk, expected_version=report.version, cells={ref: str(4000 + i)})
    record_event("report.something_new", actor=clerk, report=report)
    page = world.client("office_reviewer").get(reverse("review:report", args=["test-org", report.year]))
    assert page.status_code == 200
    history = page.text[page.text.index('id="history"') : page.text.index("</table>", page.text.index('id="history"'))]
    assert "编辑了 3 个单元格" in history
    assert "<details>" in history
    fmt = get_format(report.format)
    for ref in refs:
        assert "表三" + fmt.label_of(ref) in history
    assert audit.FALLBACK_LABEL in history and "导入了报告" in history
    assert not re.findall(r"\b[a-z_]+\.[a-z_]+", history), re.findall(r"\b[a-z_]+\.[a-z_]+", history)
