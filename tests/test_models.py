"""Database constraints guard the invariants, whatever code writes."""

import pytest
from django.db import IntegrityError, transaction

from disclosure.models import ActiveDisclosureRow, ApplicationRow, AuditEvent, Organization, Report, ReviewRow
from disclosure.services import create_report, record_event

pytestmark = pytest.mark.django_db


def violates(fn) -> bool:
    try:
        with transaction.atomic():
            fn()
    except IntegrityError:
        return True
    return False


def test_it_allows_one_report_per_organization_and_year(department):
    create_report(department, 2021)
    assert violates(lambda: Report.objects.create(organization=department, year=2021, format="2021"))


def test_it_ties_the_format_to_the_year(department):
    assert violates(lambda: Report.objects.create(organization=department, year=2020, format="2021"))
    assert violates(lambda: Report.objects.create(organization=department, year=2022, format="2019"))
    assert violates(lambda: Report.objects.create(organization=department, year=2018, format="2019"))
    assert not violates(lambda: Report.objects.create(organization=department, year=2020, format="2019"))


def test_it_refuses_negative_counts(department):
    report = create_report(department, 2021)
    assert violates(lambda: ApplicationRow.objects.filter(report=report, row="granted").update(research=-1))
    assert violates(lambda: ReviewRow.objects.filter(report=report).update(pending=-1))
    assert violates(lambda: ActiveDisclosureRow.objects.filter(report=report, row="fees").update(amount=-1))


def test_it_allows_a_negative_change_only(department):
    report = create_report(department, 2020)
    assert not violates(lambda: ActiveDisclosureRow.objects.filter(report=report, row="licensing").update(change=-4))
    assert violates(lambda: ActiveDisclosureRow.objects.filter(report=report, row="licensing").update(previous=-4))


def test_it_keeps_one_row_per_code_and_only_known_codes(department):
    report = create_report(department, 2021)
    assert violates(lambda: ApplicationRow.objects.create(report=report, row="granted"))
    assert violates(lambda: ApplicationRow.objects.create(report=report, row="made_up"))
    assert violates(lambda: ReviewRow.objects.create(report=report, block="reconsideration"))


def test_it_refuses_an_unknown_organization_kind():
    assert violates(lambda: Organization.objects.create(name="x", code="x", kind="company"))


def test_it_keeps_the_audit_trail_append_only(department):
    event = record_event("test.event", organization=department, detail=1)
    event.action = "changed"
    with pytest.raises(ValueError):
        event.save()
    with pytest.raises(ValueError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "test.event"


def test_it_constrains_jobs_to_the_kinds_and_states_the_model_names():
    from disclosure.models import Job

    checks = {c.name: dict(c.condition.children) for c in Job._meta.constraints if hasattr(c, "condition")}
    assert sorted(checks["job_kind_valid"]["kind__in"]) == sorted(Job.Kind.values)
    assert sorted(checks["job_status_valid"]["status__in"]) == sorted(Job.Status.values)
