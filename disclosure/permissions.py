"""Who may see and edit what. Every view asks here; nothing else decides."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from .models import Membership, Organization, Report


def clerk_organizations(user) -> QuerySet[Organization]:
    """Organizations whose reports this user writes."""
    if not user.is_authenticated:
        return Organization.objects.none()
    return Organization.objects.filter(memberships__user=user, memberships__role=Membership.Role.CLERK).distinct()


def clerk_report(user, org_code: str, year: int) -> Report:
    """The report a clerk works on; 404 for everyone else (no hint that it exists)."""
    report = (
        Report.objects.select_related("organization")
        .filter(organization__code=org_code, year=year, organization__in=clerk_organizations(user))
        .first()
    )
    if report is None:
        raise Http404("没有找到这份报告。")
    return report


def clerk_organization(user, org_code: str) -> Organization:
    org = clerk_organizations(user).filter(code=org_code).first()
    if org is None:
        raise Http404("没有找到这个机关。")
    return org
