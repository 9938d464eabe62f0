"""The review workflow as an explicit state machine.

draft → submitted → (returned → submitted …) → approved → published; a
published report is corrected by drafting it again (its publications stay
public) and going through review once more. Every transition runs in one
transaction through ``transition``, which checks the actor's role, records
the audit row, freezes a revision where the statute's record needs one, and
queues the e-mails (a mail job). Repeating a transition that already happened
(a double-click) changes nothing.

Publishing is the one transition that takes long (the official PDF): the
action records a publish job on the approved report and returns; the job
(``jobs.publishing``) renders outside any lock and makes the report published
in one transaction with its publication (ADR 0009). "Publishing" is therefore
no state of its own but an approved report with an active publish job.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max

from . import selectors
from .calendar import future_issue_date_message, today
from .interchange import dumps
from .jurisdiction.rollup import FINAL_STATUSES as ROLLUP_INPUT_STATUSES
from .models import Job, Membership, Publication, Report, Revision
from .permissions import roles_for
from .portal import published as portal
from .rules import Finding, Severity
from .selectors import check_report, export_report
from .services import User, add_comment, record_event, valid_anchor
from .services.findings import recheck_covering_governments, store_findings, store_next_year_findings

S = Report.Status
R = Membership.Role


class Action(StrEnum):
    SUBMIT = "submit"
    WITHDRAW = "withdraw"
    RETURN = "return"
    APPROVE = "approve"
    PUBLISH = "publish"
    CORRECT = "correct"


ACTION_LABELS = {
    Action.SUBMIT: "提交审核",
    Action.WITHDRAW: "撤回",
    Action.RETURN: "退回修改",
    Action.APPROVE: "审核通过",
    Action.PUBLISH: "发布",
    Action.CORRECT: "申请更正",
}


@dataclass(frozen=True)
class Transition:
    sources: frozenset[str]
    target: str
    roles: frozenset[str]


TRANSITIONS: dict[Action, Transition] = {
    Action.SUBMIT: Transition(frozenset({S.DRAFT, S.RETURNED}), S.SUBMITTED, frozenset({R.CLERK})),
    Action.WITHDRAW: Transition(frozenset({S.SUBMITTED}), S.DRAFT, frozenset({R.CLERK})),
    Action.RETURN: Transition(frozenset({S.SUBMITTED, S.APPROVED}), S.RETURNED, frozenset({R.REVIEWER, R.SUPERVISOR})),
    Action.APPROVE: Transition(frozenset({S.SUBMITTED}), S.APPROVED, frozenset({R.REVIEWER, R.SUPERVISOR})),
    Action.PUBLISH: Transition(frozenset({S.APPROVED}), S.PUBLISHED, frozenset({R.REVIEWER, R.SUPERVISOR})),
    Action.CORRECT: Transition(frozenset({S.PUBLISHED}), S.DRAFT, frozenset({R.CLERK})),
}


class TransitionRefused(Exception):
    def __init__(self, message: str, code: str, findings: list[Finding] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.findings = findings or []


@dataclass
class Readiness:
    """What stands between a report and its submission or approval."""

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


def reviews_own_work(user, report: Report) -> bool:
    """Four eyes: whoever wrote or submitted a report since its last publication
    does not approve it, whatever roles they hold."""
    return (
        report.status == S.SUBMITTED
        and user is not None
        and user.is_authenticated
        and user.pk in selectors.authors(report)
    )


def publishing_job(report: Report) -> Job | None:
    """The publish job under way for this report, if any (the report shows as 发布中)."""
    if report.status != S.APPROVED:
        return None
    return report.jobs.filter(kind=Job.Kind.PUBLISH, status__in=Job.ACTIVE).first()


def allowed_actions(user, report: Report) -> list[Action]:
    """The actions this user may take on the report now (for buttons)."""
    roles = roles_for(user, report.organization)
    actions = [a for a, t in TRANSITIONS.items() if report.status in t.sources and roles & t.roles]
    if Action.APPROVE in actions and reviews_own_work(user, report):
        actions.remove(Action.APPROVE)
    if Action.PUBLISH in actions and publishing_job(report) is not None:
        actions.remove(Action.PUBLISH)  # under way already
    return actions


def _require_ready(report: Report, action: Action) -> None:
    # Rules run again at this moment: data may have changed since submission.
    findings = check_report(report)
    state = readiness(report, findings)
    verb = ACTION_LABELS[action]
    if state.errors:
        raise TransitionRefused(f"还有{len(state.errors)}项错误，改正后才能{verb}。", "errors", state.errors)
    if state.unexplained:
        raise TransitionRefused(
            f"还有{len(state.unexplained)}项警示未填写说明，不能{verb}。", "unexplained", state.unexplained
        )
    store_findings(report, findings)


def freeze(report: Report, event: str, actor: User | None, *, document: dict | None = None) -> Revision:
    """A revision of the report as it is (or as ``document``, exported from it at this version)."""
    number = (report.revisions.aggregate(n=Max("number"))["n"] or 0) + 1
    return Revision.objects.create(
        report=report,
        number=number,
        event=event,
        document=export_report(report) if document is None else document,
        actor=actor,
    )


def notify(report: Report, action: str, actor: User | None, comment: str = "") -> None:
    """Queue the e-mail about a transition (a job: nobody waits on the mail server)."""
    from . import jobs, notifications

    if action not in notifications.MAILED_ACTIONS:
        return
    jobs.submit(Job.Kind.MAIL, actor=actor, report=report, params={"action": str(action), "comment": comment})


def _request_publication(report: Report, actor: User | None) -> Report:
    """Record the publish job (on commit it is queued); the report stays approved until it is done."""
    from . import jobs

    if publishing_job(report) is not None:
        return report  # a double click, or a second reviewer: the job under way will publish
    job = jobs.submit(Job.Kind.PUBLISH, actor=actor, report=report, params={"version": report.version})
    record_event("report.publish_requested", actor=actor, report=report, version=report.version, job=str(job.pk))
    return report


def _publish_files(report: Report, revision: Revision, actor: User | None) -> Publication:
    """Render the official PDF and the JSON once; they are never rendered again."""
    from .pdf import render_pdf

    number = (report.publications.aggregate(n=Max("number"))["n"] or 0) + 1
    data = dumps(revision.document).encode("utf-8")
    pdf = render_pdf(revision.document)
    base = f"{report.organization.code}/{report.year}/r{number}"
    publication = Publication(
        report=report,
        number=number,
        revision=revision,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        data_sha256=hashlib.sha256(data).hexdigest(),
        published_by=actor,
    )
    publication.pdf.save(f"{base}.pdf", ContentFile(pdf), save=False)
    publication.data.save(f"{base}.json", ContentFile(data), save=False)
    publication.save()
    # Next year's report is checked against this publication now; the statistics changed.
    store_next_year_findings(report)
    transaction.on_commit(portal.forget_statistics, robust=True)
    return publication


@transaction.atomic
def transition(report: Report, action: Action, *, actor: User | None, comment: str = "", anchor: str = "") -> Report:
    report = Report.objects.select_for_update(of=("self",)).select_related("organization__parent").get(pk=report.pk)
    rule = TRANSITIONS[action]
    if actor is not None and not roles_for(actor, report.organization) & rule.roles:
        raise TransitionRefused(f"您没有权限{ACTION_LABELS[action]}这份报告。", "forbidden")
    if action == Action.RETURN and anchor and not valid_anchor(report, anchor):
        anchor = "report"
    if report.status not in rule.sources:
        if report.status == rule.target:
            if action == Action.RETURN and comment.strip():
                # Returned already (another reviewer, a double click): the comment still counts.
                add_comment(report, actor=actor, anchor=anchor or "report", body=comment)
            return report  # already done: a repeated click changes nothing
        raise TransitionRefused(
            f"报告当前状态为“{report.get_status_display()}”，不能{ACTION_LABELS[action]}。", "invalid_state"
        )
    if action == Action.RETURN and not comment.strip():
        raise TransitionRefused("退回修改须写明意见。", "comment_required")
    if action == Action.APPROVE and reviews_own_work(actor, report):
        raise TransitionRefused("您参与了这份报告的填报或提交，须由其他审核人审核通过。", "own_work")
    if action in (Action.SUBMIT, Action.APPROVE):
        _require_ready(report, action)
    if action == Action.PUBLISH:
        if report.issued_on is not None and report.issued_on > today():
            # Approved earlier with a date still ahead: nothing is published before it is written.
            raise TransitionRefused(future_issue_date_message(report.issued_on), "issued_in_future")
        return _request_publication(report, actor)

    old = report.status
    report.status = rule.target
    report.version += 1
    report.save()
    if (old in ROLLUP_INPUT_STATUSES) != (rule.target in ROLLUP_INPUT_STATUSES):
        # Returned after approval, or reopened for correction: the report leaves (or joins)
        # the inputs of the 汇总 government above, whose stored counts are checked again.
        recheck_covering_governments(report)
    details: dict = {}
    if action == Action.SUBMIT:
        details["revision"] = freeze(report, Revision.Event.SUBMISSION, actor).number
    elif action == Action.RETURN:
        details["comment"] = add_comment(report, actor=actor, anchor=anchor or "report", body=comment).pk
    record_event(
        f"report.{action}",
        actor=actor,
        report=report,
        version=report.version,
        changes={"status": [old, rule.target]},
        **details,
    )
    # Sent by a job after commit: a mail server that is down or silent never holds the transition.
    notify(report, action, actor, comment)
    return report


@transaction.atomic
def publish_imported(report: Report, *, actor: User | None = None) -> Publication:
    """A report already published elsewhere (an import of past years) becomes a
    publication here: frozen, rendered and stored once, like any other."""
    report = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
    if report.status != S.PUBLISHED:
        raise TransitionRefused("只有已发布的报告才能登记为公开版本。", "invalid_state")
    latest = report.publications.order_by("-number").first()
    if latest is not None and latest.revision.document == export_report(report):
        return latest  # re-importing the same document publishes nothing new
    revision = freeze(report, Revision.Event.PUBLICATION, actor)
    publication = _publish_files(report, revision, actor)
    transaction.on_commit(lambda: portal.forget(report.organization.code, report.year), robust=True)
    record_event(
        "report.publish_imported",
        actor=actor,
        report=report,
        revision=revision.number,
        publication=publication.number,
        pdf_sha256=publication.pdf_sha256,
    )
    return publication
