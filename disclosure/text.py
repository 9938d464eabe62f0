"""Text that cannot be stored: NUL bytes and lone surrogates.

PostgreSQL refuses both (and SQLite would store what no page can show), so
they are refused at the edge with one Chinese message instead of a 500.
"""

from __future__ import annotations

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
