"""The rules' findings stored on the report after each write (ADR 0014).

The dashboard, its ``?problem=`` filter and the roll-ups read these columns;
nothing re-runs the rules on a read. ``manage.py refresh_findings`` derives
them all again (after a change of the rules, or on an existing database).

The hierarchy rules (ADR 0016) need the roll-up of a government's children:
whatever findings a caller hands in, they are derived here again with that
context, and a write to a child's report re-checks the parent government's
report after commit (the child's new state — approved, say — is its input).
"""

from __future__ import annotations

from django.db import transaction

from ..models import Organization, Report
from ..rules import RULES, Context, Finding, Severity

FINDING_FIELDS = ["error_count", "warning_count", "finding_rules"]
HIERARCHY_RULES = [code for code, item in RULES.items() if item.needs_rollup]


def finding_columns(findings: list[Finding]) -> dict:
    return {
        "error_count": sum(f.severity == Severity.ERROR for f in findings),
        "warning_count": sum(f.severity == Severity.WARNING for f in findings),
        "finding_rules": sorted({f.rule for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)}),
    }


def hierarchy_findings(report: Report, doc: dict | None = None) -> list[Finding]:
    """The hierarchy rules' findings for a report (none unless it covers its departments)."""
    from ..jurisdiction.rollup import hierarchy_input
    from ..selectors import export_report, report_queryset

    data = hierarchy_input(report)
    if data is None:
        return []
    if doc is None:
        doc = export_report(report_queryset().get(pk=report.pk))
    ctx = Context(doc, None, data)
    return [finding for code in HIERARCHY_RULES for finding in RULES[code].run(ctx)]


def with_hierarchy(report: Report, findings: list[Finding], doc: dict | None = None) -> list[Finding]:
    """``findings`` with the hierarchy rules' own, derived with the database's context."""
    own = [f for f in findings if f.rule not in HIERARCHY_RULES]
    return own + hierarchy_findings(report, doc)


def store_findings(report: Report, findings: list[Finding] | None = None, doc: dict | None = None) -> Report:
    """Check the stored report (or take the caller's findings) and store the counts.

    An UPDATE of these columns alone: it neither bumps the version nor touches
    ``updated_at``, so it never reads as an edit.
    """
    from ..selectors import check_report

    if findings is None:
        findings = check_report(report, doc)
    findings = with_hierarchy(report, findings, doc)
    columns = finding_columns(findings)
    if any(getattr(report, name) != value for name, value in columns.items()):
        Report.objects.filter(pk=report.pk).update(**columns)
        for name, value in columns.items():
            setattr(report, name, value)
    _recheck_parent_on_commit(report)
    return report


def _recheck_parent_on_commit(report: Report) -> None:
    """A child's report is an input of its parent government's roll-up check."""
    parent_id = report.organization.parent_id if report.organization_id else None
    if parent_id is None:
        return
    year = report.year

    def recheck() -> None:
        store_parent_findings(parent_id, year)

    transaction.on_commit(recheck, robust=True)


def store_parent_findings(organization_id: int, year: int) -> None:
    """Re-store the findings of a government's report when it covers its departments."""
    parent = (
        Report.objects.select_related("organization")
        .filter(
            organization_id=organization_id,
            year=year,
            organization__kind=Organization.Kind.GOVERNMENT,
            organization__report_scope=Organization.Scope.ROLLUP,
        )
        .first()
    )
    if parent is not None:
        _store_own(parent)


def _store_own(report: Report) -> None:
    from ..selectors import check_report

    columns = finding_columns(with_hierarchy(report, check_report(report)))
    if any(getattr(report, name) != value for name, value in columns.items()):
        Report.objects.filter(pk=report.pk).update(**columns)


def store_organization_findings(organization: Organization) -> None:
    """After a change of what an organization's reports cover: check them all again."""
    for report in Report.objects.select_related("organization").filter(organization=organization):
        _store_own(report)


def store_next_year_findings(report: Report) -> None:
    """Next year's report is checked against this one's publication: check it again."""
    following = Report.objects.select_related("organization").filter(
        organization_id=report.organization_id, year=report.year + 1
    )
    for other in following:
        store_findings(other)
