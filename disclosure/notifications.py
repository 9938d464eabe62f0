"""E-mail notifications of workflow events, and deadline reminders.

This module only works out who gets which message; jobs send them
(``jobs.mail``), so no request waits on a mail server.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.urls import reverse

from .calendar import current_report_year, deadline
from .formats import REPORT_NAME
from .models import Membership, Organization, Report
from .permissions import ancestors
from .selectors import authors
from .services import default_title

R = Membership.Role
# (subject, body, sender, [recipient]), as send_mass_mail takes them.
Message = tuple[str, str, str, list[str]]


def _emails(org: Organization, role: str, exclude: frozenset[int] = frozenset()) -> list[str]:
    return sorted(
        {
            m.user.email
            for m in Membership.objects.filter(organization=org, role=role).select_related("user")
            if m.user.email and m.user_id not in exclude
        }
    )


def reviewers_of(org: Organization, *, exclude: frozenset[int] = frozenset()) -> list[str]:
    """The office's reviewers; where it has none (but the people in ``exclude``,
    who may not approve: they wrote the report), the nearest supervisors above."""
    found = _emails(org, R.REVIEWER, exclude)
    if found:
        return found
    for above in ancestors(org):
        found = _emails(above, R.SUPERVISOR, exclude)
        if found:
            return found
    return []


def clerks_of(org: Organization) -> list[str]:
    return _emails(org, R.CLERK)


def _link(path: str) -> str:
    return f"{getattr(settings, 'SITE_URL', '').rstrip('/')}{path}"


def _return_place(report: Report, actor, comment: str) -> str:
    """Where the return's comment sits, by its label (never its ref): "位置：…\n"."""
    from .audit import place_label

    found = (
        report.comments.filter(parent__isnull=True, body=comment.strip(), author=actor)
        .order_by("-created_at", "-id")
        .values_list("anchor", flat=True)
        .first()
    )
    return f"位置：{place_label(report.spec, found)}\n" if found else ""


MAILED_ACTIONS = frozenset({"submit", "return", "approve", "publish"})


def after_transition(report: Report, action: str, actor, comment: str = "") -> list[Message]:
    """The messages a transition sends: one per recipient."""
    name = report.title or default_title(report.organization_name or report.organization.name, report.year)
    who = (actor.get_full_name() or actor.get_username()) if actor is not None else "系统"
    review_url = _link(reverse("review:report", args=[report.organization.code, report.year]))
    work_url = _link(reverse("workspace:step", args=[report.organization.code, report.year, "basic"]))
    # Recipients are looked up only for the action taken.
    messages = {
        "submit": (
            lambda: reviewers_of(report.organization, exclude=frozenset(authors(report))),
            f"【待审核】{name}",
            f"{who}已提交{name}，请审核：\n{review_url}\n",
        ),
        "return": (
            lambda: clerks_of(report.organization),
            f"【退回修改】{name}",
            f"{who}退回了{name}，意见如下：\n\n{_return_place(report, actor, comment)}{comment}\n\n"
            f"请修改后重新提交：\n{work_url}\n",
        ),
        "approve": (
            lambda: clerks_of(report.organization),
            f"【审核通过】{name}",
            f"{who}已审核通过{name}。\n{review_url}\n",
        ),
        "publish": (
            lambda: clerks_of(report.organization),
            f"【已发布】{name}",
            f"{name}已由{who}发布。\n{review_url}\n",
        ),
    }
    if action not in messages:
        return []
    find_recipients, subject, body = messages[action]
    return [(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in find_recipients()]


NOT_SUBMITTED = {Report.Status.DRAFT, Report.Status.RETURNED}


@dataclass
class Reminders:
    messages: list[Message] = field(default_factory=list)
    offices: list[str] = field(default_factory=list)  # one line per office reminded


def deadline_reminders(*, days: int, today: dt.date, year: int | None = None) -> Reminders:
    """Clerks whose report is not submitted when the deadline is ``days`` away or past."""
    found = Reminders()
    orgs = Organization.objects.filter(memberships__role=R.CLERK).distinct().order_by("code")
    for org in orgs:
        # Governments report until 31 March, departments until 31 January.
        report_year = year or current_report_year(today, government_level=org.is_government)
        report = Report.objects.filter(organization=org, year=report_year).first()
        if report is not None and report.status not in NOT_SUBMITTED:
            continue
        due = deadline(report_year, government_level=org.is_government)
        days_left = (due - today).days
        if days_left > days:
            continue
        emails = clerks_of(org)
        when = f"还有{days_left}天" if days_left >= 0 else f"已逾期{-days_left}天"
        state = "尚未创建" if report is None else f"状态为“{report.get_status_display()}”"
        subject = f"【截止提醒】{org.name}{report_year}年度{REPORT_NAME}"
        body = (
            f"{org.name}{report_year}年度{REPORT_NAME}{state}。\n"
            f"截止日期为{due:%Y年%m月%d日}，{when}。请尽快完成填报并提交审核。\n"
        )
        found.messages += [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in emails]
        found.offices.append(f"{org.code} {org.name}：{state}，{when}，{len(emails)}位填报人")
    return found
