"""What the clerk decides in an import preview, and what last year's report decides.

The parser leaves a cell blank rather than guess. Three things may fill it
afterwards, each checked here against the table's own constraints:

- ``apply_candidate``: the clerk picks one of the splits listed for a row whose
  run-together digits split more than one way (``digits_ambiguous``);
- ``settle_with_previous``: last year's stored report fixes the split (table 三's
  carried over = last year's carried forward; table 二's stock: in force = last
  year's in force + issued − repealed in the 2021 format, last year's count =
  last year's count + this year's change in the 2019 format; labels in the registry);
- ``zero_groups`` / ``apply_zero_groups``: blanks the office used for zero, shown in
  groups the clerk fills with 0 one by one (never silently).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import formats as reg
from ..formats import CellKind, Format
from ..interchange import InvalidDocument, get_path, set_path
from .flatten import MAX_CANDIDATES

AMBIGUOUS = "digits_ambiguous"


def row_name(fmt: Format, ref: str) -> str:
    """The printed row a cell ref belongs to, in Chinese (表三“<row label>”行, from the registry)."""
    spec = fmt.cell(ref)
    if spec.section == "active_disclosure":
        return f"表二{spec.table_label}“{spec.row_label}”行"
    if spec.section == "applications":
        return f"表三“{spec.row_label}”行"
    return f"表四“{spec.row_label}”"


# -- candidates ---------------------------------------------------------------------------


def ambiguities(problems: list[dict]) -> list[tuple[int, dict]]:
    """(index in problems, problem) of each row the clerk may settle by picking a split."""
    return [(i, p) for i, p in enumerate(problems) if p.get("code") == AMBIGUOUS and p.get("candidates")]


def fits_row(fmt: Format, refs: list[str] | tuple[str, ...], values: list[int] | tuple[int, ...]) -> bool:
    """Whether values for a row's cells meet the row's own constraints: whole numbers ≥ 0
    (table 二's 本年增/减 may be negative), a table-三 row's total the sum of its six, each
    table-四 block's total the sum of its four."""
    if len(refs) != len(values) or not refs:
        return False
    specs = [fmt.cell(r) for r in refs]
    for spec, value in zip(specs, values, strict=True):
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        if value < 0 and not (spec.section == "active_disclosure" and spec.column == "change"):
            return False
    by_ref = dict(zip(refs, values, strict=True))
    for spec in specs:
        if spec.section == "applications" and spec.column == "total":
            # Every row's 总计 sums its applicant columns, （七）总计's own included.
            parts = [f"applications.{spec.row}.{c.code}" for c in fmt.applicant_columns]
            if all(p in by_ref for p in parts) and by_ref[spec.ref] != sum(by_ref[p] for p in parts):
                return False
    for total, parts in fmt.totals:
        if total.startswith("applications.outcome_total."):
            continue  # a column identity: rows are checked by their own sums
        if total in by_ref and all(p in by_ref for p in parts):
            if by_ref[total] != sum(by_ref[p] for p in parts):
                return False
    return True


def apply_candidate(doc: dict, problem: dict, index: int) -> None:
    """Fill a row with the clerk's pick among its listed splits, re-checked here.

    Refused (InvalidDocument ``candidate_invalid``) when the index is not one of the
    listed candidates, when a cell of the row is no longer blank, or when the split
    breaks the row's constraints: a forged form never writes a number the file does
    not support.
    """
    fmt = reg.get_format(doc["format"])
    refs = list(problem.get("cells") or ())
    candidates = problem.get("candidates") or []
    if problem.get("code") != AMBIGUOUS or not 0 <= index < len(candidates):
        raise InvalidDocument("所选的拆分方式不在候选之列。", code="candidate_invalid", params={"index": index})
    values = [int(v) for v in candidates[index]]
    if any(get_path(doc, ref) is not None for ref in refs):
        raise InvalidDocument(
            f"{row_name(fmt, refs[0])}已有数字，不能再按候选拆分填入。", code="candidate_invalid", params={}
        )
    if not fits_row(fmt, refs, values):
        raise InvalidDocument(
            f"{row_name(fmt, refs[0])}所选的拆分不符合表格的勾稽关系。", code="candidate_invalid", params={}
        )
    for ref, value in zip(refs, values, strict=True):
        set_path(doc, ref, value)


# -- last year's report -------------------------------------------------------------------


def _known(doc: dict, ref: str) -> int | None:
    value = get_path(doc, ref)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _fixed_by_previous(fmt: Format, refs: list[str], previous: dict) -> dict[int, Any] | None:
    """Cell index → the value last year's report fixes for it, as a predicate on the candidate.

    Returns a function per index (value, candidate) → bool, or None when last year's
    report decides nothing for this row.
    """
    first = fmt.cell(refs[0])
    if first.section == "applications" and first.row == "carried_over":
        wanted = [_known(previous, f"applications.carried_forward.{fmt.cell(r).column}") for r in refs]
        if None in wanted:
            return None
        return {i: (lambda c, i=i, v=v: c[i] == v) for i, v in enumerate(wanted)}
    if first.section != "active_disclosure":
        return None
    table, row = first.subtable, first.row
    columns = [fmt.cell(r).column for r in refs]
    base = f"active_disclosure.{table}.{row}"
    if {"issued", "repealed", "in_force"} <= set(columns):
        before = _known(previous, f"{base}.in_force")
        if before is None:
            return None
        i, r, f = (columns.index(c) for c in ("issued", "repealed", "in_force"))
        return {f: lambda c: c[f] == before + c[i] - c[r]}
    if "previous" in columns:
        before, change = _known(previous, f"{base}.previous"), _known(previous, f"{base}.change")
        if before is None or change is None:
            return None
        p = columns.index("previous")
        return {p: lambda c: c[p] == before + change}
    return None


def settle_with_previous(doc: dict, problems: list[dict], previous: dict | None) -> list[dict]:
    """Rows left blank for several splits, settled where last year's report (same format,
    the year before) leaves exactly one: filled, and the problem becomes ``digits_split``
    (请核对). The candidate list must be whole (not cut at MAX_CANDIDATES): another split
    might fit as well otherwise. Returns the new problem list."""
    if previous is None or previous.get("format") != doc["format"] or previous.get("year") != doc["year"] - 1:
        return problems
    fmt = reg.get_format(doc["format"])
    out = []
    for problem in problems:
        candidates = problem.get("candidates") or []
        refs = list(problem.get("cells") or ())
        if problem.get("code") != AMBIGUOUS or not candidates or len(candidates) > MAX_CANDIDATES:
            out.append(problem)
            continue
        tests = _fixed_by_previous(fmt, refs, previous)
        if not tests or any(get_path(doc, ref) is not None for ref in refs):
            out.append(problem)
            continue
        fits = [c for c in candidates if all(test(c) for test in tests.values()) and fits_row(fmt, refs, c)]
        if len(fits) != 1:
            out.append(problem)
            continue
        for ref, value in zip(refs, fits[0], strict=True):
            set_path(doc, ref, int(value))
        shown = " | ".join(str(v) for v in fits[0])
        out.append(
            {
                **problem,
                "code": "digits_split",
                "message": f"{row_name(fmt, refs[0])}连在一起的数字有{len(candidates)}种拆分，"
                f"只有“{shown}”与{previous['year']}年度报告衔接，已按此填入，请核对。",
            }
        )
    return out


# -- blanks used for zero -----------------------------------------------------------------


@dataclass(frozen=True)
class ZeroGroup:
    """Blank cells of one printed row that may be zeros, and why."""

    id: str  # stable: the row's ref and the reason
    row: str  # 表三“<row label>”行
    reason: str  # implied (the row's or a column's sum leaves 0) or row_has_numbers
    cells: tuple[str, ...]
    labels: tuple[str, ...]

    @property
    def why(self) -> str:
        if self.reason == "implied":
            return "按表格勾稽关系只能为 0"
        return "同一行的其他单元格印有数字"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "row": self.row,
            "reason": self.reason,
            "why": self.why,
            "cells": list(self.cells),
            "labels": list(self.labels),
        }


def _row_key(spec: reg.CellSpec) -> str:
    return spec.ref.rsplit(".", 1)[0]


def implied_zeros(fmt: Format, doc: dict) -> set[str]:
    """Blank cells that a sum leaves no room for: every part ≥ 0, the total printed and
    met by the printed parts, so each blank part is 0 (also 新收 + 结转 = 总计 + 结转下年)."""
    out: set[str] = set()
    identities: list[tuple[list[str], list[str]]] = [([t], list(p)) for t, p in fmt.totals]
    for col in fmt.applications_columns:
        c = col.code
        identities.append(
            (
                [f"applications.outcome_total.{c}", f"applications.carried_forward.{c}"],
                [f"applications.new_received.{c}", f"applications.carried_over.{c}"],
            )
        )
        identities.append(
            (
                [f"applications.new_received.{c}", f"applications.carried_over.{c}"],
                [f"applications.outcome_total.{c}", f"applications.carried_forward.{c}"],
            )
        )
    for totals, parts in identities:
        values = [_known(doc, r) for r in totals]
        if None in values:
            continue
        blank = [p for p in parts if get_path(doc, p) is None]
        known = [_known(doc, p) for p in parts if get_path(doc, p) is not None]
        if blank and None not in known and sum(known) == sum(values):
            out.update(blank)
    return out


def zero_groups(doc: dict, exclude: set[str] | frozenset[str] = frozenset()) -> list[ZeroGroup]:
    """Blank cells the office probably meant as 0, grouped by row: first those a sum
    implies, then blanks on rows that print numbers. ``exclude``: cells under another
    decision (a row whose split is to be chosen)."""
    fmt = reg.get_format(doc["format"])
    implied = implied_zeros(fmt, doc) - set(exclude)
    rows: dict[str, list[reg.CellSpec]] = {}
    for spec in fmt.cells():
        rows.setdefault(_row_key(spec), []).append(spec)
    groups: list[ZeroGroup] = []
    for key, specs in rows.items():
        blank = [s for s in specs if get_path(doc, s.ref) is None and s.ref not in exclude]
        if not blank or (specs[0].section == "active_disclosure" and specs[0].kind == CellKind.AMOUNT):
            continue
        has_numbers = any(get_path(doc, s.ref) is not None for s in specs)
        by_sum = [s for s in blank if s.ref in implied]
        rest = [s for s in blank if s.ref not in implied and s.kind != CellKind.AMOUNT]
        for reason, cells in (("implied", by_sum), ("row_has_numbers", rest if has_numbers else [])):
            if cells:
                groups.append(
                    ZeroGroup(
                        f"{key}:{reason}",
                        row_name(fmt, cells[0].ref),
                        reason,
                        tuple(s.ref for s in cells),
                        tuple(s.column_label for s in cells),
                    )
                )
    return sorted(groups, key=lambda g: g.reason != "implied")


def apply_zero_groups(doc: dict, ids: list[str], exclude: set[str] | frozenset[str] = frozenset()) -> int:
    """Fill the chosen groups with 0; a group id not offered for this document is refused.
    Returns how many cells were filled."""
    offered = {g.id: g for g in zero_groups(doc, exclude)}
    filled = 0
    for group_id in ids:
        group = offered.get(group_id)
        if group is None:
            raise InvalidDocument(
                "要按 0 填入的单元格已不是空白或不在列表中。", code="zero_group_invalid", params={"id": group_id}
            )
        for ref in group.cells:
            if get_path(doc, ref) is None:
                set_path(doc, ref, 0)
                filled += 1
    return filled
