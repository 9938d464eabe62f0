"""Defects found in review, each pinned by a test that fails without its fix."""

import datetime as dt
import io
import re
import smtplib

import pytest
from django.core.mail.backends.base import BaseEmailBackend
from django.urls import reverse

from disclosure.calendar import current_report_year
from disclosure.interchange import InvalidDocument
from disclosure.models import AuditEvent, Report
from disclosure.rules import RULES
from disclosure.rules.engine import Context
from disclosure.services import import_document, save_edits
from disclosure.workflow import Action, publish_imported, transition

from .factories import balanced_document
from .test_workspace import save

pytestmark = pytest.mark.django_db


def test_it_saves_and_audits_a_change_of_the_signing_office_alone(world, report):
    result = save_edits(
        report, actor=None, expected_version=report.version, header={"organization_name": "测试局（新）"}
    )
    assert Report.objects.get(pk=report.pk).organization_name == "测试局（新）"
    assert result.changes["organization.name"] == ["测试局", "测试局（新）"]
    assert AuditEvent.objects.filter(action="report.saved").exists()


def test_it_shows_the_other_persons_value_after_a_stale_post_without_javascript(world, report):
    clerk = world.client("owner_clerk")
    stale = report.version
    typed = str(report.application_rows.get(row="new_received").natural_person + 1)  # an edit, not the shown value
    save(clerk, report, {"applications.new_received.natural_person": "999"})
    url = reverse("workspace:step", args=["test-org", 2021, "applications"])
    posted = {"version": stale, "applications.new_received.natural_person": typed, "goto": "applications"}
    page = clerk.post(url, posted)
    assert page.status_code == 409
    field = re.search(r'name="applications.new_received.natural_person"[^>]*value="(\d*)"', page.text)
    assert field.group(1) == "999"


def test_it_refuses_numbers_too_large_to_store_at_their_cell(world, report):
    response = save(world.client("owner_clerk"), report, {"applications.granted.research": "99999999999"})
    assert response.status_code == 200
    assert response.json()["errors"]["applications.granted.research"].startswith("数值过大")
    doc = balanced_document("2021", year=2022)
    doc["active_disclosure"]["art20_8"]["fees"]["amount"] = "1000000000000000.0000"
    with pytest.raises(InvalidDocument) as info:
        import_document(doc)
    assert info.value.code == "too_large"


class BrokenMail(BaseEmailBackend):
    def send_messages(self, messages):
        raise smtplib.SMTPException("mail server down")


def test_it_commits_a_transition_even_when_mail_fails(world, report, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "tests.test_review_fixes.BrokenMail"
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    assert Report.objects.get(pk=report.pk).status == Report.Status.SUBMITTED


def test_it_lets_people_move_between_steps_of_a_read_only_report(world, report):
    Report.objects.filter(pk=report.pk).update(status=Report.Status.SUBMITTED)
    url = reverse("workspace:step", args=["test-org", 2021, "applications"])
    response = world.client("owner_clerk").post(url, {"version": report.version, "goto": "reviews"})
    assert response.status_code == 302 and response["Location"].endswith("/reviews/")


def test_it_shows_the_published_name_while_a_correction_renames_the_office(
    world, report, client, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    clerk, leader = world.users["owner_clerk"], world.users["office_reviewer"]
    with django_capture_on_commit_callbacks(execute=True):  # the publishing job runs after commit
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, leader), (Action.PUBLISH, leader)]:
            transition(report, action, actor=actor)
    transition(report, Action.CORRECT, actor=clerk)
    report.refresh_from_db()
    save_edits(report, actor=clerk, expected_version=report.version, header={"organization_name": "改名后的局"})
    listing = client.get(reverse("portal:list"))
    assert "改名后的局" not in listing.text and "测试局" in listing.text
    assert "测试局" in client.get(reverse("portal:list"), {"q": "测试局"}).text
    assert "测试局" not in client.get(reverse("portal:list"), {"q": "改名后"}).text


def test_it_serves_no_revision_zero(world, report, client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    Report.objects.filter(pk=report.pk).update(status=Report.Status.PUBLISHED)
    publish_imported(report)
    assert client.get(reverse("portal:download_revision", args=["test-org", 2021, 0, "pdf"])).status_code == 404


def test_it_gives_a_government_until_31_march():
    assert current_report_year(dt.date(2027, 2, 15)) == 2027
    assert current_report_year(dt.date(2027, 2, 15), government_level=True) == 2026
    assert current_report_year(dt.date(2027, 4, 1), government_level=True) == 2027


def test_it_writes_office_text_as_text_not_formulas():
    import openpyxl

    from disclosure.office import export_report_xlsx, read_report_xlsx

    doc = balanced_document("2021")
    doc["narrative"]["problems"] = '=HYPERLINK("http://evil.example","点击")'
    data = export_report_xlsx(doc)
    workbook = openpyxl.load_workbook(io.BytesIO(data))
    cells = [
        c
        for sheet in workbook.worksheets
        for row in sheet.iter_rows()
        for c in row
        if c.value == doc["narrative"]["problems"]
    ]
    assert cells and all(c.data_type == "s" for c in cells)
    assert read_report_xlsx(data)["narrative"]["problems"] == doc["narrative"]["problems"]


def test_it_only_follows_next_links_into_this_site(world, report):
    response = world.client("owner_clerk").post(
        reverse("workspace:explain", args=["test-org", 2021]), {"key": "x", "text": "", "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("workspace:step", args=["test-org", 2021, "preview"])
    leader, page = world.client("office_reviewer"), reverse("review:report", args=["test-org", 2021])
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example/"):
        response = leader.post(reverse("review:comment", args=["test-org", 2021]), {"body": "看一下", "next": target})
        assert response["Location"] == page, target
    response = leader.post(reverse("review:comment", args=["test-org", 2021]), {"body": "再看", "next": page + "#c"})
    assert response["Location"] == page + "#c"


def test_it_shows_the_current_year_for_a_year_no_report_can_have(world, report):
    leader = world.client("office_reviewer")
    current = leader.get(reverse("review:dashboard")).context["year"]
    for asked in ("9999", "2018", "0", "²"):
        page = leader.get(reverse("review:dashboard"), {"year": asked})
        assert page.status_code == 200 and page.context["year"] == current, asked
    assert leader.get(reverse("review:dashboard"), {"year": "2021"}).context["year"] == 2021


def test_it_answers_404_to_malformed_review_parameters(world, report):
    leader = world.client("office_reviewer")
    args = ["test-org", 2021]
    assert leader.post(reverse("review:comment", args=args), {"parent": "abc", "body": "x"}).status_code == 404
    assert leader.get(reverse("review:diff", args=args), {"from": "²"}).status_code == 404


@pytest.mark.parametrize(
    "text",
    [
        "对收到的申请均在20个工作日内予以答复。",
        "对未受理的申请逐一说明理由。",
        "全年共收到政府信息公开申请一百二十件。",
    ],
)
def test_it_reads_no_false_count_from_the_narrative(text):
    doc = balanced_document("2021")
    doc["applications"]["new_received"]["total"] = 3
    doc["narrative"]["overview"]["on_request"] = text
    assert RULES["narrative.numbers"].run(Context(doc)) == []


def test_it_lets_the_overview_mention_last_years_report():
    doc = balanced_document("2021", year=2021)
    doc["narrative"]["overview"]["platform"] = "按时发布2020年度政府信息公开工作年度报告。"
    assert RULES["narrative.year"].run(Context(doc)) == []
    doc["narrative"]["preamble"] = "现公布本机关2020年度政府信息公开工作年度报告。"
    assert [f.cells for f in RULES["narrative.year"].run(Context(doc))] == [("narrative.preamble",)]
