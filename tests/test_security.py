"""Issue 12: four eyes over every authoring write, the admin outside drafts,
spreadsheet-safe exports, hostile query strings, private caching, error pages."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.urls import reverse

from disclosure import selectors
from disclosure.models import AuditEvent, Membership, Report
from disclosure.services import (
    create_report,
    explain_finding,
    finish_admin_edit,
    import_document,
    prefill_from_previous,
    record_event,
    save_edits,
)
from disclosure.workflow import Action, TransitionRefused, allowed_actions, publish_imported, transition

from .factories import balanced_document

pytestmark = pytest.mark.django_db


# -- 5. one definition of "authored" ---------------------------------------------------------


def _no_applications(world, report, writer):
    client = Client()
    client.force_login(writer)
    report.refresh_from_db()
    url = reverse("workspace:no_applications", args=["test-org", report.year])
    response = client.post(url, {"version": report.version})
    assert response.status_code == 302


def _saved(world, report, writer):
    report.refresh_from_db()
    save_edits(report, actor=writer, expected_version=report.version, narrative={"overview.platform": "新平台。"})


def _prefilled(world, report, writer):
    import_document(balanced_document("2019", year=2020))
    report.application_rows.filter(row="carried_over").update(natural_person=None)
    prefill_from_previous(report, actor=writer)


def _imported(world, report, writer):
    doc = balanced_document("2021", year=2021)
    doc["narrative"]["overview"]["platform"] = "导入的文字。"
    import_document(doc, actor=writer, replace=True)


def _explained(world, report, writer):
    explain_finding(report, "some.rule:cells", "本年度机构改革。", actor=writer)


def _admin_edited(world, report, writer):
    old = selectors.export_report(report)
    report.narrative_parts.filter(path="overview.platform").update(text="管理员改的。")
    finish_admin_edit(report, old, actor=writer)


def _created(world, report, writer):
    Report.objects.filter(pk=report.pk).delete()
    create_report(world.office, 2021, actor=writer)


def _new_kind_of_write(world, report, writer):
    # A write added later that nobody remembered to list still counts.
    record_event("report.bulk_filled", actor=writer, report=report, changes={"applications.x.y": [None, 1]})


AUTHORING = {
    "no_applications": _no_applications,
    "saved": _saved,
    "prefilled": _prefilled,
    "imported": _imported,
    "explained": _explained,
    "admin_edited": _admin_edited,
    "created": _created,
    "new_kind_of_write": _new_kind_of_write,
}


@pytest.mark.parametrize("name", AUTHORING)
def test_it_bars_self_approval_after_every_kind_of_authoring_write(world, report, name):
    writer = world.users["owner_clerk"]
    Membership.objects.create(user=writer, organization=world.office, role=Membership.Role.REVIEWER)
    last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
    AUTHORING[name](world, report, writer)
    assert AuditEvent.objects.filter(id__gt=last, actor=writer).exists(), "the action wrote nothing"
    report = Report.objects.get(organization=world.office, year=2021)
    assert writer.pk in selectors.authors(report), name
    Report.objects.filter(pk=report.pk).update(status=Report.Status.SUBMITTED)
    report.refresh_from_db()
    assert Action.APPROVE not in allowed_actions(writer, report)
    with pytest.raises(TransitionRefused) as refused:
        transition(report, Action.APPROVE, actor=writer)
    assert refused.value.code == "own_work"


def test_it_lets_the_colleague_of_a_no_applications_clerk_submit_but_not_the_clerk_approve(world, report):
    """The issue's walk: 无申请 by a clerk-reviewer, a colleague submits, the first may not approve."""
    writer, colleague = world.users["owner_clerk"], world.users["sibling_clerk"]
    Membership.objects.create(user=writer, organization=world.office, role=Membership.Role.REVIEWER)
    Membership.objects.create(user=colleague, organization=world.office, role=Membership.Role.CLERK)
    _no_applications(world, report, writer)
    event = AuditEvent.objects.get(action="report.no_applications")
    assert len(event.data["changes"]) > 50
    Report.objects.filter(pk=report.pk).update(status=Report.Status.SUBMITTED)
    record_event("report.submit", actor=colleague, report=report, changes={"status": ["draft", "submitted"]})
    report.refresh_from_db()
    assert selectors.authors(report) == {writer.pk, colleague.pk}
    with pytest.raises(TransitionRefused):
        transition(report, Action.APPROVE, actor=writer)


def test_it_does_not_count_comments_workflow_steps_or_jobs_as_authoring(world, report):
    """A reviewer whose publish failed, or whose return's e-mail failed, still reviews the resubmission."""
    reviewer = world.users["office_reviewer"]
    record_event("comment.added", actor=reviewer, report=report, comment=1, anchor="report", body="请核对。")
    record_event("report.return", actor=reviewer, report=report, changes={"status": ["submitted", "returned"]})
    record_event("report.publish_requested", actor=reviewer, report=report, version=3, job="x")
    record_event("job.failed", actor=reviewer, report=report, kind="mail", error="邮件服务器无响应")
    assert reviewer.pk not in selectors.authors(report)


def test_it_decides_authors_in_a_fixed_number_of_queries_however_many_autosaves(
    world, report, django_assert_max_num_queries
):
    writer, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    for version in range(40):
        record_event("report.saved", actor=writer, report=report, version=version, changes={"title": ["a", "b"]})
    record_event("report.return", actor=reviewer, report=report, changes={"status": ["submitted", "returned"]})
    with django_assert_max_num_queries(4):
        assert selectors.authors(report) == {writer.pk}


def test_it_forgets_authors_before_the_last_publication(world):
    writer = world.users["owner_clerk"]
    report = import_document(balanced_document("2021", year=2021), status=Report.Status.PUBLISHED, actor=writer).report
    assert writer.pk in selectors.authors(report)
    publish_imported(report)
    assert writer.pk not in selectors.authors(report)


# -- 7. spreadsheet formulas in exports ------------------------------------------------------

EVIL_NAME = '=HYPERLINK("http://evil.example/","点此")'


def _published_evil(world):
    doc = balanced_document("2021", year=2021)
    doc["organization"]["name"] = EVIL_NAME
    doc["title"] = "@SUM(1+1)"
    doc["narrative"]["overview"]["platform"] = "+cmd|' /C calc'!A0"
    report = import_document(doc, status=Report.Status.PUBLISHED).report
    publish_imported(report)
    return report


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))


def test_it_quotes_formula_text_in_the_open_data_csv_and_keeps_numbers(world):
    _published_evil(world)
    client = Client()
    rows = _csv_rows(client.get("/reports/test-org/2021.csv").content.decode("utf-8"))
    names = {row[1] for row in rows[1:]}
    assert names == {"'" + EVIL_NAME}
    values = [row[-1] for row in rows[1:] if row[-1]]
    assert values and all(not v.startswith(("=", "+", "-", "@", "'")) for v in values)
    assert any(v.isdigit() for v in values)

    archive = zipfile.ZipFile(io.BytesIO(b"".join(client.get("/data/2021.zip").streaming_content)))
    cells = next(name for name in archive.namelist() if name.endswith("cells.csv"))
    rows = _csv_rows(archive.read(cells).decode("utf-8"))
    assert {row[1] for row in rows[1:]} == {"'" + EVIL_NAME}


def test_it_writes_formula_like_text_into_excel_as_text_that_reads_back_unchanged(world):
    from openpyxl import load_workbook

    from disclosure.office import export_report_xlsx, jurisdiction_xlsx, read_report_xlsx
    from disclosure.office.xlsx import JurisdictionRow

    report = _published_evil(world)
    doc = selectors.export_report(report)
    data = export_report_xlsx(doc)
    book = load_workbook(io.BytesIO(data))
    formulas = [c.value for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"]
    assert formulas == []
    assert read_report_xlsx(data)["organization"]["name"] == EVIL_NAME
    book = load_workbook(io.BytesIO(jurisdiction_xlsx(2021, [JurisdictionRow(EVIL_NAME, "test-org", "已发布", doc)])))
    assert [c for ws in book for row in ws.iter_rows() for c in row if c.data_type == "f"] == []
    named = [c for ws in book for row in ws.iter_rows() for c in row if c.value == EVIL_NAME]
    assert named and all(c.quotePrefix for c in named)


# -- 8. hostile input: a clear 400, never a 500 or half a write -------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "/reports/?q=%00",
        "/stats/?jurisdiction=%00",
        "/reports/?jurisdiction=a%00b",
        "/data/?%00=1",
        "/accounts/login/?next=%00",
    ],
)
def test_it_refuses_nul_in_a_query_string_with_a_chinese_400(url):
    client = Client(raise_request_exception=False)
    response = client.get(url)
    assert response.status_code == 400
    assert "无法保存的控制字符" in response.text and "请求无法处理" in response.text


def test_it_refuses_nul_in_a_form_field_and_writes_nothing(world, report):
    clerk = world.client("owner_clerk")
    clerk.raise_request_exception = False
    before = (Report.objects.get(pk=report.pk).version, AuditEvent.objects.count())
    response = clerk.post(
        reverse("workspace:explain", args=["test-org", 2021]), {"key": "k", "text": "说明\x00", "version": 1}
    )
    assert response.status_code == 400 and "无法保存" in response.text
    assert (Report.objects.get(pk=report.pk).version, AuditEvent.objects.count()) == before


def test_it_answers_scripts_in_json():
    response = Client().get("/reports/?q=%00", HTTP_ACCEPT="application/json")
    assert response.status_code == 400 and response.json()["code"] == "bad_text"


def test_it_sends_a_bare_word_next_back_to_the_report_not_a_500(world, report):
    """next=abc used to reach redirect() as a URL name after the comment had been stored."""
    reviewer = world.client("office_reviewer")
    reviewer.raise_request_exception = False
    url = reverse("review:comment", args=["test-org", 2021])
    response = reviewer.post(url, {"anchor": "report", "body": "请核对。", "next": "abc"})
    assert response.status_code == 302 and response["Location"] == reverse("review:report", args=["test-org", 2021])


# -- 9. error pages and private caching ------------------------------------------------------


@override_settings(DEBUG=False)
def test_it_shows_chinese_error_pages_with_debug_off(world, report, monkeypatch):
    anonymous = Client(raise_request_exception=False)
    page = anonymous.get("/reports/nobody/2021/")
    assert page.status_code == 404 and "页面不存在" in page.text
    csrf = Client(enforce_csrf_checks=True, raise_request_exception=False)
    page = csrf.post("/accounts/login/", {"username": "x", "password": "y"})
    assert page.status_code == 403 and "页面已过期" in page.text
    from django.core.exceptions import PermissionDenied
    from django.test import RequestFactory
    from django.views.defaults import bad_request, permission_denied

    request = RequestFactory().get("/")
    page = permission_denied(request, PermissionDenied())
    assert page.status_code == 403 and "没有权限" in page.content.decode()
    page = bad_request(request, ValueError())
    assert page.status_code == 400 and "请求无法处理" in page.content.decode()

    from disclosure.portal import views as portal_views

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(portal_views.portal, "search", broken)
    page = anonymous.get("/reports/")
    assert page.status_code == 500 and "服务器出错" in page.text


def test_it_marks_every_signed_in_page_and_draft_download_private(world, report):
    clerk, reviewer = world.client("owner_clerk"), world.client("office_reviewer")
    for client, url in [
        (clerk, "/workspace/"),
        (clerk, "/workspace/test-org/2021/applications/"),
        (reviewer, "/review/"),
        (reviewer, "/review/test-org/2021/"),
        (reviewer, "/review/test-org/2021.xlsx"),
        (reviewer, "/review/test-org/2021.docx"),
        (reviewer, "/reports/"),
        (Client(), "/accounts/login/"),
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"] == "private, no-store", url
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    client = Client()
    client.force_login(admin)
    assert client.get("/admin/")["Cache-Control"] == "private, no-store"


def test_it_keeps_public_caching_of_published_files_for_signed_in_visitors(world):
    _published_evil(world)
    reviewer = world.client("office_reviewer")
    response = reviewer.get("/reports/test-org/2021.csv")
    assert response["Cache-Control"] == "public, max-age=300"
    assert Client().get("/reports/").get("Cache-Control") != "private, no-store"


def _edited_workbook(doc: dict, **values: str) -> bytes:
    from openpyxl import load_workbook

    from disclosure.office import export_report_xlsx

    book = load_workbook(io.BytesIO(export_report_xlsx(doc)))
    for name, value in values.items():
        ((title, coordinate),) = book.defined_names[name].destinations
        book[title][coordinate.replace("$", "")] = value
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_it_reads_an_excel_year_only_in_ascii_digits_and_echoes_only_the_start_of_bad_text():
    from disclosure.interchange import InvalidDocument
    from disclosure.office import read_report_xlsx

    doc = balanced_document("2021", year=2021)
    data = _edited_workbook(doc, **{"meta_year": "٢٠٢١", "meta_organization.kind": "部" * 1_000_000})
    with pytest.raises(InvalidDocument) as info:
        read_report_xlsx(data)
    text = " ".join(info.value.messages)
    assert "报告年度未填写或不是年份（٢٠٢١）" in text
    assert len(text) < 1000
