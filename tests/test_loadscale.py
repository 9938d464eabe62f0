"""`manage.py loadscale` builds a tree whose pages the benchmarks can time, the
quality page's stored figures included (its reports are bulk-created)."""

import io

import pytest
from django.core.management import call_command

from disclosure.models import CellFigure, Organization, Report

pytestmark = pytest.mark.django_db


def test_it_builds_a_tree_with_reports_and_their_outlier_figures():
    out = io.StringIO()
    call_command("loadscale", "--orgs", "40", "--password", "unused-pass-1", stdout=out)
    assert Organization.objects.filter(code="scale-prov").exists()
    assert Report.objects.count() > 0
    # Every non-draft report's 总计 cells are stored for the quality page.
    assert CellFigure.objects.filter(report__in=Report.objects.exclude(status="draft")).exists()
    assert "outlier figures stored" in out.getvalue()
