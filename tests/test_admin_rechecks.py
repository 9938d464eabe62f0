"""Admin changes that change what other reports are compared with: a deleted report
(next year's outlier figures and cross-year checks), an organization created or moved
(the 汇总 government above it has other inputs)."""

import random

import pytest
from django.contrib import admin
from django.test import RequestFactory

from disclosure.models import Organization, Report

from .factories import balanced_document
from .test_outlier_figures import fresh, stored
from .test_rollup_jurisdiction import (
    build_rollup,
    city,  # noqa: F401 - the fixture
    fill_from_rollup,
    offerable,
)

pytestmark = pytest.mark.django_db


def _request(admin_user):
    request = RequestFactory().post("/admin/")
    request.user = admin_user
    request._messages = type("Messages", (), {"add": lambda *a, **k: None})()
    return request


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.org", "unused-pass-1")


def test_it_derives_next_years_figures_again_when_a_report_is_deleted(
    world, superuser, django_capture_on_commit_callbacks
):
    from disclosure.services.core import import_document

    last = import_document(balanced_document("2021", year=2021, rng=random.Random(1)), status="draft").report
    import_document(balanced_document("2021", year=2022, rng=random.Random(2)))
    assert any(previous is not None for *_, previous, _jump in stored())
    with django_capture_on_commit_callbacks(execute=True):
        admin.site._registry[Report].delete_model(_request(superuser), last)
    assert stored() == fresh()
    assert all(previous is None for *_, previous, _jump in stored())


def _filled(city):  # noqa: F811 - the fixture's report
    figures = offerable(build_rollup(city.organization, 2021, lists=False))
    fill_from_rollup(city, actor=None, refs=list(figures), shown=figures, bases={})
    city.refresh_from_db()
    assert not {"hierarchy.rollup", "hierarchy.undecided"} & set(city.finding_rules)


def test_it_checks_the_city_again_when_a_department_is_created_below_it(
    city,  # noqa: F811
    superuser,
    django_capture_on_commit_callbacks,
):
    _filled(city)
    new = Organization(name="新设局", code="city-new", kind="department", parent=city.organization)
    with django_capture_on_commit_callbacks(execute=True):
        admin.site._registry[Organization].save_model(_request(superuser), new, None, False)
    city.refresh_from_db()
    assert "hierarchy.undecided" in city.finding_rules  # a department without a report


def test_it_checks_the_city_again_when_a_department_moves_away(
    city,  # noqa: F811
    superuser,
    django_capture_on_commit_callbacks,
):
    _filled(city)
    elsewhere = Organization.objects.create(name="他市人民政府", code="elsewhere", kind="government")
    moved = Organization.objects.get(code="city-edu")
    moved.parent = elsewhere
    with django_capture_on_commit_callbacks(execute=True):
        admin.site._registry[Organization].save_model(_request(superuser), moved, None, True)
    city.refresh_from_db()
    assert "hierarchy.rollup" in city.finding_rules  # its 33 applications left the city's inputs
