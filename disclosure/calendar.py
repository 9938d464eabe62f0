"""Statutory deadlines (条例 art. 49)."""

from __future__ import annotations

import datetime as dt


def deadline(year: int, *, government_level: bool = False) -> dt.date:
    """Departments publish by 31 January; a government's own report by 31 March."""
    return dt.date(year + 1, 3, 31) if government_level else dt.date(year + 1, 1, 31)


def current_report_year(today: dt.date, *, government_level: bool = False) -> int:
    """The year whose report is being written: last year's until its deadline passes."""
    return today.year - 1 if today <= deadline(today.year - 1, government_level=government_level) else today.year
