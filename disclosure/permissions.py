"""Who may see and do what. Every view asks here; nothing else decides.

Roles relative to a report: its office's clerks (填报人) and reviewers
(本单位审核人), and supervisors (上级政务公开主管部门) at the office or any
organization above it. Anyone else gets 404, with no hint that it exists.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet
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


def subtree_q(roots: Iterable[Organization], prefix: str = "") -> Q:
    """Matches the given organizations and everything below them, by path prefix
    (``prefix`` reaches the organization through a relation, e.g. "organization__")."""
    q = Q(**{f"{prefix}pk__in": []})
    for root in roots:
        # An unsaved path would match everything: then the organization alone.
        q |= Q(**{f"{prefix}path__startswith": root.path}) if root.path else Q(**{f"{prefix}pk": root.pk})
    return q


def subtree_ids(roots: Iterable[int]) -> set[int]:
    """Ids of the given organizations and everything below them."""
    tops = list(Organization.objects.filter(pk__in=list(roots)).only("path"))
    if not tops:
        return set()
    return set(Organization.objects.filter(subtree_q(tops)).values_list("pk", flat=True))


def tops(orgs: Iterable[Organization]) -> list[Organization]:
    """The given organizations without those inside another one's subtree."""
    kept: list[Organization] = []
    # Sorted by path, a subtree is contiguous: compare with the last one kept only.
    for org in sorted(orgs, key=lambda o: o.path):
        if not (kept and org.path and org.path.startswith(kept[-1].path)):
            kept.append(org)
    return kept


def tree_order(roots: Iterable[Organization]) -> list[Organization]:
    """The given organizations and everything under them, parents before children."""
    roots = list(roots)
    children: dict[int | None, list[Organization]] = {}
    # Only the subtrees asked for: a district's workbook reads its district, not the province.
    for org in Organization.objects.filter(subtree_q(tops(roots))).order_by("code"):
        children.setdefault(org.parent_id, []).append(org)
    out, seen, stack = [], set(), list(reversed(roots))
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
    # The path names every organization above; no walk up the parents.
    above = set(org.ancestor_ids) if org.path else {o.pk for o in ancestors(org)}
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


def scope_roots(user) -> list[Organization]:
    """The tops of what this user reviews: supervised organizations and reviewed offices,
    without those inside another one's subtree, ordered by path."""
    orgs = {m.organization_id: m.organization for m in _memberships(user) if m.role in (Role.SUPERVISOR, Role.REVIEWER)}
    supervised = [m.organization for m in _memberships(user) if m.role == Role.SUPERVISOR]
    roots = [
        org
        for org in orgs.values()
        if not any(top.pk != org.pk and org.path.startswith(top.path) for top in supervised)
    ]
    return sorted(roots, key=lambda o: o.path)


def review_scope_q(user, prefix: str = "") -> Q:
    """Matches the organizations whose reports this user reviews (no query of its own)."""
    reviewer = [m.organization_id for m in _memberships(user) if m.role == Role.REVIEWER]
    supervised = [m.organization for m in _memberships(user) if m.role == Role.SUPERVISOR]
    return Q(**{f"{prefix}pk__in": reviewer}) | subtree_q(supervised, prefix)


def review_scope(user) -> set[int]:
    """Ids of the organizations whose reports this user reviews."""
    if not any(m.role in (Role.SUPERVISOR, Role.REVIEWER) for m in _memberships(user)):
        return set()
    return set(Organization.objects.filter(review_scope_q(user)).values_list("pk", flat=True))


def in_review_scope(user, org: Organization) -> bool:
    """Whether this user reviews the organization's reports (no query)."""
    return any(
        m.organization_id == org.pk
        and m.role == Role.REVIEWER
        or m.role == Role.SUPERVISOR
        and org.path.startswith(m.organization.path)
        for m in _memberships(user)
    )


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


REVIEWING_ROLES = frozenset({Role.REVIEWER, Role.SUPERVISOR})


def reviewing_people(org: Organization, user_ids: Iterable[int]) -> set[int]:
    """Which of these people review the organization's reports (its reviewers, supervisors
    above it): one query whatever their number."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids:
        return set()
    above = set(org.ancestor_ids) if org.path else {o.pk for o in ancestors(org)}
    return set(
        Membership.objects.filter(user_id__in=ids)
        .filter(Q(role=Role.REVIEWER, organization_id=org.pk) | Q(role=Role.SUPERVISOR, organization_id__in=above))
        .values_list("user_id", flat=True)
    )


def may_resolve_comment(user, comment, *, roles: set[str], by_reviewer: bool) -> bool:
    """Whether ``user`` (with ``roles`` on the report) may mark ``comment`` resolved.

    A reviewer's comment (``by_reviewer``: its author reviews this office, or the
    system wrote it) is settled by its author or by a reviewer or supervisor of the
    office, never by the clerk it is addressed to (who may still reply). Anyone with
    a role on the report may resolve a clerk's own note."""
    if not roles:
        return False
    if comment.author_id is not None and comment.author_id == user.pk:
        return True
    if by_reviewer or comment.author_id is None:
        return bool(roles & REVIEWING_ROLES)
    return True


def has_role(user, role: str) -> bool:
    """Whether the user holds ``role`` anywhere (no query once memberships are read)."""
    return any(m.role == role for m in _memberships(user))
