"""The command-line tools: stable interfaces offices script against."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from disclosure.interchange import dumps
from disclosure.models import Membership, Organization, Report

from .factories import balanced_document, next_year_of, seed

ROOT = Path(__file__).resolve().parent.parent


def report_check(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
    return subprocess.run(
        [sys.executable, "manage.py", "report_check", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def write(tmp_path: Path, name: str, doc: dict) -> str:
    path = tmp_path / name
    path.write_text(dumps(doc), encoding="utf-8")
    return str(path)


def test_it_exits_0_on_a_balanced_report(tmp_path):
    result = report_check(write(tmp_path, "ok.json", balanced_document("2021")))
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_it_names_exactly_the_wrong_cell_and_exits_1(tmp_path):
    doc = balanced_document("2021")
    doc["applications"]["withheld_internal"]["research"] += 1
    result = report_check(write(tmp_path, "bad.json", doc), "--json")
    assert result.returncode == 1
    findings = json.loads(result.stdout)
    assert {(f["rule"], f["severity"]) for f in findings} == {
        ("applications.balance", "error"),
        ("applications.total_column", "error"),
        ("applications.outcome_total", "error"),
    }
    by_rule = {f["rule"]: f for f in findings}
    assert all(c.endswith(".research") for c in by_rule["applications.balance"]["cells"])
    assert all(c.startswith("applications.withheld_internal.") for c in by_rule["applications.total_column"]["cells"])
    assert "applications.withheld_internal.research" in by_rule["applications.outcome_total"]["cells"]
    assert set(findings[0]) == {"severity", "rule", "cells", "message"}


def test_it_prints_one_line_per_finding(tmp_path):
    doc = balanced_document("2019", year=2020)
    doc["applications"]["granted"]["natural_person"] = None
    result = report_check(write(tmp_path, "blank.json", doc))
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "ERROR cells.required applications.granted.natural_person "
        "表三“（一）予以公开”有1个空白单元格（自然人）；没有发生的请填0。"
    ]


def test_it_reports_cross_year_mismatches_as_warnings(tmp_path):
    last = balanced_document("2021", year=2021)
    this = next_year_of(last)
    this["applications"]["carried_over"]["natural_person"] += 1
    this["applications"]["carried_forward"]["natural_person"] += 1  # still balanced this year
    this["applications"] = balanced_totals(this)["applications"]
    result = report_check(write(tmp_path, "this.json", this), "--previous", write(tmp_path, "last.json", last))
    assert result.returncode == 0
    assert result.stdout.startswith("WARNING cross_year.carried_over applications.carried_over.natural_person ")
    assert "WARNING cross_year.carried_over applications.carried_over.total " in result.stdout


def balanced_totals(doc: dict) -> dict:
    from disclosure.interchange import derive_totals

    return derive_totals(doc, overwrite=True)


@pytest.mark.parametrize(
    "content, message",
    [
        ("{not json", "不是有效的JSON"),
        ('{"schema": "disclosure-report/1"}', "缺少必填项"),
        ("[]", "类型不对"),
    ],
)
def test_it_exits_2_with_a_clear_message_on_an_invalid_file(tmp_path, content, message):
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    result = report_check(str(path))
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_it_exits_2_on_a_missing_file(tmp_path):
    result = report_check(str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "找不到文件" in result.stderr


@pytest.mark.django_db
def test_it_imports_and_exports_a_report(tmp_path):
    path = write(tmp_path, "seed.json", seed("004"))
    out = StringIO()
    call_command("report_import", path, "--published", stdout=out)
    assert "已导入：wch-zsj 2020（已发布）" in out.getvalue()
    assert Report.objects.get().status == Report.Status.PUBLISHED
    exported = tmp_path / "out.json"
    call_command("report_export", "wch-zsj", "2020", "-o", str(exported))
    assert exported.read_text(encoding="utf-8") == dumps(seed("004"))


@pytest.mark.django_db
def test_it_refuses_a_second_import_without_replace(tmp_path):
    path = write(tmp_path, "seed.json", seed("004"))
    call_command("report_import", path, stdout=StringIO())
    err = StringIO()
    with pytest.raises(SystemExit) as exit_info:
        call_command("report_import", path, stdout=StringIO(), stderr=err)
    assert exit_info.value.code == 2 and "已存在" in err.getvalue()
    call_command("report_import", path, "--replace", stdout=StringIO())


@pytest.mark.django_db
def test_it_says_which_report_it_could_not_find():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="没有找到"):
        call_command("report_export", "nobody", "2021")


@pytest.mark.django_db
def test_it_loads_the_demo_jurisdiction_idempotently():
    out = StringIO()
    call_command("loaddemo", "--password", "demo-pass-123", stdout=out)
    call_command("loaddemo", "--password", "demo-pass-123", stdout=out)
    district = Organization.objects.get(code="demo-district")
    assert district.parent.code == "demo-city" and district.is_government
    assert set(district.children.values_list("code", flat=True)) >= {"xq-swj", "qu-swj", "lc-swj", "wch-zsj"}
    published = Report.objects.filter(status=Report.Status.PUBLISHED)
    assert sorted(published.values_list("organization__code", "year")) == [
        ("lc-swj", 2021),
        ("qu-swj", 2020),
        ("wch-zsj", 2020),
        ("wlcb-qyjj", 2020),
        ("xq-swj", 2020),
    ]
    assert Report.objects.filter(status=Report.Status.DRAFT).count() == 3
    from disclosure.models import Publication

    # The seeds are real publications (stored PDF and JSON), made once however often it runs.
    assert Publication.objects.count() == 5
    assert set(Membership.objects.values_list("role", flat=True)) == {"clerk", "reviewer", "supervisor"}
    assert "lc-clerk" in out.getvalue() and "demo-pass-123" in out.getvalue()
    from django.contrib.auth import get_user_model

    assert get_user_model().objects.get(username="lc-clerk").check_password("demo-pass-123")


@pytest.mark.django_db
def test_it_publishes_an_imported_workbook_only_with_its_stored_publication(tmp_path, settings):
    from disclosure.models import Publication
    from disclosure.office import export_report_xlsx

    settings.MEDIA_ROOT = tmp_path
    path = tmp_path / "seed.xlsx"
    path.write_bytes(export_report_xlsx(seed("004")))
    out = StringIO()
    call_command("report_xlsx_import", str(path), "--published", stdout=out)
    report = Report.objects.get()
    assert report.status == Report.Status.PUBLISHED
    assert Publication.objects.filter(report=report).count() == 1
    assert "公开版本 r1" in out.getvalue()


@pytest.mark.django_db
def test_it_exports_a_jurisdiction_workbook_streamed_with_its_counts(tmp_path):
    from openpyxl import load_workbook

    from disclosure import formats as reg
    from disclosure.services import import_document

    report = import_document(balanced_document("2021", year=2021)).report
    root = report.organization
    Organization.objects.create(name="下属局", code="child-org", kind="department", parent=root)
    out = tmp_path / "j.xlsx"
    stdout = StringIO()
    call_command("jurisdiction_xlsx", root.code, "2021", "-o", str(out), stdout=stdout)
    assert "（2个机关，1份报告）" in stdout.getvalue()
    sheet = load_workbook(out)[reg.get_format("2021").section("applications").title]
    codes = [sheet.cell(row=r, column=1).value for r in range(1, sheet.max_row + 1)]
    assert codes[-3:] == [root.code, "child-org", "合计"]
