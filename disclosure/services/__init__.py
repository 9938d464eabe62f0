"""Writes. Each runs in a transaction, validates, and records an audit event.

One module per kind of write; everything is importable from here.
"""

from .comments import InvalidComment, add_comment, resolve_comment, valid_anchor
from .core import (
    EDITABLE_STATUSES,
    ImportResult,
    User,
    create_report,
    default_title,
    diff_documents,
    finish_admin_edit,
    flatten,
    import_document,
    record_event,
)
from .editing import (
    NotEditable,
    SaveResult,
    StaleVersion,
    changes_since,
    explain_finding,
    prefill_from_previous,
    save_edits,
)
from .uploads import PENDING_IMPORT_DAYS, confirm_import, discard_import, stage_upload

__all__ = [
    "EDITABLE_STATUSES",
    "PENDING_IMPORT_DAYS",
    "ImportResult",
    "InvalidComment",
    "NotEditable",
    "SaveResult",
    "StaleVersion",
    "User",
    "add_comment",
    "changes_since",
    "confirm_import",
    "create_report",
    "default_title",
    "diff_documents",
    "discard_import",
    "explain_finding",
    "finish_admin_edit",
    "flatten",
    "import_document",
    "prefill_from_previous",
    "record_event",
    "resolve_comment",
    "save_edits",
    "stage_upload",
    "valid_anchor",
]
