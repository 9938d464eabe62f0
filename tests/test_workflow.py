"""The review state machine: every state × action × role, and what transitions leave behind."""

import hashlib

import pytest
from django.core import mail

from disclosure.models import AuditEvent, Comment, Job, Publication, Report, Revision
from disclosure.services import import_document
from disclosure.workflow import TRANSITIONS, Action, TransitionRefused, transition

from .factories import balanced_document
from .personas import PERSONAS, STATES

pytestmark = pytest.mark.django_db
ACTING = [p for p in PERSONAS if p != "anonymous"]
ROLE_OF = {
    "owner_clerk": "clerk",
    "office_reviewer": "reviewer",
    "parent_supervisor": "supervisor",
    "sibling_clerk": None,
    "other_supervisor": None,
}


def expected(state: str, action: Action, persona: str) -> str:
    """The state after the action, or the refusal code."""
    rule = TRANSITIONS[action]
    if ROLE_OF[persona] not in rule.roles:
        return "forbidden"
    if state in rule.sources:
        return rule.target
    if state == rule.target:
        return state  # a repeated click: nothing happens
    return "invalid_state"


@pytest.mark.parametrize("persona", ACTING)
@pytest.mark.parametrize("action", list(Action))
@pytest.mark.parametrize("state", STATES)
def test_it_follows_the_state_machine(world, report, state, action, persona, django_capture_on_commit_callbacks):
    Report.objects.filter(pk=report.pk).update(status=state)
    events_before = AuditEvent.objects.count()
    outcome = expected(state, action, persona)
    actor = world.users[persona]
    if outcome in ("forbidden", "invalid_state"):
        with pytest.raises(TransitionRefused) as info:
            transition(report, action, actor=actor, comment="请核对。")
        assert info.value.code == outcome
        assert Report.objects.get(pk=report.pk).status == state
        assert AuditEvent.objects.count() == events_before
    else:
        with django_capture_on_commit_callbacks(execute=True):  # the transaction commits; its jobs run
            result = transition(report, action, actor=actor, comment="请核对。")
        changed = outcome != state
        # Publishing answers at once with the report still approved; its job publishes it after commit.
        queued = action == Action.PUBLISH and changed
        assert result.status == (state if queued else outcome)
        assert Report.objects.get(pk=report.pk).status == outcome
        # A return's comment is written (and audited) like any other, also when
        # the report was returned already and nothing else changes; a publication
        # is asked for (one event) and done (another).
        assert AuditEvent.objects.count() == events_before + changed + (action == Action.RETURN) + queued
        assert Comment.objects.filter(report=report).count() == int(action == Action.RETURN)
        assert Job.objects.filter(kind=Job.Kind.PUBLISH, report=report, status="succeeded").count() == int(queued)


@pytest.mark.parametrize("persona", ACTING)
@pytest.mark.parametrize("action", list(Action))
def test_it_follows_the_state_machine_while_a_publication_is_under_way(world, report, action, persona):
    """Approved with a publish job queued (发布中): the table holds; a second publish adds nothing."""
    from disclosure.workflow import allowed_actions

    Report.objects.filter(pk=report.pk).update(status="approved")
    transition(report, Action.PUBLISH, actor=world.users["office_reviewer"])  # its job waits for the commit
    jobs_before, events_before = Job.objects.count(), AuditEvent.objects.count()
    outcome = expected("approved", action, persona)
    actor = world.users[persona]
    if outcome in ("forbidden", "invalid_state"):
        with pytest.raises(TransitionRefused) as info:
            transition(report, action, actor=actor, comment="请核对。")
        assert info.value.code == outcome
    else:
        result = transition(report, action, actor=actor, comment="请核对。")
        assert result.status == ("approved" if action == Action.PUBLISH else outcome)
    assert Job.objects.filter(kind=Job.Kind.PUBLISH).count() == 1
    if action == Action.PUBLISH:
        assert (Job.objects.count(), AuditEvent.objects.count()) == (jobs_before, events_before)
    assert Action.PUBLISH not in allowed_actions(actor, Report.objects.get(pk=report.pk))


def test_it_is_idempotent_under_a_double_click(world, report):
    clerk = world.users["owner_clerk"]
    transition(report, Action.SUBMIT, actor=clerk)
    transition(report, Action.SUBMIT, actor=clerk)
    assert AuditEvent.objects.filter(action="report.submit").count() == 1
    assert Revision.objects.filter(report=report).count() == 1


def test_it_blocks_submission_and_approval_on_errors(world, report):
    import_document({**balanced_document("2021", year=2021), "applications": {}}, replace=True)
    with pytest.raises(TransitionRefused) as info:
        transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    assert info.value.code == "errors" and info.value.findings
    Report.objects.filter(pk=report.pk).update(status="submitted")
    with pytest.raises(TransitionRefused) as info:
        transition(report, Action.APPROVE, actor=world.users["office_reviewer"])
    assert info.value.code == "errors"


def test_it_reruns_the_rules_at_approval(world, report):
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    # A change after submission (e.g. through the admin) breaks an identity.
    from disclosure.models import ApplicationRow

    ApplicationRow.objects.filter(report=report, row="granted").update(natural_person=999)
    with pytest.raises(TransitionRefused) as info:
        transition(report, Action.APPROVE, actor=world.users["parent_supervisor"])
    assert info.value.code == "errors"


def test_it_requires_a_comment_to_return_a_report(world, report):
    transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    with pytest.raises(TransitionRefused) as info:
        transition(report, Action.RETURN, actor=world.users["office_reviewer"], comment="  ")
    assert info.value.code == "comment_required"
    transition(
        report,
        Action.RETURN,
        actor=world.users["office_reviewer"],
        comment="自然人一栏请核对。",
        anchor="applications.granted.natural_person",
    )
    note = Comment.objects.get(report=report)
    assert (note.anchor, note.body, note.author.username) == (
        "applications.granted.natural_person",
        "自然人一栏请核对。",
        "office_reviewer",
    )
    # Written like any other comment: its own audit row, which the return's row points at.
    added = AuditEvent.objects.get(report=report, action="comment.added")
    returned = AuditEvent.objects.get(report=report, action="report.return")
    assert added.data["comment"] == returned.data["comment"] == note.pk


def test_it_freezes_a_revision_at_each_submission_and_publication(world, report, django_capture_on_commit_callbacks):
    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    transition(report, Action.SUBMIT, actor=clerk)
    transition(report, Action.RETURN, actor=reviewer, comment="改")
    transition(report, Action.SUBMIT, actor=clerk)
    transition(report, Action.APPROVE, actor=reviewer)
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.PUBLISH, actor=reviewer)
    events = list(Revision.objects.filter(report=report).values_list("number", "event"))
    assert events == [(1, "submission"), (2, "submission"), (3, "publication")]
    with pytest.raises(ValueError):
        Revision.objects.get(report=report, number=1).save()


def test_it_stores_the_published_files_once_with_their_hashes(
    world, report, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    with django_capture_on_commit_callbacks(execute=True):
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, reviewer), (Action.PUBLISH, reviewer)]:
            transition(report, action, actor=actor)
    first = Publication.objects.get(report=report)
    pdf = first.pdf.read()
    assert pdf.startswith(b"%PDF") and hashlib.sha256(pdf).hexdigest() == first.pdf_sha256
    assert hashlib.sha256(first.data.read()).hexdigest() == first.data_sha256
    with pytest.raises(ValueError):
        first.save()

    # A correction: drafted, reviewed and published again; r1 stays as it was.
    transition(report, Action.CORRECT, actor=clerk)
    assert Report.objects.get(pk=report.pk).status == Report.Status.DRAFT
    with django_capture_on_commit_callbacks(execute=True):
        for action, actor in [(Action.SUBMIT, clerk), (Action.APPROVE, reviewer), (Action.PUBLISH, reviewer)]:
            transition(report, action, actor=actor)
    assert list(Publication.objects.filter(report=report).values_list("number", flat=True)) == [1, 2]
    first.refresh_from_db()
    first.pdf.open()
    assert hashlib.sha256(first.pdf.read()).hexdigest() == first.pdf_sha256


def test_it_mails_reviewers_on_submission_and_the_clerk_afterwards(world, report, django_capture_on_commit_callbacks):
    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=clerk)
    assert [m.to for m in mail.outbox] == [["office_reviewer@example.org"]]
    assert "待审核" in mail.outbox[0].subject
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.RETURN, actor=reviewer, comment="第三部分请补充。")
    assert mail.outbox[1].to == ["owner_clerk@example.org"]
    assert "第三部分请补充。" in mail.outbox[1].body
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=clerk)
        transition(report, Action.APPROVE, actor=reviewer)
    assert "审核通过" in mail.outbox[-1].subject and mail.outbox[-1].to == ["owner_clerk@example.org"]


def test_it_mails_the_supervisors_when_the_only_reviewer_wrote_the_report(
    world, report, django_capture_on_commit_callbacks
):
    from disclosure.models import Membership

    world.users["office_reviewer"].memberships.all().delete()
    clerk = world.users["owner_clerk"]
    Membership.objects.create(user=clerk, organization=world.office, role=Membership.Role.REVIEWER)
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=clerk)
    assert [m.to for m in mail.outbox] == [["parent_supervisor@example.org"]]


def test_it_mails_the_supervisors_when_the_office_has_no_reviewer(world, report, django_capture_on_commit_callbacks):
    world.users["office_reviewer"].memberships.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        transition(report, Action.SUBMIT, actor=world.users["owner_clerk"])
    assert mail.outbox[0].to == ["parent_supervisor@example.org"]


def test_it_lets_nobody_approve_their_own_work(world, report):
    from disclosure.models import Membership
    from disclosure.workflow import allowed_actions

    clerk, reviewer = world.users["owner_clerk"], world.users["office_reviewer"]
    Membership.objects.create(user=clerk, organization=world.office, role=Membership.Role.REVIEWER)
    report = transition(report, Action.SUBMIT, actor=clerk)
    assert Action.APPROVE not in allowed_actions(clerk, report)
    assert Action.RETURN in allowed_actions(clerk, report)
    with pytest.raises(TransitionRefused) as refused:
        transition(report, Action.APPROVE, actor=clerk)
    assert refused.value.code == "own_work"
    assert Report.objects.get(pk=report.pk).status == "submitted"
    assert not AuditEvent.objects.filter(report=report, action="report.approve").exists()

    transition(report, Action.APPROVE, actor=reviewer)
    assert Report.objects.get(pk=report.pk).status == "approved"


def test_it_counts_whoever_edited_the_report_not_only_who_submitted_it(
    world, report, django_capture_on_commit_callbacks
):
    from disclosure.models import Membership
    from disclosure.services import save_edits
    from disclosure.workflow import allowed_actions

    writer, colleague, reviewer = (
        world.users["owner_clerk"],
        world.users["sibling_clerk"],
        world.users["office_reviewer"],
    )
    Membership.objects.create(user=writer, organization=world.office, role=Membership.Role.REVIEWER)
    Membership.objects.create(user=colleague, organization=world.office, role=Membership.Role.CLERK)
    save_edits(report, actor=writer, expected_version=report.version, narrative={"overview.platform": "新平台。"})
    report = transition(report, Action.SUBMIT, actor=colleague)
    assert Action.APPROVE not in allowed_actions(writer, report)
    with pytest.raises(TransitionRefused):
        transition(report, Action.APPROVE, actor=writer)
    with django_capture_on_commit_callbacks(execute=True):
        for action, actor in [(Action.APPROVE, reviewer), (Action.PUBLISH, reviewer)]:
            report = transition(report, action, actor=actor)
    # After publication a new round starts: a correction written by someone else may be approved by the writer.
    report = transition(report, Action.CORRECT, actor=colleague)
    save_edits(report, actor=colleague, expected_version=report.version, narrative={"overview.platform": "更正。"})
    report = transition(report, Action.SUBMIT, actor=colleague)
    assert Action.APPROVE in allowed_actions(writer, report)
