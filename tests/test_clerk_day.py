"""A clerk's day without friction (issue 13), at the server: where each role lands,
why a report came back, 撤回 / 申请更正 beside the report, one error for one
blank cell, the fee's example in 元, a 成文日期 not after today, one draft numbering."""

import datetime as dt
import json

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse

from disclosure import workflow
from disclosure.models import Membership, Report
from disclosure.rules import check_document
from disclosure.selectors import draft_number, export_report
from disclosure.services.editing import display, edit_values

from .factories import balanced_document

pytestmark = pytest.mark.django_db
WS = "workspace:dashboard"


def step_url(report: Report, step: str = "basic") -> str:
    return reverse("workspace:step", args=[report.organization.code, report.year, step])


def autosave(client: Client, report: Report, values: dict, step: str = "basic"):
    """An autosave as the page sends it: each edit over the value the page showed."""
    report = Report.objects.get(pk=report.pk)
    shown = {ref: display(v) for ref, v in edit_values(export_report(report), report).items()}
    body = {"version": report.version, "step": step, "values": values, "bases": {r: shown.get(r, "") for r in values}}
    url = reverse("workspace:autosave", args=[report.organization.code, report.year])
    return client.post(url, json.dumps(body), content_type="application/json").json()


def submit_and_return(world, report, body: str, anchor: str = "report") -> None:
    workflow.transition(report, workflow.Action.SUBMIT, actor=world.users["owner_clerk"])
    workflow.transition(
        report, workflow.Action.RETURN, actor=world.users["office_reviewer"], comment=body, anchor=anchor
    )


# -- 3. every role lands where its work is -----------------------------------------------


def test_it_sends_a_reviewer_or_supervisor_without_an_office_to_the_review_queue(world, report):
    for persona in ("office_reviewer", "parent_supervisor"):
        response = world.client(persona).get(reverse(WS))
        assert response.status_code == 302 and response["Location"] == reverse("review:dashboard"), persona


def test_it_lands_a_clerk_on_its_reports(world, report):
    page = world.client("owner_clerk").get(reverse(WS))
    assert page.status_code == 200 and "我的报告" in page.text and "测试局" in page.text
    assert "审核与督办" not in page.context["offices"][0]["org"].name
    assert not page.context["reviews"]


def test_it_gives_a_user_with_both_roles_one_page_with_both(world, report):
    clerk = world.users["owner_clerk"]
    Membership.objects.create(user=clerk, organization=world.office.parent, role=Membership.Role.SUPERVISOR)
    workflow.transition(report, workflow.Action.SUBMIT, actor=clerk)
    page = world.client("owner_clerk").get(reverse(WS))
    assert page.status_code == 200
    assert "我的工作" in page.text and "我的报告" in page.text
    assert reverse("review:dashboard") in page.text and page.context["awaiting_review"] == 1


def test_it_tells_a_user_without_any_role_kindly_and_nobody_else(world, report):
    nobody = get_user_model().objects.create_user("nobody", password="unused-pass-1")
    client = Client()
    client.force_login(nobody)
    page = client.get(reverse(WS))
    assert page.status_code == 200 and "还没有分配工作" in page.text and "请联系本单位的系统管理员" in page.text
    assert "您还没有被指定为任何机关的填报人" not in page.text
    clerk_page = world.client("owner_clerk").get(reverse(WS)).text
    assert "还没有分配工作" not in clerk_page


# -- 1. a returned report says why ----------------------------------------------------------


def test_it_shows_the_return_reason_on_the_dashboard_row(world, report):
    submit_and_return(world, report, "表三第一项与概述不一致。\n请核对后重新提交。")
    page = world.client("owner_clerk").get(reverse(WS)).text
    assert "退回原因" in page and "表三第一项与概述不一致。" in page
    assert "请核对后重新提交" not in page  # the first line only


def test_it_opens_a_returned_report_on_the_reviewers_comments_with_links_to_their_cells(world, report):
    ref = "applications.unavailable_not_held.natural_person"
    submit_and_return(world, report, "请核对本单元格。", anchor=ref)
    reviewer = world.users["office_reviewer"]
    from disclosure.services.comments import add_comment

    add_comment(report, actor=reviewer, anchor="narrative.problems", body="问题写得太简单。")
    page = world.client("owner_clerk").get(step_url(report))
    text = page.text
    summary = text[text.index('id="return-summary"') :]
    summary = summary[: summary.index("</section>")]
    label = report.spec.label_of(ref)
    assert "请核对本单元格。" in summary and "问题写得太简单。" in summary
    assert label in summary and ref not in summary.replace(f"focus={ref}", "")  # the place in words, not its code
    assert reviewer.username in summary or reviewer.get_full_name() in summary
    assert f'href="{step_url(report, "applications")}?focus={ref}"' in summary
    assert f'href="{step_url(report, "problems")}?focus=narrative.problems"' in summary
    counts = page.context["step_comments"]
    assert counts["applications"] == 1 and counts["problems"] == 1 and counts["basic"] == 0
    assert 'data-step-comments="applications"' in text


def test_it_shows_no_return_summary_on_a_draft(world, report):
    page = world.client("owner_clerk").get(step_url(report))
    assert 'id="return-summary"' not in page.text


# -- 2. 撤回 and 申请更正 where the report is -------------------------------------------------


def test_it_offers_a_clerk_withdraw_where_the_report_is_and_it_works(world, report):
    clerk = world.client("owner_clerk")
    workflow.transition(report, workflow.Action.SUBMIT, actor=world.users["owner_clerk"])
    action = reverse("review:action", args=["test-org", 2021, "withdraw"])
    for url in (reverse(WS), step_url(report)):
        page = clerk.get(url).text
        assert f'action="{action}"' in page and "撤回" in page, url
    done = clerk.post(action, {"next": step_url(report)})
    assert done.status_code == 302 and done["Location"] == step_url(report)
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT


def test_it_offers_a_clerk_a_correction_of_a_published_report(world, report):
    report.status = Report.Status.PUBLISHED
    report.save()
    page = world.client("owner_clerk").get(reverse(WS)).text
    assert f'action="{reverse("review:action", args=["test-org", 2021, "correct"])}"' in page and "申请更正" in page


def test_it_offers_nothing_the_clerk_may_not_do(world, report):
    page = world.client("owner_clerk").get(reverse(WS)).text
    assert "/actions/" not in page  # a draft: neither 撤回 nor 申请更正
    Membership.objects.create(user=world.users["office_reviewer"], organization=world.office, role="clerk")
    workflow.transition(report, workflow.Action.SUBMIT, actor=world.users["owner_clerk"])
    # A reviewer may approve, but the clerk's page offers only what a clerk does.
    assert "/actions/approve/" not in world.client("office_reviewer").get(step_url(report)).text


# -- 7. one blank cell, one error -----------------------------------------------------------


def test_it_reports_one_error_on_the_cell_the_clerk_emptied(world, report):
    clerk = world.client("owner_clerk")
    ref = "applications.granted.natural_person"
    body = {
        "version": report.version,
        "step": "applications",
        "values": {ref: ""},
        "bases": {ref: str(export_report(report)["applications"]["granted"]["natural_person"])},
    }
    url = reverse("workspace:autosave", args=["test-org", 2021])
    data = clerk.post(url, json.dumps(body), content_type="application/json").json()
    errors = [f for f in data["findings"] if f["severity"] == "error"]
    assert [f["cells"] for f in errors] == [[ref]], errors
    assert "总计" not in errors[0]["message"]


def test_it_still_reports_a_blank_total_whose_parts_are_all_filled():
    doc = balanced_document("2021", year=2021)
    doc["reviews"]["reconsideration"]["total"] = None
    findings = [f for f in check_document(doc) if f.rule == "cells.required"]
    assert [f.cells for f in findings] == [("reviews.reconsideration.total",)]


# -- 8. the fee in 元, 成文日期 not in the future, one numbering ----------------------------------


def test_it_gives_the_fee_an_example_in_yuan(world, report):
    fee = report.spec.fee_part
    data = autosave(world.client("owner_clerk"), report, {f"{fee.ref}.amount_yuan": "十二元"}, step="other_matters")
    message = data["errors"][f"{fee.ref}.amount_yuan"]
    assert "元" in message and "12.50" in message and "12.5000" not in message


def test_it_refuses_a_date_of_issue_after_today_at_the_form(world, report, monkeypatch):
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: dt.date(2026, 11, 29))
    data = autosave(world.client("owner_clerk"), report, {"header.issued_on": "2027-01-15"})
    assert "晚于今天" in data["errors"]["header.issued_on"] and "2027年1月15日" in data["errors"]["header.issued_on"]
    assert export_report(Report.objects.get(pk=report.pk))["issued_on"] != "2027-01-15"
    ok = autosave(world.client("owner_clerk"), report, {"header.issued_on": "2026-11-29"})
    assert ok["errors"] == {}
    # The date picker offers nothing later either.
    assert 'max="2026-11-29"' in world.client("owner_clerk").get(step_url(report)).text


def test_it_refuses_to_submit_or_publish_a_report_dated_after_today(world, report, monkeypatch):
    report.issued_on = dt.date(2026, 12, 1)
    report.save()
    monkeypatch.setattr("django.utils.timezone.localdate", lambda: dt.date(2026, 11, 29))
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.transition(report, workflow.Action.SUBMIT, actor=world.users["owner_clerk"])
    assert any("晚于今天" in f.message for f in refused.value.findings)
    report.status = Report.Status.APPROVED
    report.save()
    with pytest.raises(workflow.TransitionRefused) as refused:
        workflow.transition(report, workflow.Action.PUBLISH, actor=world.users["office_reviewer"])
    assert "晚于今天" in refused.value.message
    assert not report.jobs.exists()


def test_it_numbers_drafts_as_the_revisions_are_numbered(world, report, monkeypatch):
    clerk = world.client("owner_clerk")
    for n in range(3):  # autosaves are not drafts
        autosave(clerk, report, {"header.title": f"标题{n}"})
    report.refresh_from_db()
    assert report.version > 3 and draft_number(report) == 1
    preview = clerk.get(step_url(report, "preview"))
    assert preview.context["preview"].revision_mark == "第1稿" and "第1稿" in preview.text
    assert f"第{report.version}稿" not in preview.text
    submit_and_return(world, report, "再改改。")
    report.refresh_from_db()
    assert report.revisions.get().number == 1 and draft_number(report) == 2
    assert "第2稿" in clerk.get(step_url(report, "preview")).text
