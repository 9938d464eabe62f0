"""Review pages, the supervisor's dashboard, comments, diffs, reminders, account security."""

import datetime as dt
import io
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from disclosure.models import Comment, Membership, Report
from disclosure.services import add_comment, save_edits
from disclosure.workflow import Action, transition

from .personas import PERSONAS, STATES

pytestmark = pytest.mark.django_db
ROLE_HOLDERS = {"owner_clerk", "office_reviewer", "parent_supervisor"}


def urls(report: Report, comment: Comment) -> list[tuple[str, str, str]]:
    """(method, url, area) for every URL of a report."""
    args = [report.organization.code, report.year]
    review = [
        ("get", reverse("review:report", args=args), "review"),
        ("get", reverse("review:diff", args=args) + "?from=current&to=current", "review"),
        ("get", reverse("review:export", args=[*args, "xlsx"]), "review"),
        ("get", reverse("review:export", args=[*args, "docx"]), "review"),
        ("post", reverse("review:comment", args=args), "review"),
        ("post", reverse("review:resolve", args=[*args, comment.pk]), "review"),
        *[("post", reverse("review:action", args=[*args, a.value]), "review") for a in Action],
    ]
    workspace = [
        ("get", reverse("workspace:step", args=[*args, step]), "workspace")
        for step in ("basic", "applications", "preview", "submit")
    ] + [
        ("post", reverse(name, args=args), "workspace")
        for name in ("workspace:autosave", "workspace:no_applications", "workspace:explain", "workspace:submit")
    ]
    return review + workspace


@pytest.mark.parametrize("state", STATES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_it_lets_only_the_right_people_reach_each_url(world, report, persona, state):
    Report.objects.filter(pk=report.pk).update(status=state)
    comment = Comment.objects.create(report=report, anchor="report", author=world.users["office_reviewer"], body="意见")
    client = world.client(persona)
    for method, url, area in urls(report, comment):
        status = getattr(client, method)(url).status_code
        if persona == "anonymous":
            assert status == 302, (url, status)
        elif persona == "owner_clerk" and "/resolve/" in url:
            assert status == 403, (url, status)  # a reviewer's comment: the clerk replies, never settles it
        elif area == "review" and persona in ROLE_HOLDERS or area == "workspace" and persona == "owner_clerk":
            assert status in (200, 302, 400, 409, 422), (url, status)
        else:
            assert status == 404, (persona, url, status)


def test_it_shows_a_supervisor_their_subtree_only(world, report):
    client = world.client("parent_supervisor")
    page = client.get(reverse("review:dashboard"), {"year": 2021})
    codes = [row["org"].code for row in page.context["rows"]]
    assert set(codes) == {"district-a", "test-org", "sibling"}
    row = next(r for r in page.context["rows"] if r["org"].code == "test-org")
    assert row["status_label"] == "草稿" and row["errors"] == 0 and row["last_activity"] is not None
    missing = next(r for r in page.context["rows"] if r["org"].code == "sibling")
    assert missing["status_label"] == "未创建" and missing["late"]
    others = world.client("other_supervisor").get(reverse("review:dashboard"), {"year": 2021}).context["rows"]
    assert [r["org"].code for r in others] == ["district-b"]


def test_it_filters_the_dashboard_and_exports_csv(world, report):
    client = world.client("parent_supervisor")
    page = client.get(reverse("review:dashboard"), {"year": 2021, "status": "missing"})
    assert [r["org"].code for r in page.context["rows"]] == ["district-a", "sibling"]
    csv = client.get(reverse("review:dashboard"), {"year": 2021, "format": "csv"})
    assert csv["Content-Type"] == "text/csv; charset=utf-8"
    assert "filename*=UTF-8''2021%E5%B9%B4" in csv["Content-Disposition"]
    text = b"".join(csv.streaming_content).decode("utf-8-sig")
    assert text.splitlines()[0].startswith("机关代码,机关,上级机关,状态")
    assert "test-org,测试局,甲区人民政府,草稿,2022-01-31" in text


def test_it_anchors_comments_and_shows_them_to_the_clerk_at_their_cell(world, report):
    reviewer = world.client("office_reviewer")
    args = [report.organization.code, report.year]
    reviewer.post(
        reverse("review:comment", args=args), {"anchor": "applications.granted.research", "body": "科研机构数请核对"}
    )
    comment = Comment.objects.get()
    assert comment.anchor == "applications.granted.research"
    clerk = world.client("owner_clerk")
    step = clerk.get(reverse("workspace:step", args=[*args, "applications"]))
    assert "科研机构数请核对" in step.text
    assert 'has-comment" data-ref="applications.granted.research"' in step.text
    assert "科研机构数请核对" not in clerk.get(reverse("workspace:step", args=[*args, "reviews"])).text
    clerk.post(reverse("review:comment", args=args), {"parent": comment.pk, "body": "已核对，无误。"})
    assert comment.replies.get().body == "已核对，无误。"
    reviewer.post(reverse("review:resolve", args=[*args, comment.pk]))
    comment.refresh_from_db()
    assert comment.resolved_at is not None and comment.resolved_by.username == "office_reviewer"


def test_it_refuses_a_comment_at_a_place_the_report_does_not_have(world, report):
    from disclosure.services import InvalidComment

    with pytest.raises(InvalidComment):
        add_comment(report, actor=world.users["office_reviewer"], anchor="applications.nothing.here", body="x")


def test_it_shows_the_difference_between_two_revisions(world, report):
    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    transition(report, Action.SUBMIT, actor=clerk)
    transition(report, Action.RETURN, actor=reviewer, comment="请补充平台建设情况。")
    report.refresh_from_db()
    save_edits(
        report, actor=clerk, expected_version=report.version, narrative={"overview.platform": "新建政务公开专栏。"}
    )
    transition(report, Action.SUBMIT, actor=clerk)
    page = world.client("office_reviewer").get(
        reverse("review:diff", args=[report.organization.code, report.year]), {"from": "1", "to": "2"}
    )
    assert [c["ref"] for c in page.context["changes"]] == ["narrative.overview.platform"]
    assert "新建政务公开专栏。" in page.text and "政府信息公开平台建设" in page.text


def test_it_walks_the_review_through_the_web(world, report):
    args = [report.organization.code, report.year]
    clerk, reviewer = world.client("owner_clerk"), world.client("office_reviewer")
    clerk.post(reverse("workspace:submit", args=args))
    page = reviewer.get(reverse("review:report", args=args))
    assert {a for a, _ in page.context["actions"]} == {"return", "approve"}
    reviewer.post(reverse("review:action", args=[*args, "return"]), {"comment": "", "anchor": "report"})
    assert Report.objects.get(pk=report.pk).status == "submitted"  # a return needs a comment
    reviewer.post(reverse("review:action", args=[*args, "approve"]))
    assert Report.objects.get(pk=report.pk).status == "approved"
    assert reviewer.post(reverse("review:action", args=[*args, "nonsense"])).status_code == 404


def test_it_reminds_clerks_whose_report_is_not_submitted(world, report, monkeypatch):
    monkeypatch.setattr(
        "disclosure.management.commands.remind_deadline.timezone.localdate", lambda: dt.date(2022, 1, 25)
    )
    out = StringIO()
    call_command("remind_deadline", "--days", "10", stdout=out)
    assert sorted(m.to[0] for m in mail.outbox) == ["owner_clerk@example.org", "sibling_clerk@example.org"]
    assert "还有6天" in mail.outbox[0].body
    mail.outbox.clear()
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    call_command("remind_deadline", "--days", "3", stdout=out)
    assert mail.outbox == []
    call_command("remind_deadline", "--days", "10", stdout=out)
    assert [m.to[0] for m in mail.outbox] == ["sibling_clerk@example.org"]


def test_it_throttles_repeated_failed_logins(world):
    client = Client(REMOTE_ADDR="10.9.8.7")
    world.users["owner_clerk"].set_password("right-password-1")
    world.users["owner_clerk"].save()
    for _ in range(4):
        response = client.post(reverse("login"), {"username": "owner_clerk", "password": "wrong"})
        assert response.status_code == 200
    fifth = client.post(reverse("login"), {"username": "owner_clerk", "password": "wrong"})
    assert fifth.status_code == 429
    locked = client.post(reverse("login"), {"username": "owner_clerk", "password": "right-password-1"})
    assert locked.status_code == 429 and "暂时锁定" in locked.text


def test_it_sends_security_headers(client):
    response = client.get(reverse("login"))
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_it_protects_every_post_with_csrf(world, report):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users["owner_clerk"])
    response = client.post(reverse("workspace:submit", args=[report.organization.code, report.year]))
    assert response.status_code == 403


def test_it_exports_a_report_to_excel_and_word_for_its_reviewers(world, report):
    import openpyxl
    from docx import Document

    args = [report.organization.code, report.year]
    leader = world.client("office_reviewer")
    xlsx = leader.get(reverse("review:export", args=[*args, "xlsx"]))
    assert xlsx["Content-Type"].endswith("spreadsheetml.sheet")
    assert "filename*=UTF-8''" in xlsx["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(xlsx.content))
    assert len(workbook.sheetnames) >= 3
    docx = leader.get(reverse("review:export", args=[*args, "docx"]))
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "一、总体情况" in text
    assert world.client("sibling_clerk").get(reverse("review:export", args=[*args, "xlsx"])).status_code == 404


def test_it_exports_the_jurisdiction_year_to_one_workbook(world, report, django_capture_on_commit_callbacks):
    import openpyxl

    from disclosure.models import Job

    supervisor = world.client("parent_supervisor")
    assert supervisor.get(reverse("review:export_jurisdiction"), {"year": 2021}).status_code == 405  # a POST now
    with django_capture_on_commit_callbacks(execute=True):
        response = supervisor.post(reverse("review:export_jurisdiction"), {"year": 2021}, follow=True)
    assert "正在生成汇总表" in response.text
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    status = supervisor.get(reverse("review:export_status", args=[job.pk])).json()
    assert status["status"] == "succeeded" and status["url"] == reverse("review:export_download", args=[job.pk])
    assert status["url"] in supervisor.get(reverse("review:dashboard"), {"year": 2021}).text
    download = supervisor.get(status["url"])
    assert "filename*=UTF-8''2021" in download["Content-Disposition"]
    workbook = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    values = [c.value for sheet in workbook.worksheets for row in sheet.iter_rows() for c in row]
    assert "测试局" in values and "邻局" in values and "别的局" not in values
    # The workbook is its requester's: another supervisor, or someone with no scope, gets nothing.
    assert world.client("other_supervisor").get(status["url"]).status_code == 404
    assert world.client("sibling_clerk").post(reverse("review:export_jurisdiction")).status_code == 404


def test_it_tells_a_reviewer_who_submitted_that_someone_else_approves(world, report):
    Membership.objects.create(user=world.users["owner_clerk"], organization=world.office, role=Membership.Role.REVIEWER)
    args = [report.organization.code, report.year]
    both = world.client("owner_clerk")
    both.post(reverse("workspace:submit", args=args))
    page = both.get(reverse("review:report", args=args))
    assert {a for a, _ in page.context["actions"]} == {"return", "withdraw"}
    assert "您参与了这份报告的填报或提交，须由其他审核人审核通过。" in page.text
    response = both.post(reverse("review:action", args=[*args, "approve"]), follow=True)
    assert Report.objects.get(pk=report.pk).status == "submitted"
    assert "您参与了这份报告的填报或提交，须由其他审核人审核通过。" in response.text
    other = world.client("office_reviewer").get(reverse("review:report", args=args))
    assert "approve" in {a for a, _ in other.context["actions"]} and "own-work" not in other.text
