"""Clerks' edits of a report: decided cell by cell against the value each was based on, audited.

Every edit carries its *base*, the value the clerk saw before typing. Under
the report's row lock a cell is written only if its stored value still
equals that base (compare-and-set); otherwise that cell alone is refused and
the caller learns the stored value and who wrote it (ADR 0010). Other
people's edits to other cells are no conflict, whatever the version.
"""

from __future__ import annotations

import copy
import datetime as dt
import time
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from .. import formats as reg
from ..calendar import future_issue_date_message, today
from ..errors import CodedError
from ..formats.common import NARRATIVE_REPORT_MAX_CHARS, narrative_length, part_length_error
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
from .findings import store_findings

# -- refs ----------------------------------------------------------------------------
# The editing pages name header fields "header.<name>"; the document (and so
# the audit trail) names them as below. Every other ref is the same in both.
HEADER_FIELDS = {
    "header.title": "title",
    "header.issued_on": "issued_on",
    "header.organization_name": "organization.name",
}


def document_ref(fmt: reg.Format, ref: str) -> str:
    """The document (audit-trail) ref a form field edits."""
    if ref == "header.procurement_unit" and fmt.unit_table is not None:
        return f"active_disclosure.{fmt.unit_table.code}.unit"
    return HEADER_FIELDS.get(ref, ref)


def form_ref(fmt: reg.Format, ref: str) -> str:
    """The form field that edits a document ref."""
    if fmt.unit_table is not None and ref == f"active_disclosure.{fmt.unit_table.code}.unit":
        return "header.procurement_unit"
    return next((name for name, doc_ref in HEADER_FIELDS.items() if doc_ref == ref), ref)


def label(fmt: reg.Format, ref: str) -> str:
    """A Chinese label for a form or document ref, never the raw ref where the registry knows it."""
    try:
        return fmt.label_of(document_ref(fmt, ref))
    except KeyError:
        return "金额单位" if ref == "header.procurement_unit" else ref


def display(value: Any) -> str:
    """A stored value as the editing page shows it."""
    return "" if value is None else str(value)


def edit_values(doc: dict, report: Report) -> dict[str, Any]:
    """Every editable value of a document, by form ref."""
    values = flatten(doc)
    values.update(
        {
            "header.title": doc["title"],
            "header.organization_name": doc["organization"]["name"],
            "header.issued_on": doc["issued_on"] or "",
            "header.procurement_unit": report.spec.unit_of(doc) or reg.DEFAULT_PROCUREMENT_UNIT,
        }
    )
    return values


# -- errors ------------------------------------------------------------------------------


class NotEditable(Exception):
    def __init__(self, report: Report) -> None:
        super().__init__(f"报告当前状态为“{report.get_status_display()}”，不能修改。")
        self.message = str(self)
        self.code = "not_editable"
        self.params = {"status": report.status}


class InvalidEdit(CodedError, ValueError):
    """A save that cannot be decided: no base for an edit, or a version the report never had."""


@dataclass
class EditConflict:
    """A cell someone else changed after the clerk's base: refused, with who and what."""

    ref: str  # form ref
    label: str
    value: str  # what the report holds now, as shown
    mine: str  # what the clerk typed, not saved
    by: str
    at: dt.datetime | None
    version: int | None

    @property
    def message(self) -> str:
        when = f"于{timezone.localtime(self.at):%H:%M}" if self.at else ""
        now = f"“{self.value}”" if self.value else "空白"
        return f"{self.by}{when}已修改“{self.label}”，现为{now}；您的修改未保存。"

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": "conflict",
            "ref": self.ref,
            "label": self.label,
            "value": self.value,
            "mine": self.mine,
            "by": self.by,
            "at": timezone.localtime(self.at).strftime("%H:%M:%S") if self.at else "",
            "version": self.version,
            "message": self.message,
        }


@dataclass
class SaveResult:
    report: Report
    errors: dict[str, str]
    changes: dict[str, list[Any]]
    document: dict
    conflicts: dict[str, EditConflict] = field(default_factory=dict)
    event: AuditEvent | None = None


# -- the audit trail, read for bases and for what changed ------------------------------------


def actor_name(user: Any) -> str:
    if user is None:
        return "系统"
    return user.get_full_name() or user.get_username()


def _events_after(report: Report, version: int):
    return AuditEvent.objects.filter(report=report, data__version__gt=version).select_related("actor").order_by("id")


def changes_since(report: Report, version: int) -> dict[str, Any]:
    """{ref: current value} for everything written after ``version``, from the audit trail."""
    changed: dict[str, Any] = {}
    for event in _events_after(report, version):
        for ref, (_old, new) in event.data.get("changes", {}).items():
            changed[ref] = new
    return changed


def values_at(report: Report, version: int) -> dict[str, Any]:
    """{document ref: value at ``version``} for the refs written since; others are unchanged."""
    before: dict[str, Any] = {}
    for event in _events_after(report, version):
        for ref, (old, _new) in event.data.get("changes", {}).items():
            before.setdefault(ref, old)
    return before


def recent_changes(report: Report, since: int, *, exclude_event: int | None = None) -> list[dict[str, Any]]:
    """Per form ref, the latest change after version ``since``: label, who, when, at which version."""
    fmt = report.spec
    computed = {spec.ref for spec in fmt.cells() if spec.computed}
    latest: dict[str, tuple[AuditEvent, str]] = {}
    for event in _events_after(report, since):
        if event.pk == exclude_event:
            continue
        for ref in event.data.get("changes", {}):
            if ref in computed:
                continue  # totals follow their parts; the feed sends them apart
            latest[form_ref(fmt, ref)] = (event, ref)
    return [
        {
            "ref": ref,
            "label": label(fmt, ref),
            "by": actor_name(event.actor),
            "by_id": event.actor_id,
            "at": timezone.localtime(event.created_at).strftime("%H:%M:%S"),
            "version": event.data.get("version"),
        }
        for ref, (event, _doc_ref) in latest.items()
    ]


def _last_writer(report: Report, doc_ref: str) -> AuditEvent | None:
    """The newest audit event that changed ``doc_ref`` (refs hold dots: has_key quotes them)."""
    return (
        AuditEvent.objects.filter(report=report, data__changes__has_key=doc_ref)
        .select_related("actor")
        .order_by("-id")
        .first()
    )


# -- comparing values ---------------------------------------------------------------------

_UNREADABLE = object()  # never equal to a stored value


def _comparable(fmt: reg.Format, ref: str, text: Any) -> Any:
    """What a shown or typed value means, so "1,234" equals the stored 1234."""
    from ..cells import CellInputError, parse_amount_text, parse_cell

    if text is not None and not isinstance(text, str):
        text = str(text)
    try:
        if ref.startswith("narrative."):
            if ref.endswith(".amount_yuan"):
                return parse_amount_text(text)
            # A textarea drops a leading newline and the form posts CRLF.
            return (text or "").replace("\r\n", "\n").strip()
        if ref.startswith("header."):
            value = (text or "").strip()
            if ref == "header.issued_on":
                return dt.date.fromisoformat(value) if value else None
            return value
        spec = fmt.cell(ref)
        value = parse_cell(text, spec.kind)
        return Decimal(value) if isinstance(value, str) else value
    except (CellInputError, KeyError, ValueError, InvalidOperation):
        return _UNREADABLE


# -- applying one edit ------------------------------------------------------------------------


def _apply(doc: dict, fmt: reg.Format, ref: str, text: Any, errors: dict[str, str]) -> None:
    if ref.startswith("narrative."):
        _apply_narrative(doc, fmt, ref.removeprefix("narrative."), text, errors)
    elif ref.startswith("header."):
        _apply_header(doc, fmt, ref.removeprefix("header."), text, errors)
    else:
        _apply_cell(doc, fmt, ref, text, errors)


def _apply_cell(doc: dict, fmt: reg.Format, ref: str, text: Any, errors: dict[str, str]) -> None:
    from ..cells import CellInputError, parse_cell

    try:
        spec = fmt.cell(ref)
    except KeyError:
        errors[ref] = "本格式没有这个单元格。"
        return
    if spec.computed:
        errors[ref] = "总计由系统自动计算，无需填写。"
        return
    unit = None
    if spec.section == "active_disclosure" and fmt.subtable(spec.subtable).has_unit:
        unit = doc["active_disclosure"][spec.subtable].get("unit")  # 万元 or 元, as the clerk chose
    try:
        value = parse_cell(text, spec.kind, unit=unit)
    except CellInputError as exc:
        errors[ref] = exc.message
        return
    set_path(doc, ref, value)


def _apply_narrative(doc: dict, fmt: reg.Format, path: str, text: Any, errors: dict[str, str]) -> None:
    from ..cells import CellInputError, parse_amount_text
    from ..interchange import YUAN_PLACES, format_amount

    ref = f"narrative.{path}"
    fee = fmt.fee_part
    if fee is not None and path == f"{fee.path}.amount_yuan":
        try:
            amount = parse_amount_text(text)
        except CellInputError as exc:
            errors[ref] = exc.message
            return
        get_path(doc["narrative"], fee.path)["amount_yuan"] = format_amount(amount, YUAN_PLACES)
        return
    part = next((p for p in fmt.narrative if p.path == path), None)
    if part is None:
        errors[ref] = "本格式没有这一部分。"
        return
    text = str(text or "").replace("\r\n", "\n")
    if message := part_length_error(text):
        errors[ref] = message
        return
    set_path(doc["narrative"], f"{path}.text" if part.has_amount else path, text)


def _apply_header(doc: dict, fmt: reg.Format, name: str, value: Any, errors: dict[str, str]) -> None:
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
            issued = dt.date.fromisoformat(value) if value else None
        except ValueError:
            errors["header.issued_on"] = f"成文日期格式应为 年-月-日，如 {doc['year'] + 1}-01-20。"
            return
        if issued is not None and issued > today():
            errors["header.issued_on"] = future_issue_date_message(issued)
            return
        doc["issued_on"] = issued.isoformat() if issued else None
    elif name == "procurement_unit":
        if fmt.unit_table is None or value not in fmt.amount_unit_choices:
            errors["header.procurement_unit"] = "金额单位只能是万元或元。"
        else:
            doc["active_disclosure"][fmt.unit_table.code]["unit"] = value
    else:
        errors[f"header.{name}"] = "未知字段。"


def _limit_report_narrative(old: dict, new: dict, fmt: reg.Format, edited: set[str], errors: dict[str, str]) -> None:
    """Over the report's total: the parts this save lengthened keep their old text."""
    total = narrative_length(new)
    if total <= NARRATIVE_REPORT_MAX_CHARS:
        return
    old_flat, new_flat = flatten(old), flatten(new)
    for part in fmt.narrative:
        before, after = old_flat.get(part.ref) or "", new_flat.get(part.ref) or ""
        if part.ref in edited and len(after) > len(before):
            set_path(new["narrative"], f"{part.path}.text" if part.has_amount else part.path, before)
            errors[part.ref] = (
                f"全部文字部分合计不能超过{NARRATIVE_REPORT_MAX_CHARS}字，保存后将有{total}字；本部分未保存。"
            )


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


def _lock_editable(report: Report) -> Report:
    report = Report.objects.select_for_update().select_related("organization").get(pk=report.pk)
    if report.status not in EDITABLE_STATUSES:
        raise NotEditable(report)
    return report


def _edits_by_ref(
    cells: dict[str, Any] | None, narrative: dict[str, Any] | None, header: dict[str, Any] | None
) -> dict[str, Any]:
    edits = dict(cells or {})
    edits.update({f"narrative.{path}": text for path, text in (narrative or {}).items()})
    edits.update({f"header.{name}": text for name, text in (header or {}).items()})
    return edits


def _decided_here(fmt: reg.Format, ref: str, current: dict[str, Any]) -> bool:
    """Refs compared with their base; unknown refs and computed cells go on to their error."""
    if ref not in current:
        return False
    try:
        return not fmt.cell(ref).computed
    except KeyError:
        return True


def _bases_for(
    report: Report,
    edits: dict[str, Any],
    current: dict[str, Any],
    expected_version: int | None,
    bases: dict[str, Any] | None,
) -> dict[str, Any]:
    """The value each edit was based on: given, or read from the audit trail at ``expected_version``."""
    fmt = report.spec
    if expected_version is not None and not 1 <= expected_version <= report.version:
        raise InvalidEdit(
            f"版本号{expected_version}无效：本报告当前为第{report.version}版。",
            code="bad_version",
            params={"version": expected_version, "current": report.version},
        )
    out: dict[str, Any] = {}
    then: dict[str, Any] | None = None
    for ref in edits:
        if bases is not None and ref in bases:
            out[ref] = bases[ref]
        elif expected_version is None:
            raise InvalidEdit(
                f"“{label(fmt, ref)}”的修改没有注明修改前的值，无法判断是否与他人的修改冲突，未保存。",
                code="missing_base",
                params={"ref": ref},
            )
        else:
            if then is None:
                then = values_at(report, expected_version)
            doc_ref = document_ref(fmt, ref)
            out[ref] = display(then[doc_ref]) if doc_ref in then else display(current.get(ref))
    return out


@transaction.atomic
def save_edits(
    report: Report,
    *,
    actor: User | None,
    expected_version: int | None = None,
    bases: dict[str, Any] | None = None,
    cells: dict[str, Any] | None = None,
    narrative: dict[str, Any] | None = None,
    header: dict[str, Any] | None = None,
    action: str = "report.saved",
) -> SaveResult:
    """Apply a clerk's edits, each only where the stored value still equals its base.

    ``bases`` maps form refs ("header.title", "narrative.problems", cell refs)
    to the text the clerk saw before editing; an edit without one is based on
    the report as it was at ``expected_version`` (read from the audit trail).
    An edit with neither raises InvalidEdit: there is no blind write.

    Per edited ref: the stored value already equal to the edit counts as
    saved; a base equal to the stored value is applied; an edit equal to its
    base is no edit (a form re-posting what it showed); anything else is
    refused as an EditConflict, alone. What parses is saved, what does not
    comes back in ``errors``; computed cells are re-derived.
    """
    report = _lock_editable(report)
    fmt = report.spec
    old = export_report(report)
    current = edit_values(old, report)
    edits = _edits_by_ref(cells, narrative, header)
    base_of = _bases_for(report, edits, current, expected_version, bases)
    new = copy.deepcopy(old)
    errors: dict[str, str] = {}
    conflicts: dict[str, EditConflict] = {}
    for ref, text in edits.items():
        mine = _comparable(fmt, ref, text)
        if _decided_here(fmt, ref, current) and mine is not _UNREADABLE:
            now = _comparable(fmt, ref, display(current.get(ref)))
            if mine == now:
                continue  # already stored, e.g. re-sent after a reload: saved
            base = _comparable(fmt, ref, base_of[ref])
            if base == mine:
                continue  # not an edit: what the clerk saw, posted back
            if base != now:
                doc_ref = document_ref(fmt, ref)
                event = _last_writer(report, doc_ref)
                conflicts[ref] = EditConflict(
                    ref=ref,
                    label=label(fmt, ref),
                    value=display(current.get(ref)),
                    mine=display(text),
                    by=actor_name(event.actor) if event else "他人",
                    at=event.created_at if event else None,
                    version=event.data.get("version") if event else None,
                )
                continue
        _apply(new, fmt, ref, text, errors)
    _limit_report_narrative(old, new, fmt, set(edits), errors)
    new = derive_totals(new, overwrite=True)
    changes = diff_documents(old, new)
    event = None
    if changes:
        _write_changed(report, old, new)
        _apply_header_from_doc(report, new)
        report.version += 1
        report.save()
        event = record_event(action, actor=actor, report=report, version=report.version, changes=changes)
        store_findings(report, doc=new)
    return SaveResult(report, errors, changes, new, conflicts, event)


def prefill_from_previous(report: Report, *, actor: User | None) -> SaveResult:
    """Copy what the statute carries over from last year's report into blank cells.

    carried_over <- last year's carried_forward (every column); 2019 format
    previous <- last year's previous + change. Each cell is filled only if it
    is still blank when written (compare-and-set against blank).
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
    return save_edits(report, actor=actor, bases=dict.fromkeys(cells, ""), cells=cells, action="report.prefilled")


@transaction.atomic
def explain_finding(report: Report, key: str, text: str, *, actor: User | None) -> Report:
    """Record (or clear, with empty text) the clerk's explanation of a warning."""
    report = _lock_editable(report)
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


# -- who has the report open (the cache; nothing audited) -----------------------------------

PRESENCE_SECONDS = 30


def _presence_keys(report: Report) -> tuple[str, str]:
    return f"presence:{report.pk}", f"presence:{report.pk}:"


def mark_present(report: Report, user: Any, step: str) -> None:
    """This user has the report open on ``step``; forgotten after PRESENCE_SECONDS without a poll."""
    index_key, prefix = _presence_keys(report)
    cache.set(
        f"{prefix}{user.pk}",
        {"id": user.pk, "name": actor_name(user), "step": step, "at": time.time()},
        PRESENCE_SECONDS,
    )
    # The index only says whom to look up; a lost concurrent update heals on that user's next poll.
    ids = set(cache.get(index_key) or ()) | {user.pk}
    cache.set(index_key, sorted(ids), PRESENCE_SECONDS * 4)


def present_users(report: Report, *, exclude: Any = None) -> list[dict[str, Any]]:
    """Everyone else who polled this report in the last PRESENCE_SECONDS."""
    index_key, prefix = _presence_keys(report)
    ids = cache.get(index_key) or []
    found = cache.get_many([f"{prefix}{pk}" for pk in ids])
    now = time.time()
    return sorted(
        (
            entry
            for entry in found.values()
            if entry["at"] > now - PRESENCE_SECONDS and (exclude is None or entry["id"] != exclude.pk)
        ),
        key=lambda entry: entry["name"],
    )
