"""Statutory deadlines (条例 art. 49)."""

from __future__ import annotations

import datetime as dt


def deadline(year: int, *, government_level: bool = False) -> dt.date:
    """Departments publish by 31 January; a government's own report by 31 March."""
    return dt.date(year + 1, 3, 31) if government_level else dt.date(year + 1, 1, 31)


def current_report_year(today: dt.date, *, government_level: bool = False) -> int:
    """The year whose report is being written: last year's until its deadline passes."""
    return today.year - 1 if today <= deadline(today.year - 1, government_level=government_level) else today.year


def today() -> dt.date:
    """Today where the offices are (settings.TIME_ZONE); the machine's date outside Django."""
    try:
        from django.utils import timezone

        return timezone.localdate()
    except Exception:  # noqa: BLE001 - no settings configured (a bare script)
        return dt.date.today()


def future_issue_date_message(issued_on: dt.date, now: dt.date | None = None) -> str:
    """Why a 成文日期 after today is refused (the form, the rules and publishing say the same)."""
    now = now or today()
    return (
        f"成文日期{issued_on.year}年{issued_on.month}月{issued_on.day}日晚于今天"
        f"（{now.year}年{now.month}月{now.day}日）；请填写报告实际成文的日期。"
    )
