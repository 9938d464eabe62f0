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


@pytest.mark.parametrize("text", ["١٢", "۱۲", "१२", "১২", "１٢"])
def test_it_takes_only_ascii_and_full_width_digits_as_numbers(text):
    for kind in (CellKind.COUNT, CellKind.AMOUNT, CellKind.SIGNED):
        with pytest.raises(CellInputError) as info:
            parse_cell(text, kind)
        assert info.value.code == "not_a_number"


def test_it_bounds_a_count_so_every_derived_total_fits_the_integer_column():
    from disclosure.cells import MAX_CELL_COUNT, MAX_COUNT

    assert parse_cell(str(MAX_CELL_COUNT), CellKind.COUNT) == MAX_CELL_COUNT
    for text in ("2147483647", str(MAX_CELL_COUNT + 1), "9" * 5000, "-2147483647"):
        kind = CellKind.SIGNED if text.startswith("-") else CellKind.COUNT
        with pytest.raises(CellInputError) as info:
            parse_cell(text, kind)
        assert info.value.code == "too_large" and info.value.params == {"max": MAX_CELL_COUNT}
    assert parse_cell("000000000000000012", CellKind.COUNT) == 12
    # The largest total (table 三's （七）总计 of 总计) adds up every applicant cell of every outcome row.
    from disclosure import formats as reg

    fmt = reg.get_format("2021")
    assert len(fmt.outcome_rows) * len(fmt.applicant_columns) * MAX_CELL_COUNT <= MAX_COUNT


def test_it_echoes_only_the_start_of_a_huge_invalid_value():
    with pytest.raises(CellInputError) as info:
        parse_cell("x" * 1_000_000, CellKind.COUNT)
    assert len(info.value.message) < 60 and "xxxxxxxxxxxxxxxxxxxx…" in info.value.message
    with pytest.raises(CellInputError) as info:
        parse_cell("y" * 1_000_000, CellKind.AMOUNT)
    assert len(info.value.message) < 60


@pytest.mark.django_db
def test_it_saves_the_largest_count_in_every_cell_of_table_three_without_a_500(world, report):
    """2147483647 in one cell used to overflow the derived total's column."""
    from django.urls import reverse

    from disclosure.cells import MAX_CELL_COUNT
    from disclosure.models import Report
    from disclosure.services import save_edits

    fmt = report.spec
    refs = [s.ref for s in fmt.cells() if s.section == "applications" and not s.computed and s.kind == CellKind.COUNT]
    version = report.version
    result = save_edits(report, actor=None, expected_version=version, cells={refs[0]: "2147483647"})
    assert result.errors[refs[0]].startswith("数值过大") and not result.changes
    cells = {ref: str(MAX_CELL_COUNT) for ref in refs}
    result = save_edits(report, actor=None, expected_version=version, cells=cells)
    assert not result.errors
    stored = Report.objects.get(pk=report.pk).application_rows.get(row="outcome_total")
    assert stored.total <= 2_147_483_647
    # Through the clerk's form as well: an answer at the cell, not a server error.
    clerk = world.client("owner_clerk")
    url = reverse("workspace:step", args=["test-org", 2021, "applications"])
    page = clerk.post(url, {"version": result.report.version, refs[1]: "2147483647", "goto": "applications"})
    assert page.status_code == 422 and "数值过大" in page.text


def test_it_gives_an_amount_example_that_fits_the_fields_unit():
    """The fee is in 元 (two places, 分); the tables' amounts in 万元 (four places, one 元)."""
    with pytest.raises(CellInputError) as yuan:
        parse_cell("十二元", CellKind.AMOUNT, unit="元")
    assert "元为单位" in yuan.value.message and "12.50" in yuan.value.message
    assert "12.5000" not in yuan.value.message and yuan.value.params["unit"] == "元"
    with pytest.raises(CellInputError) as wan:
        parse_cell("十二万", CellKind.AMOUNT)
    assert "万元" in wan.value.message and "12.5000" in wan.value.message
    from disclosure.cells import parse_amount_text

    with pytest.raises(CellInputError) as fee:
        parse_amount_text("abc")
    assert "12.50" in fee.value.message and "12.5000" not in fee.value.message
