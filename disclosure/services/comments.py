"""Reviewers' comments, anchored to a cell, part, section or the report."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from ..errors import CodedError
from ..models import (
    Comment,
    Report,
)
from .core import User, record_event

# -- review comments ---------------------------------------------------------------


class InvalidComment(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ResolveRefused(CodedError, PermissionDenied):
    """Someone who may not settle this comment tried to (a 403 where it reaches a view)."""

    default_code = "forbidden"


RESOLVE_REFUSED_MESSAGE = "审核人的意见只能由提出意见的人或本机关的审核人、督办人标记为已解决；您可以回复这条意见。"


def valid_anchor(report: Report, anchor: str) -> bool:
    fmt = report.spec
    if anchor == "report" or any(s.code == anchor for s in fmt.sections):
        return True
    if anchor.startswith("narrative."):
        return any(p.ref == anchor for p in fmt.narrative)
    try:
        fmt.cell(anchor)
    except KeyError:
        return False
    return True


@transaction.atomic
def add_comment(report: Report, *, actor: User, anchor: str, body: str, parent: Comment | None = None) -> Comment:
    body = (body or "").strip()
    if not body:
        raise InvalidComment("意见内容不能为空。")
    if parent is not None:
        if parent.report_id != report.pk:
            raise InvalidComment("回复的意见不属于这份报告。")
        anchor = parent.anchor
    if not valid_anchor(report, anchor):
        raise InvalidComment("意见的位置不正确。")
    comment = Comment.objects.create(report=report, anchor=anchor, parent=parent, author=actor, body=body)
    record_event("comment.added", actor=actor, report=report, comment=comment.pk, anchor=anchor, body=body)
    return comment


def may_resolve(comment: Comment, actor: User) -> bool:
    """Whether ``actor`` may mark ``comment`` resolved (permissions.may_resolve_comment)."""
    from .. import permissions

    org = comment.report.organization
    roles = permissions.roles_for(actor, org)
    by_reviewer = comment.author_id is not None and bool(permissions.reviewing_people(org, [comment.author_id]))
    return permissions.may_resolve_comment(actor, comment, roles=roles, by_reviewer=by_reviewer)


@transaction.atomic
def resolve_comment(comment: Comment, *, actor: User) -> Comment:
    """Mark a comment resolved; a clerk cannot settle a reviewer's comment (ResolveRefused)."""
    from django.utils import timezone

    comment = Comment.objects.select_for_update(of=("self",)).select_related("report__organization").get(pk=comment.pk)
    if not may_resolve(comment, actor):
        raise ResolveRefused(RESOLVE_REFUSED_MESSAGE, "forbidden", {"comment": comment.pk})
    if comment.resolved_at is None:
        comment.resolved_at = timezone.now()
        comment.resolved_by = actor
        comment.save(update_fields=["resolved_at", "resolved_by"])
        record_event("comment.resolved", actor=actor, report=comment.report, comment=comment.pk)
    return comment
