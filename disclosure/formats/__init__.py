"""The registry of statutory format versions (spec §1).

``format_for_year`` picks the version in force for a report year; adding a
revision means adding its module to ``FORMATS``.
"""

from .base import (
    DEFAULT_PROCUREMENT_UNIT,
    REPORT_NAME,
    Block,
    CellKind,
    CellSpec,
    Column,
    Format,
    NarrativePart,
    Requirement,
    Row,
    Section,
    SubTable,
)
from .v2019 import FORMAT as FORMAT_2019
from .v2021 import FORMAT as FORMAT_2021

FORMATS: dict[str, Format] = {f.code: f for f in (FORMAT_2019, FORMAT_2021)}
FIRST_YEAR = min(f.first_year for f in FORMATS.values())


class UnknownFormat(LookupError):
    pass


def get_format(code: str) -> Format:
    try:
        return FORMATS[code]
    except KeyError:
        raise UnknownFormat(code) from None


def format_for_year(year: int) -> Format:
    """The format in force for a report year: the newest one not after it."""
    eligible = [f for f in FORMATS.values() if f.first_year <= year]
    if not eligible:
        raise UnknownFormat(str(year))
    return max(eligible, key=lambda f: f.first_year)


def all_row_codes(section: str) -> set[str]:
    """Every row code a section uses in any format (for database constraints)."""
    codes: set[str] = set()
    for fmt in FORMATS.values():
        if section == "active_disclosure":
            codes |= {r.code for t in fmt.active_disclosure for r in t.rows}
        elif section == "applications":
            codes |= {r.code for r in fmt.applications_rows}
        elif section == "reviews":
            codes |= {b.code for b in fmt.reviews_blocks}
    return codes


def all_subtable_codes() -> set[str]:
    return {t.code for fmt in FORMATS.values() for t in fmt.active_disclosure}


def all_narrative_paths() -> set[str]:
    return {p.path for fmt in FORMATS.values() for p in fmt.narrative}


def active_disclosure_columns() -> dict[str, Column]:
    """Every 第二十条 column code across formats, first declaration wins."""
    columns: dict[str, Column] = {}
    for fmt in FORMATS.values():
        for table in fmt.active_disclosure:
            for col in table.columns:
                columns.setdefault(col.code, col)
    return columns


__all__ = [
    "Block",
    "CellKind",
    "CellSpec",
    "Column",
    "DEFAULT_PROCUREMENT_UNIT",
    "REPORT_NAME",
    "FIRST_YEAR",
    "FORMATS",
    "Format",
    "NarrativePart",
    "Requirement",
    "Row",
    "Section",
    "SubTable",
    "UnknownFormat",
    "all_narrative_paths",
    "all_row_codes",
    "all_subtable_codes",
    "active_disclosure_columns",
    "format_for_year",
    "get_format",
]
