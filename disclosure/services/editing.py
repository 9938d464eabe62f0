"""Clerks' edits of a report: saved cell by cell, audited."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction

from .. import formats as reg
from ..interchange import (
    derive_totals,
    get_path,
    set_path,
)
from ..models import (
    ActiveDisclosureRow,
    ApplicationRow,
    AuditEvent,
    NarrativePart,
    Report,
    ReviewRow,
)
from ..selectors import export_report, previous_document
from .core import EDITABLE_STATUSES, User, _active_values, _apply_header_from_doc, diff_documents, flatten, record_event

# -- editing by clerks -----------------------------------------------------------


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
    from ..cells import CellInputError, parse_cell

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
    from ..cells import CellInputError, parse_amount_text
    from ..interchange import YUAN_PLACES, format_amount

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
