"""Text that cannot be stored: NUL bytes and lone surrogates.

PostgreSQL refuses both (and SQLite would store what no page can show), so
they are refused at the edge with one Chinese message instead of a 500.
"""

from __future__ import annotations

import re
from typing import Any

BAD_TEXT_MESSAGE = "内容含有无法保存的控制字符或无效字符，请删除后重试。"


def is_bad_text(value: str) -> bool:
    """True for text holding a NUL byte or a lone (unpaired) surrogate."""
    if "\x00" in value:
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def has_bad_text(value: Any) -> bool:
    """Anywhere in a decoded JSON value: keys, strings, nested lists and objects."""
    if isinstance(value, str):
        return is_bad_text(value)
    if isinstance(value, dict):
        return any(has_bad_text(k) or has_bad_text(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(has_bad_text(v) for v in value)
    return False


def excerpt(value: Any, limit: int = 20) -> str:
    """The start of a value, for echoing it in a message (a 1 MB paste is not repeated whole)."""
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "…"


# Spreadsheets run a cell that starts with these as a formula (OWASP: CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# A signed number written as text ("-3", "12.5000") stays a number.
PLAIN_NUMBER = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?", re.ASCII)


def is_formula_like(value: Any) -> bool:
    """True for text a spreadsheet would read as a formula; numbers never are."""
    return isinstance(value, str) and value.startswith(FORMULA_TRIGGERS) and not PLAIN_NUMBER.fullmatch(value)


def spreadsheet_safe(value: Any) -> Any:
    """A value for a CSV or spreadsheet cell: formula-like text gets a leading ', the rest is unchanged."""
    return "'" + value if is_formula_like(value) else value


def whole_number(value: Any, *, max_digits: int = 10) -> int | None:
    """A posted whole number in ASCII digits, else None.

    Bounded before ``int()``: Python refuses to convert more than 4300 digits
    (a ValueError, so a 500 where it was not caught), and a version, a year or
    a revision number never needs more than ten.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > max_digits or not (text.isascii() and text.isdigit()):
        return None
    return int(text)
