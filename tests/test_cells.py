"""What clerks type (and paste from Excel/WPS) becomes a stored value or a clear error."""

import pytest

from disclosure.cells import CellInputError, parse_cell
from disclosure.formats import CellKind


@pytest.mark.parametrize(
    "text, expected",
    [
        ("12", 12),
        (" １２ ", 12),
        ("1,234", 1234),
        ("1 234", 1234),
        ("0", 0),
        ("", None),
        ("  ", None),
        ("/", None),
        ("—", None),
        ("不适用", None),
        (None, None),
    ],
)
def test_it_reads_counts(text, expected):
    assert parse_cell(text, CellKind.COUNT) == expected


@pytest.mark.parametrize(
    "text, code",
    [("-1", "negative"), ("1.5", "not_integer"), ("abc", "not_a_number"), ("1(增加)", "not_a_number")],
)
def test_it_refuses_bad_counts_with_a_reason(text, code):
    with pytest.raises(CellInputError) as info:
        parse_cell(text, CellKind.COUNT)
    assert info.value.code == code and info.value.message


def test_it_allows_negatives_only_for_signed_cells():
    assert parse_cell("-3", CellKind.SIGNED) == -3
    assert parse_cell("－3", CellKind.SIGNED) == -3


def test_it_reads_amounts_as_decimal_text():
    assert parse_cell("12.5", CellKind.AMOUNT) == "12.5"
    assert parse_cell("１２．５０００", CellKind.AMOUNT) == "12.5000"
    with pytest.raises(CellInputError):
        parse_cell("-1", CellKind.AMOUNT)
    with pytest.raises(CellInputError):
        parse_cell("1.1234567", CellKind.AMOUNT)
