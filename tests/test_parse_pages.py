"""A table 二 continued on a new page with its 第二十条 caption left on the page before
(issue 14): the rows are placed by their labels, every number right, none dropped.

The PDFs are printed here from generated documents (WeasyPrint): the table is cut
after a caption, and the rest starts a new page, as offices' Word exports do.
"""

from __future__ import annotations

import random
import re

import pytest

from disclosure.parsing import parse_report

from .factories import balanced_document
from .test_parse import cells, render_text
from .test_parse_real import page_of

weasyprint = pytest.importorskip("weasyprint")
CSS = (
    "@page { size: A4; margin: 30mm; @bottom-center { content: '— ' counter(page) ' —' } }"
    "body { font-family: 'Noto Serif CJK SC', serif } td { border: 1px solid black }"
)


def pdf_with_page_break_after(doc: dict, caption: str) -> bytes:
    html = page_of(render_text(doc, random.Random(5)), charset="utf-8", chrome=False)
    row = re.compile(r"(<tr><td>" + re.escape(caption) + r"</td>(?:<td></td>)*</tr>)")
    assert len(row.findall(html)) == 1
    html = row.sub(r"\1</table><table border='1' style='break-before: page'>", html)
    return weasyprint.HTML(string=html).write_pdf(stylesheets=[weasyprint.CSS(string=CSS)])


@pytest.mark.parametrize(
    "fmt_code, caption",
    [
        ("2021", "第二十条第（五）项"),
        ("2021", "第二十条第（六）项"),
        ("2019", "第二十条第（六）项"),
        ("2019", "第二十条第（一）项"),
    ],
)
def test_rows_whose_caption_is_on_the_page_before_are_placed_by_their_labels(fmt_code, caption):
    doc = balanced_document(fmt_code, rng=random.Random(5))
    result = parse_report(pdf_with_page_break_after(doc, caption), filename="report.pdf")
    assert result.pages and result.pages >= 3
    assert cells(result.document) == cells(doc)
    assert not [p for p in result.problems if p.code in ("row_empty", "numbers_left_over", "row_missing")]
