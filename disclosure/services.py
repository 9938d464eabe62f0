"""Writes. Each runs in a transaction, validates, and records an audit event."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from . import formats as reg
from .interchange import (
    MAX_AMOUNT_PLACES,
    InvalidDocument,
    canonicalize,
    cell_value,
    decimal_places,
    derive_totals,
    get_path,
    parse_amount,
    set_path,
    validate_document,
)
from .models import (
    ActiveDisclosureRow,
    ApplicationRow,
    AuditEvent,
    Comment,
    NarrativePart,
    Organization,
    PendingImport,
    Report,
    ReviewRow,
)
from .rules import RULES, Context, Finding, check_document
from .selectors import export_report, previous_document

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
    from .cells import MAX_AMOUNT, MAX_COUNT

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
        elif abs(value) > MAX_COUNT:
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
            f"{canonical['year']}年度报告已{report.get_status_display()}，不能用导入覆盖；如需更正请走更正流程。",
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
    return report


@transaction.atomic
def finish_admin_edit(report: Report, old: dict, *, actor: User | None) -> Report:
    """After an admin edit: re-derive computed cells, bump the version, audit it."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    doc = derive_totals(export_report(report), overwrite=True)
    _ensure_storable(doc)
    _write_content(report, doc)
    report.version += 1
    report.save(update_fields=["version", "updated_at"])
    record_event(
        "report.admin_edited", actor=actor, report=report, version=report.version, changes=diff_documents(old, doc)
    )
    return report


# -- editing by clerks -----------------------------------------------------------

EDITABLE_STATUSES = {Report.Status.DRAFT, Report.Status.RETURNED}


class NotEditable(Exception):
    def __init__(self, report: Report) -> None:
        super().__init__(f"报告当前状态为“{report.get_status_display()}”，不能修改。")
        self.message = str(self)


class StaleVersion(Exception):
    """Someone saved in between: refuse, and say what they changed."""

    def __init__(self, current_version: int, changes: dict[str, Any]) -> None:
        super().__init__("报告已被他人修改，您的保存未生效；请查看对方的修改后再保存。")
        self.message = str(self)
        self.current_version = current_version
        self.changes = changes


@dataclass
class SaveResult:
    report: Report
    errors: dict[str, str]
    changes: dict[str, list[Any]]
    document: dict


def changes_since(report: Report, version: int) -> dict[str, Any]:
    """{ref: current value} for everything written after ``version``, from the audit trail."""
    changed: dict[str, Any] = {}
    events = AuditEvent.objects.filter(report=report, data__version__gt=version).order_by("id")
    for event in events:
        for ref, (_old, new) in event.data.get("changes", {}).items():
            changed[ref] = new
    return changed


def _lock_editable(report: Report, expected_version: int | None) -> Report:
    report = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
    if report.status not in EDITABLE_STATUSES:
        raise NotEditable(report)
    if expected_version is not None and report.version != expected_version:
        raise StaleVersion(report.version, changes_since(report, expected_version))
    return report


def _apply_cells(doc: dict, fmt: reg.Format, cells: dict[str, Any], errors: dict[str, str]) -> None:
    from .cells import CellInputError, parse_cell

    for ref, text in cells.items():
        try:
            spec = fmt.cell(ref)
        except KeyError:
            errors[ref] = "本格式没有这个单元格。"
            continue
        if spec.computed:
            errors[ref] = "总计由系统自动计算，无需填写。"
            continue
        try:
            value = parse_cell(text, spec.kind)
        except CellInputError as exc:
            errors[ref] = exc.message
            continue
        set_path(doc, ref, value)


def _apply_narrative(doc: dict, fmt: reg.Format, narrative: dict[str, Any], errors: dict[str, str]) -> None:
    from .cells import CellInputError, parse_amount_text
    from .interchange import YUAN_PLACES, format_amount

    paths = {p.path: p for p in fmt.narrative}
    fee = fmt.fee_part
    for path, text in narrative.items():
        ref = f"narrative.{path}"
        if fee is not None and path == f"{fee.path}.amount_yuan":
            try:
                amount = parse_amount_text(text)
            except CellInputError as exc:
                errors[ref] = exc.message
                continue
            get_path(doc["narrative"], fee.path)["amount_yuan"] = format_amount(amount, YUAN_PLACES)
            continue
        part = paths.get(path)
        if part is None:
            errors[ref] = "本格式没有这一部分。"
            continue
        text = str(text or "").replace("\r\n", "\n")
        if part.has_amount:
            set_path(doc["narrative"], f"{path}.text", text)
        else:
            set_path(doc["narrative"], path, text)


def _apply_header(doc: dict, fmt: reg.Format, header: dict[str, Any], errors: dict[str, str]) -> None:
    for name, value in header.items():
        value = str(value or "").strip()
        if name == "title":
            doc["title"] = value[:300]
        elif name == "organization_name":
            if not value:
                errors["header.organization_name"] = "署名机关不能为空。"
            else:
                doc["organization"]["name"] = value[:200]
        elif name == "issued_on":
            try:
                doc["issued_on"] = dt.date.fromisoformat(value).isoformat() if value else None
            except ValueError:
                errors["header.issued_on"] = "成文日期格式应为 年-月-日，如 2027-01-20。"
        elif name == "procurement_unit":
            if fmt.unit_table is None or value not in fmt.amount_unit_choices:
                errors["header.procurement_unit"] = "金额单位只能是万元或元。"
            else:
                doc["active_disclosure"][fmt.unit_table.code]["unit"] = value
        else:
            errors[f"header.{name}"] = "未知字段。"


def _write_changed(report: Report, old: dict, new: dict) -> None:
    """Write only the table rows and narrative parts that changed."""
    fmt = report.spec
    for table in fmt.active_disclosure:
        for row in table.rows:
            before, after = (
                old["active_disclosure"][table.code][row.code],
                new["active_disclosure"][table.code][row.code],
            )
            if before != after:
                ActiveDisclosureRow.objects.update_or_create(
                    report=report, subtable=table.code, row=row.code, defaults=_active_values(table, after)
                )
    for row in fmt.applications_rows:
        if old["applications"][row.code] != new["applications"][row.code]:
            ApplicationRow.objects.update_or_create(report=report, row=row.code, defaults=new["applications"][row.code])
    for block in fmt.reviews_blocks:
        if old["reviews"][block.code] != new["reviews"][block.code]:
            ReviewRow.objects.update_or_create(report=report, block=block.code, defaults=new["reviews"][block.code])
    old_flat, new_flat = flatten(old), flatten(new)
    for part in fmt.narrative:
        if old_flat.get(part.ref) != new_flat.get(part.ref):
            NarrativePart.objects.update_or_create(
                report=report, path=part.path, defaults={"text": new_flat.get(part.ref) or ""}
            )


@transaction.atomic
def save_edits(
    report: Report,
    *,
    actor: User | None,
    expected_version: int | None,
    cells: dict[str, Any] | None = None,
    narrative: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
    action: str = "report.saved",
) -> SaveResult:
    """Apply a clerk's edits: what parses is saved, what does not comes back as errors by ref.

    Computed cells are re-derived; a save against a stale version raises
    StaleVersion and changes nothing.
    """
    report = _lock_editable(report, expected_version)
    fmt = report.spec
    old = export_report(report)
    new = copy.deepcopy(old)
    errors: dict[str, str] = {}
    _apply_cells(new, fmt, cells or {}, errors)
    _apply_narrative(new, fmt, narrative or {}, errors)
    _apply_header(new, fmt, header or {}, errors)
    new = derive_totals(new, overwrite=True)
    changes = diff_documents(old, new)
    if changes:
        _write_changed(report, old, new)
        _apply_header_from_doc(report, new)
        report.version += 1
        report.save()
        record_event(action, actor=actor, report=report, version=report.version, changes=changes)
    return SaveResult(report, errors, changes, new)


def prefill_from_previous(report: Report, *, actor: User | None) -> SaveResult:
    """Copy what the statute carries over from last year's report into blank cells.

    carried_over <- last year's carried_forward (every column); 2019 format
    previous <- last year's previous + change. Cells already typed are left
    alone.
    """
    last, now = previous_document(report), export_report(report)
    if last is None:
        return SaveResult(report, {}, {}, now)
    cells: dict[str, Any] = {}
    for col in report.spec.applicant_columns:
        value = last["applications"]["carried_forward"].get(col.code)
        if value is not None and now["applications"]["carried_over"][col.code] is None:
            cells[f"applications.carried_over.{col.code}"] = str(value)
    if report.format == last["format"] == "2019":
        for table in report.spec.active_disclosure:
            for row in table.rows:
                before = last["active_disclosure"][table.code][row.code]
                if {"previous", "change"} <= set(before) and now["active_disclosure"][table.code][row.code][
                    "previous"
                ] is None:
                    if before["previous"] is not None and before["change"] is not None:
                        cells[f"active_disclosure.{table.code}.{row.code}.previous"] = str(
                            before["previous"] + before["change"]
                        )
    return save_edits(report, actor=actor, expected_version=None, cells=cells, action="report.prefilled")


@transaction.atomic
def explain_finding(report: Report, key: str, text: str, *, actor: User | None) -> Report:
    """Record (or clear, with empty text) the clerk's explanation of a warning."""
    report = _lock_editable(report, None)
    text = text.strip()
    old = report.explanations.get(key, "")
    if text == old:
        return report
    if text:
        report.explanations[key] = text
    else:
        report.explanations.pop(key, None)
    report.version += 1
    report.save()
    record_event("report.explained", actor=actor, report=report, version=report.version, key=key, old=old, new=text)
    return report


# -- review comments ---------------------------------------------------------------


class InvalidComment(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def valid_anchor(report: Report, anchor: str) -> bool:
    fmt = report.spec
    if anchor == "report" or any(s.code == anchor for s in fmt.sections):
        return True
    if anchor.startswith("narrative."):
        return any(p.ref == anchor for p in fmt.narrative)
    try:
        fmt.cell(anchor)
    except KeyError:
        return False
    return True


@transaction.atomic
def add_comment(report: Report, *, actor: User, anchor: str, body: str, parent: Comment | None = None) -> Comment:
    body = (body or "").strip()
    if not body:
        raise InvalidComment("意见内容不能为空。")
    if parent is not None:
        if parent.report_id != report.pk:
            raise InvalidComment("回复的意见不属于这份报告。")
        anchor = parent.anchor
    if not valid_anchor(report, anchor):
        raise InvalidComment("意见的位置不正确。")
    comment = Comment.objects.create(report=report, anchor=anchor, parent=parent, author=actor, body=body)
    record_event("comment.added", actor=actor, report=report, comment=comment.pk, anchor=anchor, body=body)
    return comment


@transaction.atomic
def resolve_comment(comment: Comment, *, actor: User) -> Comment:
    from django.utils import timezone

    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.resolved_at is None:
        comment.resolved_at = timezone.now()
        comment.resolved_by = actor
        comment.save(update_fields=["resolved_at", "resolved_by"])
        record_event("comment.resolved", actor=actor, report=comment.report, comment=comment.pk)
    return comment


# -- starting a report from a published file -----------------------------------------------

PENDING_IMPORT_DAYS = 7


def stage_upload(
    organization: Organization, *, actor: User, filename: str, data: bytes, year: int | None = None
) -> PendingImport:
    """Parse an uploaded report for the clerk to review; nothing is imported yet."""
    from django.utils import timezone

    from .parsing import parse_report

    # Parsing takes a while: do it before touching the database.
    try:
        # The name as the file prints it (ADR 0002); the office's own only if it prints none.
        result = parse_report(data, filename=filename, year=year, org_code=organization.code)
    except InvalidDocument as exc:
        if exc.code != "no_organization":
            raise
        result = parse_report(
            data, filename=filename, year=year, org_name=organization.name, org_code=organization.code
        )
    doc = result.document
    # The file is this office's report, whatever name it prints.
    doc["organization"] = {
        "name": doc["organization"]["name"] or organization.name,
        "code": organization.code,
        "kind": organization.kind,
    }
    validate_document(doc)
    with transaction.atomic():
        PendingImport.objects.filter(created_at__lt=timezone.now() - dt.timedelta(days=PENDING_IMPORT_DAYS)).delete()
        pending = PendingImport.objects.create(
            organization=organization,
            user=actor,
            filename=filename[:255],
            kind=result.kind,
            document=doc,
            problems=[p.as_dict() for p in result.problems],
        )
        record_event(
            "import.staged",
            actor=actor,
            organization=organization,
            filename=filename,
            year=doc["year"],
            problems=len(result.problems),
        )
    return pending


@transaction.atomic
def confirm_import(pending: PendingImport, *, actor: User, current_year: int, replace: bool = False) -> Report:
    """Store a reviewed upload as a draft report. Publishing it goes through
    review like any other report: a clerk never publishes alone."""
    doc = pending.document
    year = doc["year"]
    if year > current_year:
        raise InvalidDocument(f"不能导入{year}年度的报告：当前填报年度为{current_year}年。", code="future_year")
    existing = Report.objects.filter(organization=pending.organization, year=year).first()
    status = existing.status if existing is not None and existing.status in EDITABLE_STATUSES else Report.Status.DRAFT
    result = import_document(doc, actor=actor, replace=replace, status=status, only_editable=True)
    record_event("import.confirmed", actor=actor, report=result.report, filename=pending.filename)
    pending.delete()
    return result.report


@transaction.atomic
def discard_import(pending: PendingImport, *, actor: User) -> None:
    record_event("import.discarded", actor=actor, organization=pending.organization, filename=pending.filename)
    pending.delete()
