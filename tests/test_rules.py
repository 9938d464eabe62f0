"""One test per rule (a passing and a failing case), plus properties."""

import copy
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disclosure import formats as reg
from disclosure.rules import RULES, Severity, check_document

from .factories import balanced_document, next_year_of


def run(rule: str, doc: dict, previous: dict | None = None):
    from disclosure.rules.engine import Context

    return RULES[rule].run(Context(doc, previous))


@pytest.fixture(params=["2019", "2021"])
def doc(request) -> dict:
    return balanced_document(request.param, rng=random.Random(7))


def test_it_registers_every_rule_of_the_spec():
    assert set(RULES) == {
        "applications.balance",
        "applications.outcome_total",
        "applications.total_column",
        "reviews.total",
        "cells.integer",
        "cells.required",
        "narrative.required",
        "amount.precision",
        "cross_year.carried_over",
        "cross_year.in_force",
        "cross_year.previous",
        "narrative.numbers",
        "narrative.year",
        "cross_year.outlier",
        "header.issued_on",
        "hierarchy.rollup",
        "hierarchy.undecided",
    }


def test_it_finds_nothing_in_a_balanced_complete_report(doc):
    assert check_document(doc) == []


def test_it_reports_severity_per_the_spec():
    severities = {code: r.severity for code, r in RULES.items()}
    assert severities["applications.balance"] == Severity.ERROR
    assert severities["amount.precision"] == Severity.WARNING
    assert severities["narrative.numbers"] == Severity.WARNING
    assert severities["cross_year.outlier"] == Severity.INFO


# -- applications.balance ---------------------------------------------------


def test_it_checks_the_balance_of_each_column(doc):
    assert run("applications.balance", doc) == []
    doc["applications"]["carried_forward"]["research"] += 1
    doc["applications"]["carried_forward"]["total"] += 1
    findings = run("applications.balance", doc)
    assert [f.cells for f in findings] == [
        tuple(f"applications.{r}.{c}" for r in ("new_received", "carried_over", "outcome_total", "carried_forward"))
        for c in ("research", "total")
    ]
    assert "勾稽关系" in findings[0].message and "科研机构" in findings[0].message


def test_it_uses_the_printed_outcome_total_when_outcome_rows_are_blank(doc):
    doc["applications"]["granted"]["commercial"] = None
    assert run("applications.balance", doc) == []
    doc["applications"]["outcome_total"]["commercial"] += 2
    assert [f.cells[0] for f in run("applications.balance", doc)] == ["applications.new_received.commercial"]


# -- applications.outcome_total --------------------------------------------------


def test_it_checks_the_outcome_total_row(doc):
    assert run("applications.outcome_total", doc) == []
    doc["applications"]["outcome_total"]["natural_person"] += 3
    (finding,) = run("applications.outcome_total", doc)
    assert finding.cells[-1] == "applications.outcome_total.natural_person"
    assert all(c.endswith(".natural_person") for c in finding.cells)
    assert "（七）总计" in finding.message


# -- applications.total_column ---------------------------------------------------


def test_it_checks_the_total_column_of_each_row(doc):
    assert run("applications.total_column", doc) == []
    doc["applications"]["rejected_repeat"]["total"] += 1
    (finding,) = run("applications.total_column", doc)
    assert finding.cells == tuple(
        f"applications.rejected_repeat.{c.code}" for c in reg.FORMATS["2021"].applications_columns
    )
    assert "（五）不予处理2.重复申请" in finding.message


# -- reviews.total ---------------------------------------------------------------


def test_it_checks_each_review_block_total(doc):
    assert run("reviews.total", doc) == []
    doc["reviews"]["litigation_after"]["pending"] += 1
    (finding,) = run("reviews.total", doc)
    assert finding.cells[0] == "reviews.litigation_after.upheld"
    assert "复议后起诉" in finding.message


# -- cells.integer ---------------------------------------------------------------


def test_it_rejects_negative_and_fractional_counts(doc):
    assert run("cells.integer", doc) == []
    doc["applications"]["granted"]["research"] = -1
    doc["reviews"]["reconsideration"]["upheld"] = 1.5
    cells = [f.cells for f in run("cells.integer", doc)]
    assert cells == [("applications.granted.research",), ("reviews.reconsideration.upheld",)]


def test_it_allows_a_negative_change_in_the_2019_format():
    doc = balanced_document("2019")
    doc["active_disclosure"]["art20_5"]["licensing"]["change"] = -3
    assert run("cells.integer", doc) == []


def test_it_rejects_negative_amounts():
    doc = balanced_document("2021")
    doc["active_disclosure"]["art20_8"]["fees"]["amount"] = "-1.0000"
    (finding,) = run("cells.integer", doc)
    assert finding.cells == ("active_disclosure.art20_8.fees.amount",)


# -- cells.required --------------------------------------------------------------


def test_it_reports_a_blank_cell_at_that_cell(doc):
    assert run("cells.required", doc) == []
    doc["applications"]["withheld_query"]["legal_service"] = None
    (finding,) = run("cells.required", doc)
    assert finding.cells == ("applications.withheld_query.legal_service",)
    assert "空白" in finding.message and "法律服务机构" in finding.message


def test_it_counts_zero_as_a_value(doc):
    doc["reviews"]["reconsideration"] = dict.fromkeys(doc["reviews"]["reconsideration"], 0)
    assert run("cells.required", doc) == []


# -- narrative.required ----------------------------------------------------------


def test_it_requires_every_overview_part(doc):
    assert run("narrative.required", doc) == []
    doc["narrative"]["overview"]["platform"] = "  "
    (finding,) = run("narrative.required", doc)
    assert finding.cells == ("narrative.overview.platform",)
    assert "政府信息公开平台建设" in finding.message


def test_it_requires_real_content_in_problems(doc):
    doc["narrative"]["problems"] = "无。"
    (finding,) = run("narrative.required", doc)
    assert finding.cells == ("narrative.problems",)


def test_it_requires_evaluation_from_a_government_only():
    doc = balanced_document("2021")
    doc["narrative"]["overview"]["evaluation"] = ""
    assert run("narrative.required", doc) == []
    doc["organization"]["kind"] = "government"
    assert [f.cells for f in run("narrative.required", doc)] == [("narrative.overview.evaluation",)]


def test_it_accepts_none_as_an_other_matters_item():
    doc = balanced_document("2021")
    doc["narrative"]["other_matters"]["innovation"] = "无"
    assert run("narrative.required", doc) == []


# -- amount.precision ------------------------------------------------------------


def test_it_warns_about_more_than_four_decimal_places():
    doc = balanced_document("2021")
    doc["active_disclosure"]["art20_8"]["fees"]["amount"] = "1.23450"  # trailing zero: 4 places
    assert run("amount.precision", doc) == []
    doc["active_disclosure"]["art20_8"]["fees"]["amount"] = "1.23456"
    (finding,) = run("amount.precision", doc)
    assert finding.severity == Severity.WARNING
    assert finding.cells == ("active_disclosure.art20_8.fees.amount",)


# -- cross-year ------------------------------------------------------------------


def test_it_compares_carried_over_with_last_years_carried_forward():
    last = balanced_document("2021", year=2021)
    this = next_year_of(last)
    assert run("cross_year.carried_over", this, last) == []
    this["applications"]["carried_over"]["other_org"] += 1
    (finding,) = run("cross_year.carried_over", this, last)
    assert finding.severity == Severity.WARNING
    assert finding.cells == ("applications.carried_over.other_org",)
    assert "2021年度" in finding.message


def test_it_checks_the_stock_of_documents_in_force():
    last = balanced_document("2021", year=2021)
    this = next_year_of(last)
    assert run("cross_year.in_force", this, last) == []
    this["active_disclosure"]["art20_1"]["normative_documents"]["in_force"] += 2
    (finding,) = run("cross_year.in_force", this, last)
    assert finding.cells[-1] == "active_disclosure.art20_1.normative_documents.in_force"


def test_it_checks_previous_item_counts_in_the_2019_format():
    last = balanced_document("2019", year=2019)
    this = next_year_of(last)
    assert run("cross_year.previous", this, last) == []
    this["active_disclosure"]["art20_6"]["penalty"]["previous"] += 1
    (finding,) = run("cross_year.previous", this, last)
    assert finding.cells == ("active_disclosure.art20_6.penalty.previous",)


def test_it_flags_outliers_as_info():
    last = balanced_document("2021", year=2021)
    this = next_year_of(last)
    last["reviews"]["reconsideration"].update(upheld=10, corrected=0, other=0, pending=0, total=10)
    this["reviews"]["reconsideration"].update(upheld=1, corrected=0, other=0, pending=0, total=1)
    findings = run("cross_year.outlier", this, last)
    assert [f.cells for f in findings if f.cells[0].startswith("reviews")] == [("reviews.reconsideration.total",)]
    assert all(f.severity == Severity.INFO for f in findings)
    this["reviews"]["reconsideration"].update(upheld=9, total=9)
    assert not [f for f in run("cross_year.outlier", this, last) if f.cells[0].startswith("reviews")]


def test_it_skips_cross_year_rules_without_last_year(doc):
    for code in ("cross_year.carried_over", "cross_year.in_force", "cross_year.previous", "cross_year.outlier"):
        assert run(code, doc) == []


def test_it_ignores_a_previous_report_of_another_office_or_year():
    last = balanced_document("2021", year=2021)
    this = next_year_of(last)
    this["applications"]["carried_over"]["other_org"] += 1
    stranger = copy.deepcopy(last)
    stranger["organization"]["code"] = "someone-else"
    assert not [f for f in check_document(this, stranger) if f.rule.startswith("cross_year")]


@pytest.mark.django_db
def test_it_checks_against_last_years_report_of_record():
    from disclosure.models import Report
    from disclosure.selectors import check_report
    from disclosure.services import import_document
    from disclosure.workflow import publish_imported

    last = balanced_document("2021", year=2021)
    this = import_document(next_year_of(last)).report
    assert not [f for f in check_report(this) if f.rule.startswith("cross_year")]  # no last year yet

    # Not published (both years written here): its current state counts.
    stored = import_document(last).report
    assert not [f for f in check_report(this) if f.rule == "cross_year.carried_over"]
    changed = copy.deepcopy(last)
    changed["applications"]["carried_forward"]["other_org"] += 1
    import_document(changed, replace=True)
    assert [f.cells for f in check_report(this) if f.rule == "cross_year.carried_over"] == [
        ("applications.carried_over.other_org",)
    ]

    # Published, and a correction being drafted: the publication counts.
    import_document(last, replace=True, status=Report.Status.PUBLISHED)
    publish_imported(stored)
    import_document(changed, replace=True)
    assert not [f for f in check_report(this) if f.rule == "cross_year.carried_over"]


@pytest.mark.django_db
def test_it_still_compares_with_last_year_after_the_office_changes_its_code():
    from disclosure.models import Organization, Report
    from disclosure.selectors import check_report
    from disclosure.services import import_document
    from disclosure.workflow import publish_imported

    last = balanced_document("2021", year=2021)
    publish_imported(import_document(last, status=Report.Status.PUBLISHED).report)
    this = next_year_of(last)
    this["applications"]["carried_over"]["other_org"] += 1
    report = import_document(this).report
    Organization.objects.filter(pk=report.organization_id).update(code="renamed")
    report = Report.objects.get(pk=report.pk)
    assert [f.cells for f in check_report(report) if f.rule == "cross_year.carried_over"] == [
        ("applications.carried_over.other_org",)
    ]


# -- narrative.numbers -----------------------------------------------------------


def test_it_compares_counts_in_the_narrative_with_table_three():
    doc = balanced_document("2021")
    new = doc["applications"]["new_received"]["total"]
    carried = doc["applications"]["carried_over"]["total"]
    doc["narrative"]["overview"]["on_request"] = f"全年共新收政府信息公开申请{new}件，均按期答复。"
    assert run("narrative.numbers", doc) == []
    doc["narrative"]["overview"]["on_request"] = f"全年共受理政府信息公开申请{new + carried}件。"
    assert run("narrative.numbers", doc) == []  # 受理 may include last year's
    doc["narrative"]["overview"]["on_request"] = f"全年共新收政府信息公开申请{new + 5}件。"
    (finding,) = run("narrative.numbers", doc)
    assert finding.cells == ("narrative.overview.on_request", "applications.new_received.total")


def test_it_reads_chinese_numerals_and_none_received():
    doc = balanced_document("2021")
    apps = doc["applications"]
    apps["new_received"]["total"] = 3
    doc["narrative"]["overview"]["on_request"] = "本年度收到政府信息公开申请三件。"
    assert run("narrative.numbers", doc) == []
    doc["narrative"]["overview"]["on_request"] = "全年没有收到依申请公开政府信息的申请。"
    (finding,) = run("narrative.numbers", doc)
    assert "未收到申请" in finding.message


def test_it_ignores_counts_of_reconsideration_cases():
    doc = balanced_document("2021")
    doc["narrative"]["overview"]["on_request"] = "收到因政府信息公开申请引起的行政复议申请99件。"
    assert run("narrative.numbers", doc) == []


# -- narrative.year ----------------------------------------------------------------


def test_it_warns_when_the_narrative_names_another_year():
    doc = balanced_document("2021", year=2022)
    doc["narrative"]["overview"]["summary"] = "2022年，本局认真贯彻条例。"
    assert run("narrative.year", doc) == []
    doc["narrative"]["overview"]["summary"] = "2021年，本局认真贯彻条例。"
    (finding,) = run("narrative.year", doc)
    assert finding.cells == ("narrative.overview.summary",)
    doc["narrative"]["overview"]["summary"] = ""
    doc["title"] = "测试局2021年政府信息公开工作年度报告"
    (finding,) = run("narrative.year", doc)
    assert finding.cells == ("title",)


# -- properties --------------------------------------------------------------------


TABLE_RULES = {"applications.balance", "applications.outcome_total", "applications.total_column", "reviews.total"}


@settings(max_examples=60, deadline=None)
@given(fmt=st.sampled_from(["2019", "2021"]), seed=st.integers(0, 10_000))
def test_property_random_balanced_tables_pass(fmt, seed):
    assert check_document(balanced_document(fmt, rng=random.Random(seed))) == []


def _table_cells(fmt: reg.Format) -> list[str]:
    return [c.ref for c in fmt.cells() if c.section in ("applications", "reviews")]


@settings(max_examples=200, deadline=None)
@given(
    fmt=st.sampled_from(["2019", "2021"]),
    seed=st.integers(0, 10_000),
    pick=st.integers(0, 10_000),
    delta=st.integers(1, 20),
    up=st.booleans(),
)
def test_property_a_single_changed_cell_is_caught_and_pinned(fmt, seed, pick, delta, up):
    doc = balanced_document(fmt, rng=random.Random(seed))
    refs = _table_cells(reg.get_format(fmt))
    ref = refs[pick % len(refs)]
    section, row, column = ref.split(".")
    value = doc[section][row][column]
    doc[section][row][column] = value + delta if up or value < delta else value - delta

    findings = check_document(doc)

    assert findings, f"changing {ref} went unnoticed"
    assert {f.rule for f in findings} <= TABLE_RULES
    assert all(f.severity == Severity.ERROR for f in findings)
    assert ref in {c for f in findings for c in f.cells}
    for f in findings:
        rows = {c.split(".")[1] for c in f.cells}
        columns = {c.split(".")[2] for c in f.cells}
        assert rows == {row} or columns == {column}, f"{f.rule} names cells outside {ref}'s row and column"
