"""The review workflow as an explicit state machine (spec: issue "Review and publication").

Each transition runs in one transaction, through ``transition``, which
records the audit row. Repeating a transition that already happened (a
double-click) is a no-op, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from django.db import transaction

from .models import Report
from .rules import Finding, Severity
from .selectors import check_report
from .services import User, record_event

S = Report.Status


class Action(StrEnum):
    SUBMIT = "submit"


ACTION_LABELS = {Action.SUBMIT: "提交审核"}

# (from state, action) -> to state
TRANSITIONS: dict[tuple[str, Action], str] = {
    (S.DRAFT, Action.SUBMIT): S.SUBMITTED,
    (S.RETURNED, Action.SUBMIT): S.SUBMITTED,
}


class TransitionRefused(Exception):
    def __init__(self, message: str, code: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.findings = findings or []


@dataclass
class Readiness:
    """What stands between a report and its submission."""

    errors: list[Finding]
    unexplained: list[Finding]

    @property
    def ready(self) -> bool:
        return not self.errors and not self.unexplained


def readiness(report: Report, findings: list[Finding] | None = None) -> Readiness:
    findings = check_report(report) if findings is None else findings
    return Readiness(
        errors=[f for f in findings if f.severity == Severity.ERROR],
        unexplained=[
            f for f in findings if f.severity == Severity.WARNING and not report.explanations.get(f.key, "").strip()
        ],
    )


@transaction.atomic
def transition(report: Report, action: Action, *, actor: User | None) -> Report:
    report = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
    target = TRANSITIONS.get((report.status, action))
    if target is None:
        if any(to == report.status for (_, a), to in TRANSITIONS.items() if a == action):
            return report  # already done: a repeated click changes nothing
        raise TransitionRefused(
            f"报告当前状态为“{report.get_status_display()}”，不能{ACTION_LABELS[action]}。", code="invalid_state"
        )
    if action == Action.SUBMIT:
        state = readiness(report)
        if state.errors:
            raise TransitionRefused(
                f"还有{len(state.errors)}项错误，改正后才能提交。", code="errors", findings=state.errors
            )
        if state.unexplained:
            raise TransitionRefused(
                f"还有{len(state.unexplained)}项警示未填写说明。", code="unexplained", findings=state.unexplained
            )
    old = report.status
    report.status = target
    report.version += 1
    report.save()
    record_event(
        f"report.{action}",
        actor=actor,
        report=report,
        version=report.version,
        changes={"status": [old, target]},
    )
    return report
