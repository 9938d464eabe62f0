"""What a clerk types into a cell, turned into a stored value (or a clear error).

Offices paste from Excel and WPS: full-width digits, thousands separators and
stray spaces are normal. Blank is not zero; "/" and friends mean blank.
"""

from __future__ import annotations

import re
from decimal import Decimal

from .formats import CellKind
from .interchange import MAX_AMOUNT_PLACES, decimal_places

FULL_WIDTH = str.maketrans("０１２３４５６７８９．－＋，", "0123456789.-+,")
# What the database columns hold (PostgreSQL integer; numeric(20, 6)).
MAX_COUNT = 2_147_483_647
MAX_AMOUNT = Decimal("99999999999999")
BLANK_MARKS = {"", "/", "／", "-", "—", "－", "不适用"}
INTEGER = re.compile(r"^[+-]?\d+$")
DECIMAL = re.compile(r"^[+-]?\d+(\.\d+)?$")


class CellInputError(ValueError):
    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def normalize(text: str) -> str:
    text = str(text).translate(FULL_WIDTH).strip()
    text = text.replace("−", "-")
    # Thousands separators and inner spaces from spreadsheets: 1,234 / 1 234
    return re.sub(r"(?<=\d)[,\s](?=\d{3}\b)", "", text).replace(" ", "")


def parse_cell(text: str | None, kind: CellKind) -> int | str | None:
    """The stored value for typed text: int for counts, decimal string for amounts, None for blank."""
    if text is None:
        return None
    value = normalize(text)
    if value in BLANK_MARKS:
        return None
    if kind == CellKind.AMOUNT:
        if not DECIMAL.match(value):
            raise CellInputError(f"“{text}”不是金额，请填写数字，如 12.5000。", "not_a_number")
        amount = Decimal(value)
        if amount < 0:
            raise CellInputError("金额不能为负数。", "negative")
        if decimal_places(amount) > MAX_AMOUNT_PLACES:
            raise CellInputError(f"金额最多保留{MAX_AMOUNT_PLACES}位小数。", "too_precise")
        if amount > MAX_AMOUNT:
            raise CellInputError("金额过大，请核对单位。", "too_large")
        return str(amount)
    if not INTEGER.match(value):
        if DECIMAL.match(value):
            raise CellInputError(f"“{text}”不是整数，件数须为整数。", "not_integer")
        raise CellInputError(f"“{text}”不是数字，请填写整数。", "not_a_number")
    number = int(value)
    if abs(number) > MAX_COUNT:
        raise CellInputError("数值过大，请核对。", "too_large")
    if number < 0 and kind != CellKind.SIGNED:
        raise CellInputError("件数不能为负数。", "negative")
    return number


def parse_amount_text(text: str | None) -> Decimal | None:
    """An amount typed in a narrative field (the processing fee, in 元)."""
    value = parse_cell(text, CellKind.AMOUNT)  # a checked decimal string, or None
    return None if value is None else Decimal(value)
