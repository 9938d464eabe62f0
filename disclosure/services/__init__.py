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
    EditConflict,
    InvalidEdit,
    NotEditable,
    SaveResult,
    changes_since,
    edit_values,
    explain_finding,
    mark_present,
    prefill_from_previous,
    present_users,
    recent_changes,
    save_edits,
)
from .uploads import PENDING_IMPORT_DAYS, confirm_import, discard_import, stage_upload

__all__ = [
    "EDITABLE_STATUSES",
    "EditConflict",
    "InvalidEdit",
    "PENDING_IMPORT_DAYS",
    "ImportResult",
    "InvalidComment",
    "NotEditable",
    "SaveResult",
    "User",
    "add_comment",
    "changes_since",
    "confirm_import",
    "create_report",
    "default_title",
    "diff_documents",
    "discard_import",
    "edit_values",
    "explain_finding",
    "finish_admin_edit",
    "flatten",
    "import_document",
    "mark_present",
    "prefill_from_previous",
    "present_users",
    "recent_changes",
    "record_event",
    "resolve_comment",
    "save_edits",
    "stage_upload",
    "valid_anchor",
]
