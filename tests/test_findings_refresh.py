"""``manage.py refresh_findings`` checks a 汇总 government's report once, however many
children it has (each child's store used to re-check the parent)."""

from __future__ import annotations

import random
from collections import Counter
from io import StringIO

import pytest
from django.core.management import call_command

from disclosure.jurisdiction import rollup
from disclosure.models import Organization, Report
from disclosure.selectors import check_report, report_queryset
from disclosure.services.core import create_report, import_document
from disclosure.services.findings import finding_columns, parent_checks_once, store_findings, with_hierarchy
from disclosure.services.rollup import set_report_scope

from .factories import balanced_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def government(world):
    """甲区人民政府 reports for its departments (six of them, with approved reports)."""
    district = world.office.parent
    for i in range(4):
        Organization.objects.create(name=f"部门{i}局", code=f"dept{i}", kind="department", parent=district)
    for i, code in enumerate(["test-org", "sibling", "dept0", "dept1", "dept2", "dept3"]):
        import_document(balanced_document("2021", year=2021, rng=random.Random(i), org_code=code), status="approved")
    set_report_scope(district, "rollup", actor=None)
    district.refresh_from_db()
    return create_report(district, 2021)


@pytest.fixture
def checks(monkeypatch) -> Counter:
    """How many times the hierarchy rule's input was built, per report (the real function runs)."""
    counted: Counter = Counter()
    real = rollup.hierarchy_input

    def counting(report: Report):
        counted[report.pk] += 1
        return real(report)

    monkeypatch.setattr(rollup, "hierarchy_input", counting)
    return counted


def _fresh(report: Report) -> dict:
    report = report_queryset().get(pk=report.pk)
    return finding_columns(with_hierarchy(report, check_report(report)))


def test_it_checks_each_rollup_parent_once_per_refresh(government, checks, django_capture_on_commit_callbacks):
    expected = _fresh(government)
    Report.objects.filter(pk=government.pk).update(error_count=9, warning_count=9, finding_rules=["stale"])
    checks.clear()
    with django_capture_on_commit_callbacks(execute=True):  # as outside a test: re-checks run at once
        call_command("refresh_findings", stdout=StringIO())
    assert checks[government.pk] == 1
    assert set(checks) == set(Report.objects.values_list("pk", flat=True))  # every report checked ...
    assert set(checks.values()) == {1}  # ... once
    government.refresh_from_db()
    assert {name: getattr(government, name) for name in expected} == expected


def test_it_checks_a_parent_at_the_end_when_it_was_stored_before_its_children(government, checks):
    children = list(Report.objects.exclude(pk=government.pk).filter(organization__parent=government.organization))
    checks.clear()
    with parent_checks_once():
        store_findings(Report.objects.get(pk=government.pk))
        assert checks[government.pk] == 1
        for child in children:
            store_findings(child)
        assert checks[government.pk] == 1  # not yet: the children may still change
    assert checks[government.pk] == 2  # once more, with the children as stored
