"""The hierarchy rules: a government's 汇总 report against its children's roll-up (issue 15, ADR 0016)."""

from __future__ import annotations

import random

import pytest

from disclosure.jurisdiction.rollup import build_rollup, hierarchy_input
from disclosure.models import Organization, Report
from disclosure.rules import check_document
from disclosure.selectors import export_report, report_queryset
from disclosure.services.core import create_report, import_document
from disclosure.services.editing import save_edits
from disclosure.services.findings import store_findings
from disclosure.services.rollup import fill_from_rollup, offerable, set_report_scope

from .factories import balanced_document

pytestmark = pytest.mark.django_db
CELL = "applications.new_received.natural_person"


@pytest.fixture
def government(world):
    """甲区人民政府 reports for its departments; both have approved reports; its own report
    is filled from their roll-up."""
    district = world.office.parent
    rng = random.Random(21)
    for code, status in (("test-org", "approved"), ("sibling", "published")):
        import_document(balanced_document("2021", year=2021, rng=rng, org_code=code), status=status)
    set_report_scope(district, "rollup", actor=None)
    district.refresh_from_db()
    report = create_report(district, 2021)
    figures = offerable(build_rollup(district, 2021, lists=False))
    fill_from_rollup(report, actor=None, refs=list(figures), shown=figures, bases={})
    return report_queryset().get(pk=report.pk)


def _hierarchy(report: Report):
    report = report_queryset().get(pk=report.pk)
    findings = check_document(export_report(report), None, hierarchy_input(report))
    return [f for f in findings if f.rule.startswith("hierarchy.")]


def test_it_passes_a_government_report_equal_to_its_childrens_roll_up(government):
    assert _hierarchy(government) == []
    store_findings(government)
    assert not {"hierarchy.rollup", "hierarchy.undecided"} & set(government.finding_rules)


def test_it_warns_cell_by_cell_where_the_governments_figure_differs(government):
    summed = build_rollup(government.organization, 2021, lists=False).value(CELL)
    save_edits(government, actor=None, bases={CELL: str(summed)}, cells={CELL: str(summed + 3)})
    findings = _hierarchy(government)
    assert [(f.rule, f.severity, f.cells) for f in findings] == [("hierarchy.rollup", "warning", (CELL,))]
    assert f"为{summed + 3}" in findings[0].message and f"汇总为{summed}" in findings[0].message
    government.refresh_from_db()
    assert "hierarchy.rollup" in government.finding_rules and government.warning_count >= 1


def test_it_says_it_cannot_tell_while_a_childs_report_is_missing(government, django_capture_on_commit_callbacks):
    late = Organization.objects.create(name="迟报局", code="late", kind="department", parent=government.organization)
    findings = _hierarchy(government)
    assert [f.rule for f in findings] == ["hierarchy.undecided"]  # never a pass, never a false fail
    assert "无法判断" in findings[0].message and "迟报局" in findings[0].message
    store_findings(government)
    assert "hierarchy.undecided" in government.finding_rules
    # The late office's report is approved: the government's stored counts follow after commit.
    with django_capture_on_commit_callbacks(execute=True):
        doc = balanced_document("2021", year=2021, rng=random.Random(1), org_code=late.code)
        doc["applications"]["new_received"]["natural_person"] = 0
        import_document(doc, status="approved")
    government.refresh_from_db()
    assert "hierarchy.undecided" not in government.finding_rules
    assert "hierarchy.rollup" in government.finding_rules  # the late office added figures


def test_it_fails_a_figure_that_the_approved_children_alone_already_exceed(government):
    Organization.objects.create(name="迟报局", code="late", kind="department", parent=government.organization)
    summed = build_rollup(government.organization, 2021, lists=False).value(CELL)
    save_edits(government, actor=None, bases={CELL: str(summed)}, cells={CELL: str(summed - 1)})
    rules = sorted(f.rule for f in _hierarchy(government))
    assert rules == ["hierarchy.rollup", "hierarchy.undecided"]


def test_it_does_not_apply_to_a_report_of_its_own_level(government):
    set_report_scope(government.organization, "own", actor=None)
    government.refresh_from_db()
    assert hierarchy_input(government) is None and _hierarchy(government) == []
    # Without the database's context (a file on the command line) the rules do not run.
    assert not [f for f in check_document(export_report(government)) if f.rule.startswith("hierarchy.")]


def test_it_cannot_tell_a_cell_that_a_childs_approved_report_left_blank(government):
    from disclosure.models import ApplicationRow

    ApplicationRow.objects.filter(report__organization__code="sibling", row="new_received").update(natural_person=None)
    findings = _hierarchy(government)
    assert [(f.rule, f.cells) for f in findings] == [("hierarchy.undecided", (CELL,))]
    assert "无法判断1个单元格" in findings[0].message
