"""The rules' findings stored on the report after each write (ADR 0014).

The dashboard, its ``?problem=`` filter and the roll-ups read these columns;
nothing re-runs the rules on a read. ``manage.py refresh_findings`` derives
them all again (after a change of the rules, or on an existing database).
"""

from __future__ import annotations

from ..models import Report
from ..rules import Finding, Severity

FINDING_FIELDS = ["error_count", "warning_count", "finding_rules"]


def finding_columns(findings: list[Finding]) -> dict:
    return {
        "error_count": sum(f.severity == Severity.ERROR for f in findings),
        "warning_count": sum(f.severity == Severity.WARNING for f in findings),
        "finding_rules": sorted({f.rule for f in findings if f.severity in (Severity.ERROR, Severity.WARNING)}),
    }


def store_findings(report: Report, findings: list[Finding] | None = None, doc: dict | None = None) -> Report:
    """Check the stored report (or take the caller's findings) and store the counts.

    An UPDATE of these columns alone: it neither bumps the version nor touches
    ``updated_at``, so it never reads as an edit.
    """
    from ..selectors import check_report

    if findings is None:
        findings = check_report(report, doc)
    columns = finding_columns(findings)
    if any(getattr(report, name) != value for name, value in columns.items()):
        Report.objects.filter(pk=report.pk).update(**columns)
        for name, value in columns.items():
            setattr(report, name, value)
    return report


def store_next_year_findings(report: Report) -> None:
    """Next year's report is checked against this one's publication: check it again."""
    following = Report.objects.select_related("organization").filter(
        organization_id=report.organization_id, year=report.year + 1
    )
    for other in following:
        store_findings(other)
