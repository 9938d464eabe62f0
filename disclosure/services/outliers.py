"""A supervisor's 已核实 mark on an outlier (issue 15): the value was checked and is right.

The mark stores the value as it was checked; the quality page stops flagging
the cell while the value stays the same and flags it again once it changes.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from ..errors import CodedError
from ..jurisdiction.completeness import supervises
from ..jurisdiction.quality import current_value, is_checked_cell
from ..models import Organization, OutlierCheck
from .core import User, record_event

NOTE_MAX = 2000


class InvalidOutlierCheck(CodedError):
    """A 已核实 mark refused."""


@transaction.atomic
def mark_checked(
    organization: Organization,
    year: int,
    cell: str,
    *,
    actor: User,
    note: str,
    seen_value: int | None = None,
) -> OutlierCheck:
    """Mark one flagged cell 已核实 at its present value, with the supervisor's note.

    ``seen_value`` is the value the supervisor looked at: if the report changed
    since, the mark is refused rather than vouching for a value nobody saw.
    """
    note = (note or "").strip()
    if actor is None or not supervises(actor, organization):
        raise InvalidOutlierCheck("您没有权限核实这个机关的数据。", "forbidden")
    if not is_checked_cell(year, cell):
        raise InvalidOutlierCheck("没有这个单元格。", "invalid_cell", {"cell": cell})
    if not note:
        raise InvalidOutlierCheck("请写明核实说明。", "note_required")
    if len(note) > NOTE_MAX:
        raise InvalidOutlierCheck(f"核实说明不能超过 {NOTE_MAX} 字。", "note_too_long", {"max": NOTE_MAX})
    value = current_value(organization, year, cell)
    if value is None:
        raise InvalidOutlierCheck("这个单元格没有数值，无需核实。", "blank")
    if seen_value is not None and seen_value != value:
        raise InvalidOutlierCheck(
            "这个数值在您查看之后已经改变，请刷新页面后再核实。",
            "stale",
            {"seen": seen_value, "value": value},
        )
    previous = OutlierCheck.objects.select_for_update().filter(organization=organization, year=year, cell=cell).first()
    old_value = None if previous is None else previous.value
    if previous is None:
        check = OutlierCheck.objects.create(
            organization=organization, year=year, cell=cell, value=Decimal(value), note=note, checked_by=actor
        )
    else:
        previous.value, previous.note, previous.checked_by = Decimal(value), note, actor
        previous.save(update_fields=["value", "note", "checked_by"])
        check = previous
    record_event(
        "outlier.checked",
        actor=actor,
        organization=organization,
        year=year,
        cell=cell,
        value=value,
        note=note,
        # A mark made again (the value changed and was checked once more): what it said before.
        **({"previous_value": str(old_value)} if old_value is not None else {}),
    )
    # Nothing cached to forget: the quality page reads its lists of flagged cells live.
    return check
