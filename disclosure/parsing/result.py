"""What a parse returns: the document, and what could not be placed."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import formats as reg
from ..interchange import cell_value


@dataclass(frozen=True)
class Problem:
    """Something the parser could not place or had to note, in Chinese for the clerk.

    Codes: ``row_missing`` (a row's label was not found), ``row_empty`` (the
    label is printed without numbers), ``cells_not_applicable`` (printed as
    / - — 不适用), ``cells_blank`` (an empty cell), ``column_missing`` (a
    header lacks a column), ``numbers_left_over`` (numbers that belong to no
    cell), ``not_whole`` (a fraction in a count cell), ``unit_converted``,
    ``format_conflict``, ``section_missing``, ``digits_ambiguous`` (digits that ran
    together in a flattened line and split more than one way, or none: ``candidates``).
    """

    code: str
    message: str
    cells: tuple[str, ...] = ()
    where: str = ""
    # digits_ambiguous: every split of the run-together digits that fits the table, one value per cell.
    candidates: tuple[tuple[int, ...], ...] = ()

    def as_dict(self) -> dict[str, Any]:
        out = {"code": self.code, "message": self.message, "cells": list(self.cells), "where": self.where}
        if self.candidates:
            out["candidates"] = [list(c) for c in self.candidates]
        return out


@dataclass
class ParseResult:
    document: dict
    problems: list[Problem] = field(default_factory=list)
    kind: str = ""  # the file kind that was read: text, html, docx, pdf, xlsx
    # Text and HTML: how the bytes were decoded, e.g. "utf-8", "gb18030", "gb18030 (declared gbk)", "utf-8 (BOM)".
    encoding: str = ""
    # A government page's site-specification meta tags (ArticleTitle, PubDate, ContentSource,
    # SiteName, ColumnName) as printed. PubDate is when the site published it, not 成文日期.
    page: dict[str, str] = field(default_factory=dict)
    # The year the file itself states (title or preamble); None when it states none and the
    # caller's year was used. A caller's year never overrides a year the file states
    # (``parse_report(year=…)`` does: the comparison is the caller's to make).
    file_year: int | None = None
    # Where the title, organization, date and year were found: title, title_line, meta:ArticleTitle,
    # signature (落款), meta:ContentSource, subtitle, given (the caller's), preamble.
    sources: dict[str, str] = field(default_factory=dict)
    pages: int | None = None  # PDF pages read (None for other kinds)

    def info(self) -> dict[str, Any]:
        """How the file was read, as PendingImport.info keeps it."""
        out: dict[str, Any] = {"kind": self.kind, "encoding": self.encoding, "sources": dict(self.sources)}
        if self.pages is not None:
            out["pages"] = self.pages
        if self.file_year is not None:
            out["file_year"] = self.file_year
        if self.page:
            out["page"] = dict(self.page)
        return out

    @property
    def missing_cells(self) -> list[str]:
        """Refs of every statutory cell that came out null, in printed order."""
        fmt = reg.get_format(self.document["format"])
        return [spec.ref for spec in fmt.cells() if cell_value(self.document, spec) is None]

    @property
    def complete(self) -> bool:
        return not self.missing_cells
