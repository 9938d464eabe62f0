"""A report travels through review in the browser: submit, return with a cell
comment, fix, approve, publish (answered at once, published by its job while
the page waits); the published PDF is stored once."""

import hashlib
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure.interchange import derive_totals
from disclosure.models import Comment, Membership, Organization, Publication, Report
from disclosure.services import import_document

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "review-pass-2026"


@pytest.fixture
def people(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    district = Organization.objects.create(name="甲区人民政府", code="district-a", kind="government")
    office = Organization.objects.create(name="测试局", code="test-org", kind="department", parent=district)
    User = get_user_model()
    for username, org, role in [
        ("clerk", office, Membership.Role.CLERK),
        ("leader", office, Membership.Role.REVIEWER),
        ("supervisor", district, Membership.Role.SUPERVISOR),
    ]:
        user = User.objects.create_user(username, password=PASSWORD, first_name=username)
        Membership.objects.create(user=user, organization=org, role=role)
    doc = balanced_document("2021", year=2021)
    # The slip the reviewer will spot: one application too many, counted both
    # as received and as granted, so the tables still balance.
    doc["applications"]["granted"]["natural_person"] += 1
    doc["applications"]["new_received"]["natural_person"] += 1
    return import_document(derive_totals(doc, overwrite=True)).report


def test_it_walks_a_report_from_submission_to_publication(sign_in, live_server, people, shots, monkeypatch):
    report = people
    base = f"{live_server.url}/workspace/test-org/2021"
    review_url = f"{live_server.url}/review/test-org/2021/"

    clerk = sign_in("clerk", PASSWORD)
    clerk.goto(base + "/submit/")
    clerk.get_by_role("button", name="提交审核").click()
    expect(clerk.locator(".alert-success")).to_contain_text("已提交")
    shots(clerk, "clerk-submitted")

    leader = sign_in("leader", PASSWORD)
    leader.goto(review_url)
    # Click the questioned cell in the report: the comment form's position is it, named in Chinese.
    cell = report.spec.label_of("applications.granted.natural_person")
    label = "表三" + cell  # which table, then the cell
    leader.locator('#review-document td[data-ref="applications.granted.natural_person"]').click()
    expect(leader.locator("#c-anchor")).to_have_value("applications.granted.natural_person")
    expect(leader.locator("#c-anchor option:checked")).to_have_text(label)
    # The return's position moves only when the leader chooses it, here with the offered button.
    expect(leader.locator("#return-anchor")).to_have_value("report")
    offer = leader.locator("#return-use-anchor")
    expect(offer).to_be_visible()
    expect(offer).to_contain_text(label)
    offer.click()
    expect(leader.locator("#return-anchor")).to_have_value("applications.granted.natural_person")
    expect(leader.locator("#return-anchor option:checked")).to_have_text(label)
    expect(offer).to_be_hidden()
    leader.locator('#return-form textarea[name="comment"]').fill(
        "予以公开的自然人申请数与台账不符，应为少1件，请核对。"
    )
    shots(leader, "leader-returning")
    leader.locator("#return-form button[type=submit]").click()
    expect(leader.locator("#status")).to_have_text("已退回")
    assert Comment.objects.get().anchor == "applications.granted.natural_person"
    expect(leader.locator(".comment").first).to_contain_text(label)

    clerk.goto(base + "/applications/")
    flagged = clerk.locator('td.has-comment[data-ref="applications.granted.natural_person"]')
    expect(flagged).to_be_visible()
    expect(clerk.locator("#comments")).to_contain_text("请核对")
    expect(clerk.locator("#comments")).to_contain_text(cell)
    # The leader's comment is the leader's to settle: the clerk replies.
    expect(clerk.locator("#comments").get_by_role("button", name="标记为已解决")).to_have_count(0)
    shots(clerk, "clerk-sees-comment")
    granted = clerk.locator('input[data-ref="applications.granted.natural_person"]')
    new_received = clerk.locator('input[data-ref="applications.new_received.natural_person"]')
    granted.fill(str(int(granted.input_value()) - 1))
    new_received.fill(str(int(new_received.input_value()) - 1))
    clerk.keyboard.press("Tab")
    expect(clerk.locator("#save-state")).to_contain_text("已保存")
    expect(clerk.locator('.balance-col[data-column="natural_person"]')).to_have_class(re.compile("text-bg-success"))
    clerk.locator("#comments").get_by_placeholder("回复").fill("已按台账更正。")
    clerk.locator("#comments").get_by_role("button", name="回复").click()
    clerk.goto(base + "/submit/")
    clerk.get_by_role("button", name="提交审核").click()
    expect(clerk.locator(".alert-success")).to_contain_text("已提交")

    leader.goto(review_url)
    expect(leader.locator(".comment")).to_contain_text("已按台账更正。")
    leader.locator(".comment").get_by_role("button", name="标记为已解决").click()
    expect(leader.locator(".comment .badge")).to_have_text("已解决")
    leader.locator('button[data-action="approve"]').click()
    expect(leader.locator("#status")).to_have_text("已审核")
    # The publish job is held back, as if every worker were busy: the click is answered at once.
    held = []
    monkeypatch.setattr("disclosure.jobs.core.send", held.append)
    leader.locator('button[data-action="publish"]').click()
    expect(leader.locator(".alert-info").first).to_contain_text("正在生成正式文本…")
    expect(leader.locator("#status")).to_have_text("发布中")
    expect(leader.locator('button[data-action="publish"]')).to_have_count(0)
    shots(leader, "publishing")
    # The worker takes the job; the waiting page (static/js/jobs.js) shows the result by itself.
    from disclosure.jobs import tasks

    [job] = held
    tasks.publish.apply(args=[str(job.pk)])
    expect(leader.locator("#status")).to_have_text("已发布", timeout=15000)
    shots(leader, "published")

    publication = Publication.objects.get(report=report)
    stored = publication.pdf.read()
    assert hashlib.sha256(stored).hexdigest() == publication.pdf_sha256
    expect(leader.get_by_text(publication.pdf_sha256)).to_be_visible()
    # Looking at it again renders nothing new: the hash stays the same.
    leader.reload()
    publication.refresh_from_db()
    assert Publication.objects.filter(report=report).count() == 1
    assert hashlib.sha256(open(publication.pdf.path, "rb").read()).hexdigest() == publication.pdf_sha256
    assert Report.objects.get(pk=report.pk).status == Report.Status.PUBLISHED
