"""The rules' findings stored on the report after each write (ADR 0014).

The dashboard, its ``?problem=`` filter and the roll-ups read these columns;
nothing re-runs the rules on a read. ``manage.py refresh_findings`` derives
them all again (after a change of the rules, or on an existing database).

The hierarchy rules (ADR 0016) need the roll-up of a government's children:
whatever findings a caller hands in, they are derived here again with that
context, and a write to a child's report re-checks the parent government's
report after commit (the child's new state — approved, say — is its input).
Inside ``parent_checks_once()`` (``manage.py refresh_findings``) those re-checks
wait for the end of the block and each parent is checked once.

The outlier checks' figures (``CellFigure``) are stored here too: a report's
own, and next year's, whose history test compares with this one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

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


def store_findings(
    report: Report, findings: list[Finding] | None = None, doc: dict | None = None, *, figures: bool = True
) -> Report:
    """Check the stored report (or take the caller's findings) and store the counts,
    and (unless ``figures`` is False: the caller derives them in bulk) the outlier figures.

    An UPDATE of these columns alone: it neither bumps the version nor touches
    ``updated_at``, so it never reads as an edit.
    """
    from ..selectors import check_report

    if findings is None:
        findings = check_report(report, doc)  # with the hierarchy rules' context already
    else:
        findings = with_hierarchy(report, findings, doc)
    columns = finding_columns(findings)
    if any(getattr(report, name) != value for name, value in columns.items()):
        Report.objects.filter(pk=report.pk).update(**columns)
        for name, value in columns.items():
            setattr(report, name, value)
    if figures:
        store_report_figures(report)
    pending = _pending()
    if pending is not None:
        # Checked just now with its children as they are: no need to check it again at the end.
        pending.discard((report.organization_id, report.year))
    recheck_covering_governments(report)
    return report


def store_report_figures(report: Report) -> None:
    """The outlier figures of this report, and of next year's (its history test reads this one)."""
    from ..jurisdiction.quality import store_figures

    following = Report.objects.filter(organization_id=report.organization_id, year=report.year + 1)
    store_figures([report.pk, *following.values_list("pk", flat=True)])


def refresh_figures(year: int | None = None, chunk: int = 500) -> int:
    """Derive the outlier figures of every report (or one year's and the next year's,
    which compare with it) again; returns the figures stored."""
    from ..jurisdiction.quality import store_figures

    reports = Report.objects.order_by("pk")
    if year is not None:
        reports = reports.filter(year__in=[year, year + 1])
    ids = list(reports.values_list("pk", flat=True))
    return sum(store_figures(ids[i : i + chunk]) for i in range(0, len(ids), chunk))


# Parent re-checks deferred to the end of a parent_checks_once() block (per thread).
_batch = threading.local()


def _pending() -> set[tuple[int, int]] | None:
    return getattr(_batch, "pending", None)


@contextmanager
def parent_checks_once() -> Iterator[None]:
    """Store many reports' findings and check each parent government's report once, at the end.

    Without it every child's store re-checks its parent (right away outside a
    transaction): a 汇总 government with fifty departments would be checked
    fifty times by ``refresh_findings``. A parent stored itself after its last
    child needs no check at the end.
    """
    if _pending() is not None:  # nested: the outer block checks them
        yield
        return
    _batch.pending = pending = set()
    try:
        yield
    finally:
        _batch.pending = None
    for organization_id, year in sorted(pending):
        store_parent_findings(organization_id, year)


def recheck_covering_governments(report: Report) -> None:
    """A report is an input of the nearest 汇总 government above it (reached through
    lower governments on 本级): that government's roll-up check is stored again."""
    if not report.organization_id or report.organization.parent_id is None:
        return
    from ..jurisdiction.rollup import covering_government_ids

    year = report.year
    pending = _pending()
    for government_id in covering_government_ids(report.organization):
        if pending is not None:
            pending.add((government_id, year))
            continue
        transaction.on_commit(lambda pk=government_id: store_parent_findings(pk, year), robust=True)


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

    columns = finding_columns(check_report(report))  # the hierarchy rules run with their context
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
