"""The import preview's decisions (issues 13 and 14): another office's or another year's
report, how the file was read, picking a split of run-together digits, last year's report
settling a split, and blanks the office used for zero. The files are made here."""

from __future__ import annotations

import datetime as dt
import random

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import TestCase
from django.urls import reverse

from disclosure.models import AuditEvent, Organization, PendingImport, Report
from disclosure.parsing import parse_report
from disclosure.parsing.choices import settle_with_previous, zero_groups
from disclosure.selectors import export_report
from disclosure.services.core import import_document

from .factories import balanced_document
from .test_parse import cells, render_text
from .test_parse_real import GRANTED_SPLITS, _balance, _one_line, _run_together, _set_row
from .test_workspace import make_clerk

pytestmark = pytest.mark.django_db
OFFICE = "演示区财政局"
OTHER = "文昌湖区招商局"


@pytest.fixture(autouse=True)
def media(settings, tmp_path, monkeypatch):
    settings.MEDIA_ROOT = tmp_path
    monkeypatch.setattr("disclosure.workspace.imports.timezone.localdate", lambda: dt.date(2026, 11, 23))


@pytest.fixture
def office():
    return Organization.objects.create(name=OFFICE, code="demo-czj", kind="department")


@pytest.fixture
def clerk(office):
    return make_clerk("clerk", office)


def report_text(name: str, *, year: int = 2021, doc: dict | None = None) -> bytes:
    doc = doc or balanced_document("2021", year=year, rng=random.Random(3))
    return render_text(doc, random.Random(3)).replace("测试局", name).encode("utf-8")


def upload(client, content: bytes, name: str = "报告.txt", **extra):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return client.post(
            reverse("workspace:upload", args=["demo-czj"]), {"file": SimpleUploadedFile(name, content), **extra}
        )


def confirm(client, pending, **post):
    return client.post(reverse("workspace:confirm_import", args=["demo-czj", pending.pk]), post, follow=True)


def preview(client, pending):
    return client.get(reverse("workspace:pending", args=["demo-czj", pending.pk]))


# -- another office's report, another year ----------------------------------------------------


def test_it_shows_another_offices_report_at_the_top_and_needs_a_choice(clerk):
    upload(clerk, report_text(OTHER))
    pending = PendingImport.objects.get()
    assert pending.info["mismatch"]["organization"] == {"printed": OTHER, "office": OFFICE}
    page = preview(clerk, pending).text
    assert page.index('id="mismatch"') < page.index('id="import-preview"')
    assert f"文件署名为“<strong>{OTHER}</strong>”" in page and "使用本机关名称" in page
    # A confirm without the choice (a forged form) is refused and stores nothing.
    refused = confirm(clerk, pending)
    assert "文件中的机关名称与本机关不一致" in refused.text
    assert not Report.objects.exists() and PendingImport.objects.exists()
    confirm(clerk, pending, organization_choice="office")
    report = Report.objects.get(organization__code="demo-czj", year=2021)
    doc = export_report(report)
    assert doc["organization"]["name"] == OFFICE
    assert doc["title"] == f"{OFFICE}2021年政府信息公开工作年度报告"
    event = AuditEvent.objects.filter(action="import.confirmed").get()
    assert event.data["organization_choice"] == "office"


def test_it_takes_the_office_printed_with_its_citys_name_without_asking(clerk):
    upload(clerk, report_text("某某市" + OFFICE))
    pending = PendingImport.objects.get()
    assert "mismatch" not in pending.info
    assert 'id="mismatch"' not in preview(clerk, pending).text
    confirm(clerk, pending)
    assert Report.objects.filter(organization__code="demo-czj", year=2021).exists()


def test_it_stores_the_files_year_or_nothing_never_another_year(clerk):
    upload(clerk, report_text(OFFICE, year=2021), year="2022")
    pending = PendingImport.objects.get()
    assert pending.document["year"] == 2021
    assert pending.info["mismatch"] == {"year": {"requested": 2022, "file": 2021}}
    assert "按文件中的 2021 年度导入" in preview(clerk, pending).text
    assert "文件中的年度与所选年度不一致" in confirm(clerk, pending).text
    assert not Report.objects.exists()
    confirm(clerk, pending, year_choice="file")
    assert list(Report.objects.values_list("year", flat=True)) == [2021]


def test_it_uses_the_clerks_year_only_for_a_file_that_states_none(clerk):
    text = report_text(OFFICE).decode().replace("2021年政府信息公开工作年度报告", "政府信息公开工作年度报告")
    text = text.replace("2021", "")  # no year anywhere in the title or preamble
    upload(clerk, text.encode(), year="2021")
    pending = PendingImport.objects.get()
    assert pending.document["year"] == 2021 and "mismatch" not in pending.info
    assert pending.info["sources"]["year"] == "default"


def test_it_says_how_the_file_was_read(clerk):
    upload(clerk, report_text(OFFICE).decode().encode("gb18030"))
    pending = PendingImport.objects.get()
    assert pending.info["encoding"] == "gb18030"
    assert pending.info["sources"] == {
        "title": "title_line",
        "year": "title",
        "organization": "title",
        "issued_on": "signature",
        "signature": OFFICE,
    }
    page = preview(clerk, pending).text
    assert "读取方式：文本；编码 gb18030；标题取自标题行；机关名称取自标题；成文日期取自落款；年度取自标题。" in page


# -- picking a split ----------------------------------------------------------------------------


@pytest.fixture
def flat_doc():
    doc = balanced_document("2021", rng=random.Random(7))
    _set_row(doc, "applications", "new_received", [217, 1, 0, 0, 0, 0, 218])
    _set_row(doc, "applications", "granted", [1, 0, 3, 0, 12, 12, 28])
    _balance(doc)
    for block in doc["reviews"].values():
        for code in block:
            block[code] = 0
    return doc


def ambiguous_text(doc: dict) -> bytes:
    text = _run_together(doc)
    total = " ".join(str(v) for v in doc["applications"]["outcome_total"].values())
    text = text.replace(f" {total} ", " / / / / / / / ")  # without （七）总计 the columns fix nothing
    return text.replace("测试局", OFFICE).encode("utf-8")


def test_it_lets_the_clerk_pick_a_split_and_checks_it_again(clerk, flat_doc):
    upload(clerk, ambiguous_text(flat_doc), "dump.txt")
    pending = PendingImport.objects.get()
    [(index, problem)] = [(i, p) for i, p in enumerate(pending.problems) if p["code"] == "digits_ambiguous"]
    page = preview(clerk, pending)
    assert page.context["splits"][0]["row"] == "表三“（一）予以公开”行"
    assert page.context["splits"][0]["candidates"][1][:2] == [("自然人", 10), ("商业企业", 3)]
    assert f'name="candidate-{index}" value="2"' in page.text
    # Indexes not offered, or a problem that is not an ambiguity, are refused.
    assert "所选的拆分方式不在候选之列" in confirm(clerk, pending, **{f"candidate-{index}": "3"}).text
    assert "所选的拆分方式不在候选之列" in confirm(clerk, pending, **{"candidate-0": "0"}).text
    assert not Report.objects.exists()
    # A candidate list tampered with is checked against the row's sum on the server.
    pending.problems[index]["candidates"].append([5, 0, 0, 0, 0, 0, 28])
    pending.save()
    assert "不符合表格的勾稽关系" in confirm(clerk, pending, **{f"candidate-{index}": "3"}).text
    confirm(clerk, pending, **{f"candidate-{index}": "0"})
    got = export_report(Report.objects.get())["applications"]["granted"]
    assert tuple(got.values()) == GRANTED_SPLITS[0]


def test_it_keeps_the_row_blank_when_the_clerk_picks_none(clerk, flat_doc):
    upload(clerk, ambiguous_text(flat_doc), "dump.txt")
    pending = PendingImport.objects.get()
    [index] = [i for i, p in enumerate(pending.problems) if p["code"] == "digits_ambiguous"]
    confirm(clerk, pending, **{f"candidate-{index}": ""})
    got = export_report(Report.objects.get())["applications"]["granted"]
    assert set(got.values()) == {None}


# -- last year's report decides a split -----------------------------------------------------------


def stock_text(doc: dict, row_values: str, run: str) -> bytes:
    text = _one_line(render_text(doc, random.Random(7)))
    assert text.count(f" {row_values} ") == 1
    return text.replace(f" {row_values} ", f" {run} ").replace("测试局", OFFICE).encode("utf-8")


def stock_doc(year: int, issued: int, repealed: int, in_force: int) -> dict:
    doc = balanced_document("2021", year=year, rng=random.Random(7), org_code="demo-czj")
    doc["organization"]["name"] = OFFICE
    doc["title"] = f"{OFFICE}{year}年政府信息公开工作年度报告"
    doc["active_disclosure"]["art20_1"]["regulations"].update(issued=issued, repealed=repealed, in_force=in_force)
    return doc


def test_last_years_stock_settles_a_split_table_two_cannot_settle_alone(clerk):
    this_year = stock_doc(2022, 1, 0, 35)
    text = stock_text(this_year, "规章 1 0 35", "规章 1035")
    alone = parse_report(text, filename="dump.txt")
    [problem] = [p for p in alone.problems if p.code == "digits_ambiguous"]
    assert set(problem.candidates) == {(1, 0, 35), (10, 3, 5)}
    last_year = stock_doc(2021, 2, 1, 34)
    import_document(last_year, status=Report.Status.DRAFT)
    upload(clerk, text, "dump.txt")
    pending = PendingImport.objects.get()
    assert pending.document["active_disclosure"]["art20_1"]["regulations"] == {
        "issued": 1,
        "repealed": 0,
        "in_force": 35,
    }
    [settled] = [p for p in pending.problems if p["cells"] and p["cells"][0].endswith("regulations.issued")]
    assert settled["code"] == "digits_split" and "与2021年度报告衔接" in settled["message"]


def test_last_years_report_leaves_a_split_it_does_not_decide(flat_doc):
    doc = parse_report(ambiguous_text(flat_doc), filename="dump.txt")
    problems = [p.as_dict() for p in doc.problems]
    previous = balanced_document("2021", year=doc.document["year"] - 1)
    # 予以公开 is not linked to last year: nothing changes.
    assert settle_with_previous(doc.document, problems, previous) == problems
    # 上年结转 is: a carried_over row that splits several ways takes last year's 结转下年.
    carried = [p for p in problems if p["code"] == "digits_ambiguous"][0]
    fake = {**carried, "cells": [f"applications.carried_over.{c}" for c in flat_doc["applications"]["carried_over"]]}
    fake["candidates"] = [list(GRANTED_SPLITS[0]), list(GRANTED_SPLITS[1])]
    target = dict(zip(flat_doc["applications"]["carried_over"], GRANTED_SPLITS[1], strict=True))
    previous["applications"]["carried_forward"] = target
    for ref in fake["cells"]:
        code = ref.rsplit(".", 1)[1]
        doc.document["applications"]["carried_over"][code] = None
    [out] = settle_with_previous(doc.document, [fake], previous)
    assert out["code"] == "digits_split"
    assert doc.document["applications"]["carried_over"] == target


# -- blanks used for zero -------------------------------------------------------------------------


def blank_text() -> tuple[dict, bytes]:
    doc = balanced_document("2021", year=2021, rng=random.Random(3))
    _set_row(doc, "applications", "rejected_repeat", [0, 0, 0, 0, 0, 17, 17])
    _balance(doc)
    text = render_text(doc, random.Random(3)).replace("测试局", OFFICE)
    lines = [line for line in text.split("\n") if line.endswith("\t0\t0\t0\t0\t0\t17\t17")]
    assert len(lines) == 1
    text = text.replace(lines[0], lines[0].replace("\t0\t0\t0\t0\t0\t17\t17", "\t\t\t\t\t\t17\t17"))
    return doc, text.encode("utf-8")


def test_it_lists_blanks_used_for_zero_and_fills_only_the_groups_accepted(clerk):
    doc, text = blank_text()
    upload(clerk, text)
    pending = PendingImport.objects.get()
    groups = preview(clerk, pending).context["zero_groups"]
    [group] = [g for g in groups if g["cells"][0].startswith("applications.rejected_repeat.")]
    assert group["reason"] == "implied" and len(group["cells"]) == 5
    assert group["row"].startswith("表三") and "自然人" in group["labels"]
    assert "按 0 填入" in preview(clerk, pending).text
    # Not accepted: the blanks stay blank.
    assert "不在列表中" in confirm(clerk, pending, zero="applications.granted:implied").text
    confirm(clerk, pending, zero=group["id"])
    got = export_report(Report.objects.get())
    assert cells(got) == cells(doc)


def test_it_keeps_blanks_when_no_group_is_accepted(clerk):
    doc, text = blank_text()
    upload(clerk, text)
    confirm(clerk, PendingImport.objects.get())
    got = export_report(Report.objects.get())["applications"]["rejected_repeat"]
    assert [got[c] for c in list(got)[:5]] == [None] * 5


def test_a_blank_row_is_offered_only_where_a_column_sum_leaves_zero():
    doc = balanced_document("2021", year=2021)
    granted = dict(doc["applications"]["granted"])
    for code in granted:
        doc["applications"]["granted"][code] = None
    doc["applications"]["carried_over"]["total"] = None
    groups = zero_groups(doc)
    # （七）总计 is printed: a column whose other rows already make it leaves 予以公开 at 0.
    [row] = [g for g in groups if g.cells[0].startswith("applications.granted.")]
    assert row.reason == "implied"
    assert set(row.cells) == {f"applications.granted.{c}" for c, v in granted.items() if v == 0}
    [total] = [g for g in groups if g.cells[0].startswith("applications.carried_over.")]
    assert total.reason == (
        "implied" if sum(doc["applications"]["carried_over"][c] or 0 for c in granted) == 0 else "row_has_numbers"
    )
    assert total.labels == ("总计",)


def test_hostile_choices_are_refused_not_errors(clerk, flat_doc):
    upload(clerk, ambiguous_text(flat_doc), "dump.txt")
    pending = PendingImport.objects.get()
    [index] = [i for i, p in enumerate(pending.problems) if p["code"] == "digits_ambiguous"]
    url = reverse("workspace:confirm_import", args=["demo-czj", pending.pk])
    for post in (
        {f"candidate-{index}": "9" * 5000},
        {f"candidate-{index}": "-1"},
        {"candidate-" + "9" * 5000: "0"},
        {"zero": "表三：" * 100},
        {"zero": ["applications.granted:implied", "x" * 5000]},
    ):
        response = clerk.post(url, post)
        # Refused by the hostile-input guard (400) or by the service (back to the preview).
        if response.status_code != 400:
            assert response["Location"] == reverse("workspace:pending", args=["demo-czj", pending.pk]), post
    assert not Report.objects.exists()
    # Fields the page does not offer are ignored: no index, no choice needed.
    assert clerk.post(url, {"candidate-x": "0", "organization_choice": "office" * 10}).status_code == 302
    assert Report.objects.count() == 1 and not PendingImport.objects.exists()
