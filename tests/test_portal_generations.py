"""Cached public pages follow what changes them: a report page lists the other years
just published, and the jurisdictions' comparison follows a change of report scope."""

import random

import pytest
from django.urls import reverse

from disclosure.models import Organization, Report
from disclosure.services.core import import_document
from disclosure.services.rollup import set_report_scope
from disclosure.workflow import publish_imported

from .factories import balanced_document
from .test_portal_trends import publish

pytestmark = pytest.mark.django_db


def test_it_lists_a_year_published_after_the_report_page_was_cached(client, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        publish(2021, seed=1)
    url = reverse("portal:report", args=["test-org", 2021])
    assert "2022年度" not in client.get(url).text  # now cached
    with django_capture_on_commit_callbacks(execute=True):
        publish(2022, seed=2)
    assert "2022年度" in client.get(url).text


def test_it_compares_jurisdictions_anew_after_a_change_of_report_scope(world, django_capture_on_commit_callbacks):
    from disclosure.portal.published import comparison

    own = balanced_document("2021", year=2021, org_code="district-a", rng=random.Random(1))
    own["organization"] |= {"kind": "government", "name": "甲区人民政府"}
    with django_capture_on_commit_callbacks(execute=True):
        publish_imported(import_document(own, status=Report.Status.PUBLISHED).report)
        publish(2021, code="test-org", seed=2)
    city = Organization.objects.get(code="city")
    counted = {r["code"]: r["reports"] for r in comparison(city, 2021)["rows"]}  # now cached
    assert counted["district-a"] == 2  # 本级: its own report and its department's
    with django_capture_on_commit_callbacks(execute=True):
        set_report_scope(Organization.objects.get(code="district-a"), "rollup", actor=None)
    counted = {r["code"]: r["reports"] for r in comparison(city, 2021)["rows"]}
    assert counted["district-a"] == 1  # 汇总: its report stands for the department's
