"""从下级汇总填入: a government's clerk takes roll-up figures into its report (issue 15, ADR 0016).

Suggestions only: the clerk picks the cells (or a whole table) on a page
showing its figure beside the roll-up's; the figures are written through
``editing.save_edits`` (compare-and-set against what the clerk saw, versions,
audit) and the roll-up they came from is recorded as an audit event of its
own. And who may choose what a government's report covers (本级 or 汇总).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction

from .. import formats as reg
from .. import permissions
from ..errors import CodedError
from ..jurisdiction.rollup import (
    CHILDREN,
    Rollup,
    build_rollup,
    covering_government_ids,
    covers_departments,
    display_value,
    in_unit,
)
from ..models import Membership, Organization, Report
from .core import EDITABLE_STATUSES, User, record_event
from .editing import NotEditable, SaveResult, save_edits
from .findings import store_organization_findings


class RollupRefused(CodedError):
    """A fill or a change of report scope refused."""


@dataclass
class FillResult:
    save: SaveResult | None
    written: list[str] = field(default_factory=list)  # refs whose roll-up figure is now in the report
    changed: dict[str, str] = field(default_factory=dict)  # ref -> the roll-up's figure now (not the one shown)
    unavailable: list[str] = field(default_factory=list)  # refs the roll-up cannot fill (blank inputs, computed)


def offerable(rollup: Rollup, unit: str | None = None) -> dict[str, str]:
    """The figures the roll-up can suggest: cells a clerk writes, summed with no blank input.

    ``unit``: the amount unit the receiving report states (2019 format), when not the default.
    """
    out = {}
    for spec in rollup.fmt.cells():
        if spec.computed or not rollup.cells[spec.ref].complete:
            continue
        value = rollup.value(spec.ref)
        if spec.kind == reg.CellKind.AMOUNT:
            value = in_unit(value, unit)  # exactly: a sum is never rounded
        out[spec.ref] = display_value(rollup.fmt, spec.ref, value)
    return out


def report_unit(report: Report) -> str | None:
    return report.procurement_unit if report.spec.unit_table is not None else None


def may_see_drafts(user: User | None, organization: Organization) -> bool:
    """Sums of unapproved reports are for the supervisors of the organizations summed,
    not for a government's clerk as such (they would show children's drafts)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return Membership.Role.SUPERVISOR in permissions.roles_for(user, organization)


def require_rollup_report(report: Report) -> None:
    org = report.organization
    if not covers_departments(org):
        raise RollupRefused(
            "本机关的报告范围为“本级”，不从下级汇总填入。",
            code="not_rollup_scope",
            params={"organization": org.code},
        )
    if report.status not in EDITABLE_STATUSES:
        raise NotEditable(report)


@transaction.atomic
def fill_from_rollup(
    report: Report,
    *,
    actor: User | None,
    refs: list[str],
    shown: dict[str, str],
    bases: dict[str, str],
    drafts: bool = False,
) -> FillResult:
    """Write the roll-up's figures of ``refs`` into the report, as the clerk accepted them.

    ``shown`` is the roll-up figure the clerk saw per ref and ``bases`` the
    report's value beside it. The roll-up is read again here: a figure that
    changed since (a child's report was approved meanwhile) is not written but
    returned in ``changed``; a report value someone changed meanwhile is a
    conflict of save_edits. Nothing else is written.
    """
    report = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
    require_rollup_report(report)
    if drafts and not may_see_drafts(actor, report.organization):
        raise RollupRefused(
            "只有上级政务公开主管部门可以采用含未审核报告的汇总数。",
            code="drafts_not_allowed",
            params={"organization": report.organization.code},
        )
    rollup = build_rollup(report.organization, report.year, scope=CHILDREN, drafts=drafts, lists=False)
    figures = offerable(rollup, report_unit(report))
    result = FillResult(save=None)
    cells: dict[str, str] = {}
    for ref in dict.fromkeys(refs):
        if ref not in figures:
            result.unavailable.append(ref)
        elif shown.get(ref) != figures[ref]:
            result.changed[ref] = figures[ref]
        else:
            cells[ref] = figures[ref]
    if not cells:
        return result
    save = save_edits(
        report,
        actor=actor,
        bases={ref: bases.get(ref, "") for ref in cells},
        cells=cells,
        action="report.filled_from_rollup",
    )
    result.save = save
    result.written = [ref for ref in cells if ref not in save.conflicts and ref not in save.errors]
    record_event(
        "report.rollup_accepted",
        actor=actor,
        report=save.report,
        version=save.report.version,
        scope=CHILDREN,
        drafts=drafts,
        inputs=rollup.inputs,
        missing=rollup.counts["missing"],
        pending=rollup.counts["pending"],
        cells=result.written,
        changed=sorted(result.changed),
        conflicts=sorted(save.conflicts),
    )
    return result


@transaction.atomic
def set_report_scope(organization: Organization, scope: str, *, actor: User | None) -> Organization:
    """What a government's report covers: 本级, or 本级及所属部门汇总 (then the hierarchy rules apply)."""
    if scope not in Organization.Scope.values:
        raise RollupRefused("报告范围无效。", code="bad_scope", params={"scope": scope})
    organization = Organization.objects.select_for_update().get(pk=organization.pk)
    if scope == Organization.Scope.ROLLUP and organization.kind != Organization.Kind.GOVERNMENT:
        raise RollupRefused(
            "只有人民政府的报告可以汇总所属部门。", code="not_government", params={"organization": organization.code}
        )
    old = organization.report_scope
    if old == scope:
        return organization
    organization.report_scope = scope
    organization.save()
    record_event(
        "organization.report_scope",
        actor=actor,
        organization=organization,
        changes={"report_scope": [old, scope]},
    )
    # The hierarchy rules now apply (or no longer do): the stored counts follow. So do
    # those of the 汇总 government above, whose inputs change with this scope.
    store_organization_findings(organization)
    for above in Organization.objects.filter(pk__in=covering_government_ids(organization)):
        store_organization_findings(above)
    # The public comparison counts a 汇总 government's report instead of its subtree.
    from ..portal.published import forget_statistics  # the portal imports the services

    transaction.on_commit(forget_statistics, robust=True)
    return organization
