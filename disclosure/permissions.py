"""Who may see and do what. Every view asks here; nothing else decides.

Roles relative to a report: its office's clerks (填报人) and reviewers
(本单位审核人), and supervisors (上级政务公开主管部门) at the office or any
organization above it. Anyone else gets 404, with no hint that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Organization, Report

Role = Membership.Role


def _memberships(user) -> list[Membership]:
    if not user.is_authenticated:
        return []
    cached = getattr(user, "_membership_cache", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).select_related("organization"))
        user._membership_cache = cached
    return cached


def ancestors(org: Organization) -> list[Organization]:
    """The organization and every one above it, nearest first."""
    chain, seen = [], set()
    while org is not None and org.pk not in seen:
        chain.append(org)
        seen.add(org.pk)
        org = org.parent
    return chain


def subtree_ids(roots: Iterable[int]) -> set[int]:
    """Ids of the given organizations and everything below them."""
    children: dict[int | None, list[int]] = {}
    for pk, parent in Organization.objects.values_list("id", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, stack = set(), list(roots)
    while stack:
        pk = stack.pop()
        if pk not in found:
            found.add(pk)
            stack.extend(children.get(pk, []))
    return found


def tree_order(roots: Iterable[Organization]) -> list[Organization]:
    """The given organizations and everything under them, parents before children."""
    children: dict[int | None, list[Organization]] = {}
    for org in Organization.objects.order_by("code"):
        children.setdefault(org.parent_id, []).append(org)
    out, seen, stack = [], set(), list(reversed(list(roots)))
    while stack:
        org = stack.pop()
        if org.pk in seen:
            continue
        seen.add(org.pk)
        out.append(org)
        stack.extend(reversed(children.get(org.pk, [])))
    return out


def roles_for(user, org: Organization) -> set[str]:
    roles = set()
    above = {o.pk for o in ancestors(org)}
    for m in _memberships(user):
        if m.organization_id == org.pk and m.role in (Role.CLERK, Role.REVIEWER):
            roles.add(m.role)
        if m.role == Role.SUPERVISOR and m.organization_id in above:
            roles.add(Role.SUPERVISOR)
    return roles


def clerk_organizations(user) -> QuerySet[Organization]:
    """Organizations whose reports this user writes."""
    ids = [m.organization_id for m in _memberships(user) if m.role == Role.CLERK]
    return Organization.objects.filter(pk__in=ids)


def review_scope(user) -> set[int]:
    """Ids of the organizations whose reports this user reviews."""
    reviewer = {m.organization_id for m in _memberships(user) if m.role == Role.REVIEWER}
    supervised = subtree_ids(m.organization_id for m in _memberships(user) if m.role == Role.SUPERVISOR)
    return reviewer | supervised


def _get_report(org_code: str, year: int) -> Report:
    report = (
        Report.objects.select_related("organization__parent").filter(organization__code=org_code, year=year).first()
    )
    if report is None:
        raise Http404("没有找到这份报告。")
    return report


def clerk_report(user, org_code: str, year: int) -> Report:
    """The report a clerk works on; 404 for everyone else."""
    report = _get_report(org_code, year)
    if Role.CLERK not in roles_for(user, report.organization):
        raise Http404("没有找到这份报告。")
    return report


def visible_report(user, org_code: str, year: int) -> tuple[Report, set[str]]:
    """A report anyone with a role on it may see (review pages), with those roles."""
    report = _get_report(org_code, year)
    roles = roles_for(user, report.organization)
    if not roles:
        raise Http404("没有找到这份报告。")
    return report, roles


def clerk_organization(user, org_code: str) -> Organization:
    org = clerk_organizations(user).filter(code=org_code).first()
    if org is None:
        raise Http404("没有找到这个机关。")
    return org
