"""The review pages as reviewers and supervisors read them (issue 13): days to the
deadline in words, an empty filter told apart from an empty scope, comment places
by their Chinese labels, no code on screen; and who may mark a reviewer's comment
resolved (its author and the office's reviewers: the clerk replies)."""

import html
import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from disclosure.calendar import deadline
from disclosure.models import Comment, Report
from disclosure.review.views import due_label
from disclosure.services import add_comment
from disclosure.services.comments import ResolveRefused, resolve_comment
from disclosure.workflow import Action, transition

pytestmark = pytest.mark.django_db
# What a reader must never see: stored status values, cell refs, rule keys, event names.
RAW = re.compile(r"\b(?:draft|submitted|returned|approved|published|missing)\b|\b[a-z_]+\.[a-z_]+")


def visible_text(page: str) -> str:
    """The page's text as shown: no scripts, styles, tags or attributes."""
    main = page[page.index("<main") :] if "<main" in page else page
    main = re.sub(r"<(script|style)\b.*?</\1>", " ", main, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", main))


def test_it_says_how_many_days_are_left_or_late():
    assert due_label(3) == "还剩 3 天"
    assert due_label(0) == "今天截止"
    assert due_label(-12) == "已逾期 12 天"
    assert due_label(-12, published=True) == "—"


def test_it_shows_on_the_dashboard_how_many_days_a_report_is_late(world, report):
    page = world.client("office_reviewer").get(reverse("review:dashboard"), {"year": report.year})
    late = (timezone.localdate() - deadline(report.year)).days
    assert late > 0
    row = re.search(r'<tr class="table-danger" data-org="test-org">(.*?)</tr>', page.text, re.S).group(1)
    assert f"已逾期 {late} 天" in row
    assert ">逾期<" not in row


def test_it_counts_a_single_office_in_its_reviewers_totals(world, report):
    page = world.client("office_reviewer").get(reverse("review:dashboard"), {"year": report.year})
    assert page.context["totals"]["orgs"] == 1 and page.context["totals"]["draft"] == 1
    assert not page.context["children"]  # no roll-up of one


def test_it_tells_an_empty_filter_from_an_empty_scope(world, report):
    reviewer = world.client("office_reviewer")
    page = reviewer.get(reverse("review:dashboard"), {"year": report.year, "q": "没有这个机关"})
    assert "没有符合筛选条件的机关" in page.text
    clear = re.search(r'<a href="\?([^"]*)">清除筛选</a>', page.text)
    assert clear and html.unescape(clear.group(1)) == f"year={report.year}&org=test-org"
    assert "没有需要您审核或督办的机关" not in page.text
    unfiltered = reviewer.get(reverse("review:dashboard"), {"year": report.year})
    assert 'data-org="test-org"' in unfiltered.text and "没有符合筛选条件" not in unfiltered.text


def test_it_tells_someone_who_reviews_nothing_what_the_page_is_for(world):
    clerk = world.client("sibling_clerk")  # a clerk elsewhere, no review role
    page = clerk.get(reverse("review:dashboard"))
    assert page.status_code == 200
    assert "您还没有被指定为任何机关的审核人或督办人" in page.text
    assert f'<a id="to-my-reports" href="{reverse("workspace:dashboard")}"' in page.text  # their own reports
    assert "没有符合筛选条件" not in page.text
    User = get_user_model()
    nobody = User.objects.create_user("nobody", password="unused-pass-1")
    world.users["nobody"] = nobody
    page = world.client("nobody").get(reverse("review:dashboard"))
    assert "您还没有被指定为任何机关的审核人或督办人" in page.text
    assert 'id="to-my-reports"' not in page.text


def _reviewer_comment(world, report) -> Comment:
    reviewer = world.users["office_reviewer"]
    return add_comment(report, actor=reviewer, anchor="applications.granted.research", body="请核对")


def test_it_refuses_a_clerk_marking_a_reviewers_comment_resolved(world, report):
    comment = _reviewer_comment(world, report)
    with pytest.raises(ResolveRefused) as refused:
        resolve_comment(comment, actor=world.users["owner_clerk"])
    assert refused.value.code == "forbidden"
    comment.refresh_from_db()
    assert comment.resolved_at is None
    # A forged POST: 403, nothing resolved; the clerk may still reply.
    url = reverse("review:resolve", args=["test-org", report.year, comment.pk])
    clerk = world.client("owner_clerk")
    assert clerk.post(url).status_code == 403
    comment.refresh_from_db()
    assert comment.resolved_at is None
    clerk.post(reverse("review:comment", args=["test-org", report.year]), {"parent": comment.pk, "body": "已核对"})
    assert comment.replies.get().body == "已核对"


@pytest.mark.parametrize("persona", ["office_reviewer", "parent_supervisor"])
def test_it_lets_the_author_and_the_offices_reviewers_resolve_it(world, report, persona):
    comment = _reviewer_comment(world, report)
    url = reverse("review:resolve", args=["test-org", report.year, comment.pk])
    assert world.client(persona).post(url).status_code == 302
    comment.refresh_from_db()
    assert comment.resolved_by == world.users[persona]


def test_it_lets_a_clerk_resolve_a_clerks_own_note(world, report):
    note = add_comment(report, actor=world.users["owner_clerk"], anchor="report", body="附件已更新")
    assert resolve_comment(note, actor=world.users["owner_clerk"]).resolved_at is not None


def test_it_shows_the_resolve_button_only_to_those_who_may_resolve(world, report):
    _reviewer_comment(world, report)
    args = ["test-org", report.year]
    review_url = reverse("review:report", args=args)
    step_url = reverse("workspace:step", args=[*args, "applications"])
    for persona in ("office_reviewer", "parent_supervisor"):
        assert "标记为已解决" in world.client(persona).get(review_url).text
    clerk = world.client("owner_clerk")
    for url in (review_url, step_url):
        page = clerk.get(url).text
        assert "请核对" in page and "回复" in page
        assert "标记为已解决" not in page, url


def test_it_names_comment_places_in_chinese_on_the_review_page(world, report):
    ref = "applications.granted.research"
    _reviewer_comment(world, report)
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    page = world.client("office_reviewer").get(reverse("review:report", args=["test-org", report.year])).text
    label = "表三" + report.spec.label_of(ref)  # which table, then the cell
    thread = re.search(r'<div class="card mb-2 comment[^>]*>(.*?)</form>', page, re.S).group(1)
    assert html.unescape(label) in html.unescape(thread)
    labels = json.loads(re.search(r'<script id="anchor-labels" type="application/json">(.*?)</script>', page).group(1))
    assert labels[ref] == label
    assert all(re.search(r"[\u4e00-\u9fff]", text) for text in labels.values())
    # The return form offers the clicked place; it never follows the click silently (static/js/review.js).
    assert 'id="return-use-anchor"' in page


def test_it_shows_the_review_page_without_codes(world, report):
    add_comment(report, actor=world.users["office_reviewer"], anchor="narrative.overview.summary", body="概述请补充")
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    transition(report, Action.RETURN, actor=world.users["office_reviewer"], comment="请修改", anchor="reviews")
    assert Report.objects.get(pk=report.pk).status == Report.Status.RETURNED
    page = world.client("parent_supervisor").get(reverse("review:report", args=["test-org", report.year]))
    text = visible_text(page.text)
    assert "操作记录" in text and "退回修改" in text
    assert not RAW.findall(text), RAW.findall(text)


def test_it_shows_the_dashboard_without_codes(world, report):
    page = world.client("parent_supervisor").get(reverse("review:dashboard"), {"year": report.year})
    text = visible_text(page.text)
    assert "测试局" in text
    assert not RAW.findall(text), RAW.findall(text)


def test_it_names_the_place_of_a_return_in_the_clerks_mail(world, report, django_capture_on_commit_callbacks):
    from django.core import mail

    ref = "applications.granted.research"
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
        transition(report, Action.RETURN, actor=world.users["office_reviewer"], comment="科研机构数请核对", anchor=ref)
    [returned] = [m for m in mail.outbox if "退回修改" in m.subject]
    assert f"位置：表三{report.spec.label_of(ref)}\n科研机构数请核对" in returned.body
    assert ref not in returned.body
