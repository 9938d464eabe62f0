"""Reviewers' comments, anchored to a cell, part, section or the report."""

from __future__ import annotations

from django.db import transaction

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


@transaction.atomic
def resolve_comment(comment: Comment, *, actor: User) -> Comment:
    from django.utils import timezone

    comment = Comment.objects.select_for_update().get(pk=comment.pk)
    if comment.resolved_at is None:
        comment.resolved_at = timezone.now()
        comment.resolved_by = actor
        comment.save(update_fields=["resolved_at", "resolved_by"])
        record_event("comment.resolved", actor=actor, report=comment.report, comment=comment.pk)
    return comment
