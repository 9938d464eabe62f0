"""E-mail notifications of workflow events, and deadline reminders."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mass_mail
from django.urls import reverse

from .models import Membership, Organization, Report
from .permissions import ancestors
from .selectors import authors
from .services import default_title

R = Membership.Role


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


def after_transition(report: Report, action: str, actor, comment: str = "") -> int:
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
            f"{who}退回了{name}，意见如下：\n\n{comment}\n\n请修改后重新提交：\n{work_url}\n",
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
        return 0
    find_recipients, subject, body = messages[action]
    recipients = find_recipients()
    if not recipients:
        return 0
    return send_mass_mail([(subject, body, settings.DEFAULT_FROM_EMAIL, [r]) for r in recipients])
