"""Interchange JSON: schema, canonical form, lossless round trip through the database."""

import copy
import json
import random

import pytest

from disclosure.interchange import (
    SCHEMA_PATH,
    InvalidDocument,
    build_schema,
    canonicalize,
    derive_totals,
    dumps,
    format_amount,
    load_document,
    validate_document,
)
from disclosure.models import ApplicationRow, AuditEvent, Report
from disclosure.selectors import export_report
from disclosure.services import create_report, import_document

from .factories import SEED_FILES, balanced_document, seed


def test_it_keeps_the_committed_schema_in_step_with_the_registry():
    assert json.loads(SCHEMA_PATH.read_text(encoding="utf-8")) == build_schema()


@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_it_validates_every_seed_and_finds_it_canonical(path):
    doc = load_document(path)
    assert canonicalize(doc) == doc
    assert path.read_text(encoding="utf-8") == dumps(doc)


@pytest.mark.django_db
@pytest.mark.parametrize("path", SEED_FILES, ids=lambda p: p.stem)
def test_it_round_trips_every_seed_through_the_database(path):
    doc = load_document(path)
    report = import_document(doc, status=Report.Status.PUBLISHED).report
    assert export_report(Report.objects.get(pk=report.pk)) == doc


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["2019", "2021"])
def test_it_round_trips_a_complete_report_of_each_format(fmt):
    doc = balanced_document(fmt, rng=random.Random(3))
    report = import_document(doc).report
    assert export_report(report) == doc


@pytest.mark.django_db
def test_it_keeps_blank_cells_null_and_never_zero_fills():
    doc = seed("000")
    assert doc["applications"]["new_received"]["natural_person"] is None
    report = import_document(doc).report
    row = ApplicationRow.objects.get(report=report, row="new_received")
    assert row.natural_person is None
    assert export_report(report)["applications"]["new_received"]["natural_person"] is None


@pytest.mark.django_db
def test_it_reports_printed_totals_that_disagree_and_keeps_them():
    doc = balanced_document("2021")
    doc["applications"]["granted"]["total"] += 5
    result = import_document(doc)
    assert export_report(result.report)["applications"]["granted"]["total"] == doc["applications"]["granted"]["total"]
    assert {f.rule for f in result.findings} == {
        "applications.total_column",
        "applications.outcome_total",
        "applications.balance",
    }
    assert "applications.granted.total" in {c for f in result.findings for c in f.cells}


@pytest.mark.django_db
def test_it_derives_blank_totals_whose_parts_are_known():
    doc = balanced_document("2021")
    expected = doc["applications"]["granted"]["total"]
    doc["applications"]["granted"]["total"] = None
    doc["reviews"]["reconsideration"]["total"] = None
    exported = export_report(import_document(doc).report)
    assert exported["applications"]["granted"]["total"] == expected
    assert exported["reviews"]["reconsideration"]["total"] is not None


def test_it_fills_the_canonical_structure_of_a_partial_draft():
    doc = canonicalize(
        {
            "schema": "disclosure-report/1",
            "format": "2019",
            "year": 2020,
            "organization": {"name": "某局", "code": "x", "kind": "department"},
            "applications": {"granted": {"natural_person": 2}},
        }
    )
    assert len(doc["applications"]) == 23
    assert doc["applications"]["granted"] == {
        "natural_person": 2,
        "commercial": None,
        "research": None,
        "social_welfare": None,
        "legal_service": None,
        "other_org": None,
        "total": None,
    }
    assert doc["active_disclosure"]["art20_9"]["unit"] == "万元"
    assert doc["narrative"]["other_matters"] == {"other": ""}


def test_it_refuses_documents_that_do_not_fit_the_schema():
    good = balanced_document("2021")
    for mutate, code in [
        (lambda d: d.pop("organization"), "schema"),
        (lambda d: d.update(schema="disclosure-report/2"), "schema"),
        (lambda d: d["applications"]["granted"].update(bogus=1), "schema"),
        (lambda d: d["active_disclosure"]["art20_8"]["fees"].update(amount=1.5), "schema"),
        (lambda d: d.update(year=2020), "format_year_mismatch"),
        (lambda d: d["applications"].update(other={"natural_person": 0}), "schema"),  # 2019-only row
    ]:
        doc = copy.deepcopy(good)
        mutate(doc)
        with pytest.raises(InvalidDocument) as info:
            validate_document(doc)
        assert info.value.code == code


def test_it_explains_schema_errors_in_chinese():
    doc = balanced_document("2021")
    doc.pop("year")
    with pytest.raises(InvalidDocument) as info:
        validate_document(doc)
    assert "缺少必填项" in info.value.messages[0] and "year" in info.value.messages[0]


def test_it_formats_amounts_to_at_least_four_places():
    from decimal import Decimal

    assert format_amount(Decimal("0")) == "0.0000"
    assert format_amount(Decimal("12.5")) == "12.5000"
    assert format_amount(Decimal("1.234567")) == "1.234567"
    assert format_amount(None) is None


def test_it_recomputes_every_total_when_asked_to_overwrite():
    doc = balanced_document("2021")
    doc["applications"]["granted"]["total"] = 999
    assert derive_totals(doc)["applications"]["granted"]["total"] == 999
    assert derive_totals(doc, overwrite=True)["applications"]["granted"]["total"] != 999


@pytest.mark.django_db
def test_it_refuses_to_overwrite_an_existing_report_unless_asked(department):
    doc = balanced_document("2021")
    import_document(doc)
    with pytest.raises(InvalidDocument) as info:
        import_document(doc)
    assert info.value.code == "report_exists"
    doc["applications"]["granted"]["natural_person"] += 1
    result = import_document(doc, replace=True)
    assert not result.created
    event = AuditEvent.objects.filter(action="report.imported").first()
    assert (
        event.data["changes"]["applications.granted.natural_person"][1]
        == doc["applications"]["granted"]["natural_person"]
    )


@pytest.mark.django_db
def test_it_refuses_values_the_database_cannot_hold_and_writes_nothing():
    doc = balanced_document("2021")
    doc["applications"]["granted"]["natural_person"] = -2
    with pytest.raises(InvalidDocument) as info:
        import_document(doc)
    assert info.value.code == "cells"
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_it_creates_an_empty_draft_with_every_row(department):
    report = create_report(department, 2021)
    doc = export_report(report)
    assert report.format == "2021"
    assert report.title == "测试局2021年政府信息公开工作年度报告"
    assert report.application_rows.count() == 25 and report.review_rows.count() == 3
    assert all(v is None for v in doc["applications"]["granted"].values())
    assert AuditEvent.objects.filter(report=report, action="report.created").exists()


@pytest.mark.django_db
def test_it_refuses_an_imported_narrative_longer_than_the_editor_allows_and_writes_nothing():
    from disclosure.formats.common import NARRATIVE_PART_MAX_CHARS

    doc = balanced_document("2021")
    doc["narrative"]["problems"] = "字" * (NARRATIVE_PART_MAX_CHARS + 1)
    with pytest.raises(InvalidDocument) as info:
        import_document(doc)
    assert info.value.code == "narrative_too_long"
    assert info.value.params == {"parts": ["narrative.problems"]}
    assert f"不能超过{NARRATIVE_PART_MAX_CHARS}字" in info.value.messages[0]
    assert not Report.objects.exists()


@pytest.mark.django_db
def test_it_refuses_an_imported_count_the_editor_would_refuse():
    """Stored, it came back at the clerk's every save of the step as an error they had not made."""
    from disclosure.cells import MAX_CELL_COUNT

    doc = balanced_document("2021")
    doc["applications"]["granted"]["natural_person"] = MAX_CELL_COUNT + 1
    doc["applications"]["granted"]["total"] = None
    with pytest.raises(InvalidDocument) as info:
        import_document(doc)
    assert info.value.code == "too_large" and info.value.params == {"cell": "applications.granted.natural_person"}
    assert not Report.objects.exists()
