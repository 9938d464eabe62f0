"""What a printed table cell holds: a number, a "not applicable" mark, a rule, or text."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum


class Kind(StrEnum):
    NUMBER = "number"
    NULL = "null"  # printed as / - — 不适用 …: kept as null, never read as 0
    BLANK = "blank"  # an empty cell
    RULE = "rule"  # ----- separator lines of text exports
    TEXT = "text"


# Marks that mean "blank / not applicable" in published tables.
NULL_MARKS = {"/", "-", "—", "——", "–", "－", "\\", "不适用", "无", "空", "N/A", "n/a", "NA", "×"}
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d+)?$")
# 1(增加), 2(减少), 增加1, 减3 — the 2019 本年增/减 column.
_SIGNED_AFTER = re.compile(r"^(\d+)\((增加|新增|增|减少|减)\)$")
_SIGNED_BEFORE = re.compile(r"^(增加|新增|增|减少|减)(\d+)$")
_WITH_UNIT = re.compile(r"^([+-]?\d+(?:\.\d+)?)(件|个|项|条|次|人次|万元|元)$")
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?:\D|$))")


@dataclass(frozen=True)
class Cell:
    text: str
    kind: Kind
    number: Decimal | None = None
    unit: str = ""

    @property
    def is_value(self) -> bool:
        """A value occupies a column: a number or an explicit null mark."""
        return self.kind in (Kind.NUMBER, Kind.NULL)


def read_cell(text: str | None) -> Cell:
    raw = "" if text is None else str(text)
    norm = unicodedata.normalize("NFKC", raw)
    norm = re.sub(r"\s+", "", norm).replace("−", "-")
    if not norm:
        return Cell(raw, Kind.BLANK)
    if re.fullmatch(r"[-=_—–]{3,}", norm) or re.fullmatch(r":?-{3,}:?", norm):
        return Cell(raw, Kind.RULE)
    if norm in NULL_MARKS:
        return Cell(raw, Kind.NULL)
    plain = _THOUSANDS.sub("", norm)
    if _NUMBER.match(plain):
        return Cell(raw, Kind.NUMBER, Decimal(plain))
    match = _SIGNED_AFTER.match(plain)
    if match:
        sign = -1 if match.group(2).startswith("减") else 1
        return Cell(raw, Kind.NUMBER, sign * Decimal(match.group(1)))
    match = _SIGNED_BEFORE.match(plain)
    if match:
        sign = -1 if match.group(1).startswith("减") else 1
        return Cell(raw, Kind.NUMBER, sign * Decimal(match.group(2)))
    match = _WITH_UNIT.match(plain)
    if match:
        return Cell(raw, Kind.NUMBER, Decimal(match.group(1)), unit=match.group(2))
    return Cell(raw, Kind.TEXT)
