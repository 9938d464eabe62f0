"""What a clerk types into a cell, turned into a stored value (or a clear error).

Offices paste from Excel and WPS: full-width digits, thousands separators and
stray spaces are normal. Blank is not zero; "/" and friends mean blank.
"""

from __future__ import annotations

import re
from decimal import Decimal

from . import formats as reg
from .errors import CodedError
from .formats import CellKind
from .interchange import MAX_AMOUNT_PLACES, decimal_places
from .text import excerpt

FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")
# What the database columns hold (PostgreSQL integer; numeric(20, 6)).
MAX_COUNT = 2_147_483_647
MAX_AMOUNT = Decimal("99999999999999")


def _largest_total_weight() -> int:
    """How many typed cells the largest computed total adds up (nested totals expanded)."""
    largest = 1
    for fmt in reg.FORMATS.values():
        weight: dict[str, int] = {}
        for target, parts in fmt.totals:  # parts come before their totals
            weight[target] = sum(weight.get(part, 1) for part in parts)
        largest = max(largest, *weight.values())
    return largest


# One typed count, bounded so that every total derived from it still fits
# the integer column even when all its parts hold the largest value.
MAX_CELL_COUNT = MAX_COUNT // _largest_total_weight()
BLANK_MARKS = {"", "/", "／", "-", "—", "－", "不适用"}
# ASCII digits only: \d would take Arabic-Indic or Devanagari digits as numbers.
INTEGER = re.compile(r"^[+-]?[0-9]+$")
DECIMAL = re.compile(r"^[+-]?[0-9]+(\.[0-9]+)?$")


class CellInputError(CodedError, ValueError):
    """What a clerk typed cannot be a value of this cell."""


def normalize(text: str) -> str:
    text = str(text).translate(FULL_WIDTH).strip()
    text = text.replace("−", "-")
    # Thousands separators and inner spaces from spreadsheets: 1,234 / 1 234
    return re.sub(r"(?<=[0-9])[,\s](?=[0-9]{3}\b)", "", text, flags=re.ASCII).replace(" ", "")


# An example of an amount as its field's unit writes it: 万元 to four places (one 元), 元 to two (分).
AMOUNT_EXAMPLES = {"万元": "12.5000", "元": "1250 或 12.50"}


def amount_example(unit: str | None) -> str:
    return AMOUNT_EXAMPLES.get(unit or "万元", AMOUNT_EXAMPLES["万元"])


def parse_cell(text: str | None, kind: CellKind, *, unit: str | None = None) -> int | str | None:
    """The stored value for typed text: int for counts, decimal string for amounts, None for blank.

    ``unit`` (万元 by default, as the statutory tables print amounts) shapes the
    example an error gives, so that it fits the field.
    """
    if text is None:
        return None
    value = normalize(text)
    if value in BLANK_MARKS:
        return None
    if kind == CellKind.AMOUNT:
        if not DECIMAL.match(value):
            raise CellInputError(
                f"“{excerpt(text)}”不是金额，请填写以{unit or '万元'}为单位的数字，如 {amount_example(unit)}。",
                "not_a_number",
                {"value": excerpt(text), "unit": unit or "万元"},
            )
        amount = Decimal(value)
        if amount < 0:
            raise CellInputError("金额不能为负数。", "negative")
        if decimal_places(amount) > MAX_AMOUNT_PLACES:
            raise CellInputError(f"金额最多保留{MAX_AMOUNT_PLACES}位小数。", "too_precise")
        if amount > MAX_AMOUNT:
            raise CellInputError("金额过大，请核对单位。", "too_large", {"max": str(MAX_AMOUNT)})
        return str(amount)
    if not INTEGER.match(value):
        if DECIMAL.match(value):
            raise CellInputError(f"“{excerpt(text)}”不是整数，件数须为整数。", "not_integer", {"value": excerpt(text)})
        raise CellInputError(f"“{excerpt(text)}”不是数字，请填写整数。", "not_a_number", {"value": excerpt(text)})
    if len(value.lstrip("+-").lstrip("0")) > len(str(MAX_CELL_COUNT)):
        number = MAX_CELL_COUNT + 1  # no int() of a thousand digits
    else:
        number = int(value)
    if abs(number) > MAX_CELL_COUNT:
        raise CellInputError(f"数值过大（单项不超过{MAX_CELL_COUNT}），请核对。", "too_large", {"max": MAX_CELL_COUNT})
    if number < 0 and kind != CellKind.SIGNED:
        raise CellInputError("件数不能为负数。", "negative")
    return number


def parse_amount_text(text: str | None) -> Decimal | None:
    """An amount typed in a narrative field (the processing fee, in 元)."""
    value = parse_cell(text, CellKind.AMOUNT, unit="元")  # a checked decimal string, or None
    return None if value is None else Decimal(value)
