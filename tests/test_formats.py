"""The format registry: one source of truth, as the spec lays it out."""

import re
import subprocess
from pathlib import Path

import pytest

from disclosure import formats as reg
from disclosure.models import ActiveDisclosureRow, ApplicationRow, ReviewRow

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "code, active, applications, reviews, rows",
    [("2019", 22, 161, 15, 23), ("2021", 10, 175, 15, 25)],
)
def test_it_has_the_cell_counts_of_the_spec(code, active, applications, reviews, rows):
    fmt = reg.get_format(code)
    counts = {
        s: sum(1 for c in fmt.cells() if c.section == s) for s in ("active_disclosure", "applications", "reviews")
    }
    assert counts == {"active_disclosure": active, "applications": applications, "reviews": reviews}
    assert len(fmt.applications_rows) == rows


def test_it_picks_the_format_from_the_year():
    assert [reg.format_for_year(y).code for y in (2019, 2020, 2021, 2030)] == ["2019", "2019", "2021", "2021"]
    with pytest.raises(reg.UnknownFormat):
        reg.format_for_year(2018)


def test_it_marks_the_computed_cells():
    fmt = reg.get_format("2021")
    computed = {c.ref for c in fmt.cells() if c.computed}
    assert "applications.outcome_total.natural_person" in computed
    assert "applications.granted.total" in computed
    assert "reviews.litigation_after.total" in computed
    assert "applications.granted.natural_person" not in computed
    assert len(computed) == 25 + 6 + 3


def test_it_sums_the_outcome_rows_of_each_format():
    assert [r.code for r in reg.get_format("2019").outcome_rows][-1] == "other"
    assert len(reg.get_format("2019").outcome_rows) == 19
    assert len(reg.get_format("2021").outcome_rows) == 21


def test_it_mirrors_every_registry_column_in_the_models():
    def fields(model):
        return {f.name for f in model._meta.concrete_fields} - {"id", "report", "subtable", "row", "block"}

    assert fields(ActiveDisclosureRow) == set(reg.active_disclosure_columns())
    for fmt in reg.FORMATS.values():
        assert fields(ApplicationRow) == {c.code for c in fmt.applications_columns}
        assert fields(ReviewRow) == {c.code for c in fmt.reviews_columns}


def _statutory_labels() -> set[str]:
    labels = set()
    for fmt in reg.FORMATS.values():
        labels |= {s.title for s in fmt.sections}
        labels |= {t.caption for t in fmt.active_disclosure}
        labels |= {r.label for r in fmt.applications_rows if len(r.label) >= 6}
        labels |= {c.label for t in fmt.active_disclosure for c in t.columns if len(c.label) >= 6}
        labels |= {p.label for p in fmt.narrative if len(p.label) >= 6}
        labels.add(fmt.applications_note)
    return labels


def test_it_types_no_statutory_label_outside_the_registry():
    tracked = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "*.py", "*.html", "*.js"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    allowed = re.compile(r"^(disclosure/formats/|disclosure/migrations/|tests/)")
    offenders = []
    for name in tracked:
        if allowed.match(name) or not (ROOT / name).exists():
            continue
        text = (ROOT / name).read_text(encoding="utf-8")
        offenders += [f"{name}: {label}" for label in _statutory_labels() if label in text]
    assert offenders == []


@pytest.mark.parametrize("code", ["2019", "2021"])
def test_it_labels_every_ref_of_a_document_from_the_registry(code):
    from disclosure.services import flatten

    from .factories import balanced_document

    fmt = reg.get_format(code)
    labels = {ref: fmt.label_of(ref) for ref in flatten(balanced_document(code))}
    assert all(label and label != ref for ref, label in labels.items())
    assert labels["issued_on"] == "成文日期"
    if code == "2021":
        assert labels["narrative.other_matters.processing_fee.amount_yuan"] == "收取信息处理费情况金额（元）"
    else:
        unit = next(ref for ref in labels if ref.endswith(".unit"))
        assert labels[unit].endswith("金额单位")
    with pytest.raises(KeyError):
        fmt.label_of("narrative.overview.amount_yuan")


def test_it_states_an_amount_unit_in_at_most_one_table():
    # Report.procurement_unit holds one unit per report.
    assert all(sum(t.has_unit for t in fmt.active_disclosure) <= 1 for fmt in reg.FORMATS.values())
    fmt = reg.get_format("2019")
    assert fmt.unit_of(None) == reg.DEFAULT_PROCUREMENT_UNIT
    assert reg.get_format("2021").unit_table is None and reg.get_format("2021").unit_of({}) is None
