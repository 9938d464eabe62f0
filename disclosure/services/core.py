"""Writes shared by every room: the audit trail, storing whole documents, creating reports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from .. import formats as reg
from ..formats.common import narrative_length_errors
from ..interchange import (
    MAX_AMOUNT_PLACES,
    InvalidDocument,
    canonicalize,
    cell_value,
    decimal_places,
    derive_totals,
    get_path,
    parse_amount,
    validate_document,
)
from ..models import (
    ActiveDisclosureRow,
    ApplicationRow,
    AuditEvent,
    NarrativePart,
    Organization,
    Report,
    ReviewRow,
)
from ..rules import RULES, Context, Finding, check_document
from ..selectors import export_report, previous_document
from .findings import store_findings, store_next_year_findings

User = AbstractBaseUser


def record_event(
    action: str,
    *,
    actor: User | None = None,
    report: Report | None = None,
    organization: Organization | None = None,
    **data: Any,
) -> AuditEvent:
    """The one way to write an audit row."""
    if organization is None and report is not None:
        organization = report.organization
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        report=report,
        organization=organization,
        data=data,
    )


def flatten(doc: dict) -> dict[str, Any]:
    """Every addressable value of a canonical document, by its ref (spec §7)."""
    fmt = reg.get_format(doc["format"])
    flat: dict[str, Any] = {
        "title": doc.get("title"),
        "issued_on": doc.get("issued_on"),
        "organization.name": doc["organization"]["name"],
    }
    for part in fmt.narrative:
        node = get_path(doc["narrative"], part.path)
        if part.has_amount and isinstance(node, dict):
            flat[part.ref] = node.get("text")
            flat[f"{part.ref}.amount_yuan"] = node.get("amount_yuan")
        else:
            flat[part.ref] = node
    if table := fmt.unit_table:
        flat[f"active_disclosure.{table.code}.unit"] = doc["active_disclosure"][table.code].get("unit")
    for spec in fmt.cells():
        flat[spec.ref] = cell_value(doc, spec)
    return flat


def diff_documents(old: dict | None, new: dict) -> dict[str, list[Any]]:
    """{ref: [old, new]} for every value that changed."""
    before = flatten(old) if old else {}
    after = flatten(new)
    return {
        ref: [before.get(ref), value]
        for ref, value in after.items()
        if before.get(ref) != value and not (ref not in before and value in (None, ""))
    }


def default_title(organization_name: str, year: int) -> str:
    return f"{organization_name}{year}年{reg.REPORT_NAME}"


def _ensure_storable(doc: dict) -> None:
    """Values the database cannot hold are refused whole, not half-imported."""
    bad = RULES["cells.integer"].run(Context(doc))
    if bad:
        raise InvalidDocument(
            [f.message for f in bad], code="cells", params={"cells": [c for f in bad for c in f.cells]}
        )
    # The same bounds as the editor's (ADR 0010): the largest allowed report renders in seconds.
    too_long = narrative_length_errors(doc)
    if too_long:
        fmt = reg.get_format(doc["format"])
        raise InvalidDocument(
            [message if ref == "narrative" else f"{fmt.label_of(ref)}：{message}" for ref, message in too_long.items()],
            code="narrative_too_long",
            params={"parts": sorted(too_long)},
        )
    from ..cells import MAX_AMOUNT, MAX_CELL_COUNT, MAX_COUNT

    fmt = reg.get_format(doc["format"])
    for spec in fmt.cells():
        value = cell_value(doc, spec)
        if value is None:
            continue
        label = fmt.label_of(spec.ref)
        if spec.kind == reg.CellKind.AMOUNT:
            amount = parse_amount(value)
            if decimal_places(amount) > MAX_AMOUNT_PLACES:
                raise InvalidDocument(
                    f"{label}“{value}”的小数超过{MAX_AMOUNT_PLACES}位，无法保存。",
                    code="amount_places",
                    params={"cell": spec.ref},
                )
            if amount > MAX_AMOUNT:
                raise InvalidDocument(f"{label}“{value}”过大，无法保存。", code="too_large", params={"cell": spec.ref})
        # The editor's bound for a typed count, so that no stored report is one its clerk cannot save again.
        elif abs(value) > (MAX_COUNT if spec.computed else MAX_CELL_COUNT):
            raise InvalidDocument(f"{label}“{value}”过大，无法保存。", code="too_large", params={"cell": spec.ref})


def _organization_for(data: dict, actor: User | None) -> Organization:
    org = Organization.objects.filter(code=data["code"]).first()
    if org is None:
        org = Organization.objects.create(name=data["name"], code=data["code"], kind=data["kind"])
        record_event("organization.created", actor=actor, organization=org, name=org.name, kind=org.kind)
    elif org.kind != data["kind"]:
        raise InvalidDocument(
            f"机关“{org.code}”登记为{org.get_kind_display()}，文档中为{data['kind']}。",
            code="organization_kind",
            params={"code": org.code},
        )
    return org


def _active_values(table: reg.SubTable, cells: dict) -> dict[str, Any]:
    """A table-二 row's document cells as model field values (amounts as decimals)."""
    return {
        c.code: parse_amount(cells[c.code]) if c.kind == reg.CellKind.AMOUNT else cells[c.code] for c in table.columns
    }


def _write_content(report: Report, doc: dict) -> None:
    """Replace the report's tables and narrative with the document's."""
    fmt = report.spec
    report.active_rows.all().delete()
    report.application_rows.all().delete()
    report.review_rows.all().delete()
    report.narrative_parts.all().delete()
    active = []
    for table in fmt.active_disclosure:
        for row in table.rows:
            values = _active_values(table, doc["active_disclosure"][table.code][row.code])
            active.append(ActiveDisclosureRow(report=report, subtable=table.code, row=row.code, **values))
    ActiveDisclosureRow.objects.bulk_create(active)
    ApplicationRow.objects.bulk_create(
        ApplicationRow(report=report, row=row.code, **doc["applications"][row.code]) for row in fmt.applications_rows
    )
    ReviewRow.objects.bulk_create(
        ReviewRow(report=report, block=block.code, **doc["reviews"][block.code]) for block in fmt.reviews_blocks
    )
    flat = flatten(doc)
    NarrativePart.objects.bulk_create(
        NarrativePart(report=report, path=part.path, text=flat.get(part.ref) or "") for part in fmt.narrative
    )


def _apply_header_from_doc(report: Report, doc: dict) -> None:
    report.organization_name = doc["organization"]["name"]
    report.title = doc["title"]
    report.issued_on = dt.date.fromisoformat(doc["issued_on"]) if doc["issued_on"] else None
    part = report.spec.fee_part
    fee = get_path(doc["narrative"], part.path) if part else None
    report.processing_fee_yuan = parse_amount(fee["amount_yuan"]) if isinstance(fee, dict) else None
    report.procurement_unit = report.spec.unit_of(doc) or reg.DEFAULT_PROCUREMENT_UNIT


@dataclass
class ImportResult:
    report: Report
    created: bool
    findings: list[Finding]


@transaction.atomic
def import_document(
    doc: dict,
    *,
    actor: User | None = None,
    replace: bool = False,
    status: str = Report.Status.DRAFT,
    only_editable: bool = False,
) -> ImportResult:
    """Store an interchange document as a report.

    Printed totals are kept as printed (a mismatch becomes a finding, never a
    silent correction); blank totals whose parts are all known are derived.
    """
    validate_document(doc)
    canonical = derive_totals(canonicalize(doc))
    _ensure_storable(canonical)
    org = _organization_for(canonical["organization"], actor)
    report = Report.objects.select_for_update().filter(organization=org, year=canonical["year"]).first()
    created = report is None
    if not created and not replace:
        raise InvalidDocument(
            f"{org.name}{canonical['year']}年度报告已存在；如需覆盖，请使用替换选项。",
            code="report_exists",
            params={"organization": org.code, "year": canonical["year"]},
        )
    if not created and only_editable and report.status not in EDITABLE_STATUSES:
        raise InvalidDocument(
            f"{canonical['year']}年度报告的状态为“{report.get_status_display()}”，不能用导入覆盖；如需更正请走更正流程。",
            code="report_locked",
        )
    old = None if created else export_report(report)
    if created:
        report = Report(organization=org, year=canonical["year"], format=canonical["format"])
    else:
        report.version += 1
    report.status = status
    _apply_header_from_doc(report, canonical)
    report.full_clean()
    report.save()
    _write_content(report, canonical)
    record_event(
        "report.imported",
        actor=actor,
        report=report,
        replaced=not created,
        status=status,
        version=report.version,
        changes=diff_documents(old, canonical),
    )
    findings = check_document(canonical, previous_document(report))
    store_findings(report, findings)
    store_next_year_findings(report)
    return ImportResult(report, created, findings)


@transaction.atomic
def create_report(organization: Organization, year: int, *, actor: User | None = None) -> Report:
    """A new, empty draft of the format in force for ``year``."""
    fmt = reg.format_for_year(year)
    doc = canonicalize(
        {
            "schema": "disclosure-report/1",
            "format": fmt.code,
            "year": year,
            "organization": {"name": organization.name, "code": organization.code, "kind": organization.kind},
            "title": default_title(organization.name, year),
        }
    )
    report = Report(organization=organization, year=year, format=fmt.code)
    _apply_header_from_doc(report, doc)
    report.full_clean()
    report.save()
    _write_content(report, doc)
    record_event("report.created", actor=actor, report=report, year=year, format=fmt.code)
    store_findings(report, doc=doc)
    return report


@transaction.atomic
def finish_admin_edit(report: Report, old: dict, *, actor: User | None) -> Report:
    """After an admin edit of a draft: re-derive computed cells, bump the version, audit it.

    Submitted, approved and published reports change only through the
    workflow; an edit of one raises NotEditable (and the caller's transaction
    undoes what the admin form wrote).
    """
    from .editing import NotEditable

    report = Report.objects.select_for_update().get(pk=report.pk)
    if report.status not in EDITABLE_STATUSES:
        raise NotEditable(report)
    doc = derive_totals(export_report(report), overwrite=True)
    _ensure_storable(doc)
    _write_content(report, doc)
    report.version += 1
    report.save(update_fields=["version", "updated_at"])
    record_event(
        "report.admin_edited", actor=actor, report=report, version=report.version, changes=diff_documents(old, doc)
    )
    store_findings(report)
    return report


# Clerks edit reports in these states only.
EDITABLE_STATUSES = {Report.Status.DRAFT, Report.Status.RETURNED}
