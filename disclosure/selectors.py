"""Reads: reports as interchange documents, their findings, last year's report."""

from __future__ import annotations

import datetime as dt

from django.db.models import Case, CharField, Count, F, FilteredRelation, Max, Q, Value, When

from . import formats as reg
from .calendar import deadline
from .formats import Requirement
from .interchange import (
    SCHEMA_ID,
    YUAN_PLACES,
    canonical_narrative,
    canonicalize,
    cell_value,
    format_amount,
    narrative_text,
)
from .models import AuditEvent, Comment, Organization, Report
from .rules import Finding, check_document


def report_queryset():
    return Report.objects.select_related("organization").prefetch_related(
        "narrative_parts", "active_rows", "application_rows", "review_rows"
    )


def _narrative(report: Report) -> dict:
    fmt = report.spec
    texts = {p.path: p.text for p in report.narrative_parts.all()}
    nested: dict = {}
    for part in fmt.narrative:
        *parents, leaf = part.path.split(".")
        node = nested
        for name in parents:
            node = node.setdefault(name, {})
        text = texts.get(part.path, "")
        if part.has_amount:
            node[leaf] = {
                "amount_yuan": format_amount(report.processing_fee_yuan, YUAN_PLACES),
                "text": text,
            }
        else:
            node[leaf] = text
    return canonical_narrative(fmt, nested)


def export_report(report: Report) -> dict:
    """The report as a canonical ``disclosure-report/1`` document."""
    fmt = report.spec
    org = report.organization
    active_rows = {(r.subtable, r.row): r for r in report.active_rows.all()}
    active: dict = {}
    for table in fmt.active_disclosure:
        rows: dict = {}
        for row in table.rows:
            obj = active_rows.get((table.code, row.code))
            cells = {}
            for col in table.columns:
                value = getattr(obj, col.code) if obj else None
                cells[col.code] = format_amount(value) if col.kind == reg.CellKind.AMOUNT else value
            rows[row.code] = cells
        if table.has_unit:
            rows["unit"] = report.procurement_unit
        active[table.code] = rows
    app_rows = {r.row: r for r in report.application_rows.all()}
    review_rows = {r.block: r for r in report.review_rows.all()}
    return {
        "schema": SCHEMA_ID,
        "format": fmt.code,
        "year": report.year,
        "organization": {
            "name": report.organization_name or org.name,
            "code": org.code,
            "kind": org.kind,
        },
        "title": report.title,
        "issued_on": report.issued_on.isoformat() if report.issued_on else None,
        "narrative": _narrative(report),
        "active_disclosure": active,
        "applications": {
            row.code: {
                c.code: getattr(app_rows[row.code], c.code) if row.code in app_rows else None
                for c in fmt.applications_columns
            }
            for row in fmt.applications_rows
        },
        "reviews": {
            block.code: {
                c.code: getattr(review_rows[block.code], c.code) if block.code in review_rows else None
                for c in fmt.reviews_columns
            }
            for block in fmt.reviews_blocks
        },
    }


def previous_document(report: Report) -> dict | None:
    """Last year's report, as this year's is checked against and prefilled from.

    Its newest publication when it has one: that is the report of record,
    even while a correction of it is being drafted. Otherwise (both years are
    being written here) its current state.
    """
    previous = Report.objects.filter(organization=report.organization, year=report.year - 1).first()
    if previous is None:
        return None
    publication = previous.publications.select_related("revision").order_by("-number").first()
    if publication is None:
        return export_report(report_queryset().get(pk=previous.pk))
    doc = canonicalize(publication.revision.document)
    # Frozen under the code the office had then; it is the same office.
    return {**doc, "organization": {**doc["organization"], "code": report.organization.code}}


PUBLISHING_EVENTS = ("report.publish", "report.publish_imported")
# Events on a report that never shape its content: comments, jobs (a mail or a
# render that failed is recorded against whoever started it) and the request to
# publish. Everything else does, so a new kind of write counts as authoring
# unless it changes only the status (a workflow step).
NOT_AUTHORING_PREFIXES = ("comment.", "job.")
NOT_AUTHORING_ACTIONS = (*PUBLISHING_EVENTS, "report.publish_requested")


def is_authoring(action: str, data: dict) -> bool:
    """Whether an audit event on a report shaped its content (or submitted it).

    Submitting counts; comments, jobs and publishing do not; a write whose
    recorded changes touch only ``status`` does not; any other event does.
    """
    if action == "report.submit":
        return True
    if action.startswith(NOT_AUTHORING_PREFIXES) or action in NOT_AUTHORING_ACTIONS:
        return False
    changes = data.get("changes") if isinstance(data, dict) else None
    return not (isinstance(changes, dict) and changes and set(changes) <= {"status"})


def authors(report: Report) -> set[int]:
    """Ids of the people who wrote or submitted the report since it was last published.

    Decided per (person, kind of event), not per event: a report has thousands
    of autosave events, and their recorded changes are never read here.
    """
    events = report.audit_events.filter(actor__isnull=False)
    published = report.audit_events.filter(action__in=PUBLISHING_EVENTS).order_by("-id").first()
    if published is not None:
        events = events.filter(id__gt=published.id)
    found: set[int] = set()
    for actor, action in events.order_by().values_list("actor_id", "action").distinct():
        if actor in found or action.startswith(NOT_AUTHORING_PREFIXES) or action in NOT_AUTHORING_ACTIONS:
            continue
        if action == "report.submit":
            found.add(actor)
            continue
        # Workflow steps record only {"status": …}; one event of this kind by this
        # person that records anything else (or no changes at all) is authoring.
        # (Spelled out for PostgreSQL, where excluding a key of a missing object drops the row.)
        content = Q(data__changes__isnull=True) | ~Q(data__changes__has_key="status")
        candidates = events.filter(actor_id=actor, action=action).filter(content)
        if candidates.exists():
            found.add(actor)
    return found


def check_report(report: Report, doc: dict | None = None) -> list[Finding]:
    """The rules' findings for a stored report, against last year's when known.

    ``doc`` is the report's export when the caller has it already.
    """
    # Imported here: jurisdiction.rollup reads selectors (a module-level import would be circular).
    from .jurisdiction.rollup import hierarchy_input

    doc = export_report(report) if doc is None else doc
    return check_document(doc, previous_document(report), hierarchy_input(report))


def completeness(doc: dict) -> float:
    """Share of the cells and required narrative parts that are filled (0..1)."""
    fmt = reg.get_format(doc["format"])
    cells = [cell_value(doc, spec) for spec in fmt.cells() if not spec.computed]
    government = doc["organization"]["kind"] == "government"
    parts = [
        p
        for p in fmt.narrative
        if p.requirement == Requirement.ALWAYS or (p.requirement == Requirement.GOVERNMENT and government)
    ]
    filled = sum(v is not None for v in cells)
    filled += sum(bool(narrative_text(doc, part.path)) for part in parts)
    total = len(cells) + len(parts)
    return filled / total if total else 1.0


def anchor_label(report: Report, anchor: str) -> str:
    """A reader's name for where a comment sits (audit.place_label: the one naming of places)."""
    from .audit import place_label

    return place_label(report.spec, anchor)


def comment_threads(report: Report) -> list[dict]:
    """Top-level comments with their replies and a reader's name for their place."""
    comments = list(report.comments.select_related("author", "resolved_by"))
    replies: dict[int, list] = {}
    for c in comments:
        if c.parent_id:
            replies.setdefault(c.parent_id, []).append(c)
    return [
        {"comment": c, "replies": replies.get(c.pk, []), "label": anchor_label(report, c.anchor)}
        for c in comments
        if not c.parent_id
    ]


def open_comments(report: Report, threads: list[dict] | None = None) -> list[dict]:
    """The reviewers' unresolved top-level comments, oldest first, each with its place.

    ``step`` is the clerk's step where the commented cell or part is edited;
    ``ref`` the cell or part to focus there ("" for a step or the whole report).
    """
    from .wizard import BASIC, step_of_ref

    fmt = report.spec
    sections = {s.code for s in fmt.sections}
    items = []
    for thread in comment_threads(report) if threads is None else threads:
        comment = thread["comment"]
        if comment.resolved_at is not None:
            continue
        anchor = comment.anchor
        whole = anchor == "report" or anchor in sections
        items.append(
            thread
            | {
                "step": BASIC if anchor == "report" else step_of_ref(fmt, anchor),
                "ref": "" if whole else anchor,
                "author": _person(comment.author),
            }
        )
    return sorted(items, key=lambda item: item["comment"].created_at)


def _person(user) -> str:
    if user is None:
        return "系统"
    return user.get_full_name() or user.username


def return_reasons(reports) -> dict[int, Comment]:
    """For each returned report, the comment it was last returned with.

    ``workflow.transition`` records it on the ``report.return`` audit event
    (``data["comment"]``, the comment's id); two queries for any number of reports.
    """
    ids = [r.pk for r in reports if r.status == Report.Status.RETURNED]
    if not ids:
        return {}
    last: dict[int, int] = {}
    events = AuditEvent.objects.filter(report_id__in=ids, action="report.return").order_by("id")
    for report_id, data in events.values_list("report_id", "data"):
        if isinstance(data, dict) and isinstance(data.get("comment"), int):
            last[report_id] = data["comment"]
    comments = Comment.objects.select_related("author").in_bulk(list(last.values()))
    return {report_id: comments[pk] for report_id, pk in last.items() if pk in comments}


def draft_number(report: Report) -> int:
    """The 第N稿 a clerk sees: the revision this draft becomes when submitted.

    Revisions are frozen at submission and publication (修订与发布 lists them);
    autosaves are not drafts. A submitted or approved report is the latest one.
    """
    latest = report.revisions.aggregate(n=Max("number"))["n"] or 0
    if report.status in (Report.Status.SUBMITTED, Report.Status.APPROVED, Report.Status.PUBLISHED):
        return max(latest, 1)
    return latest + 1


# -- the supervisor's dashboard, answered by the database (ADR 0014) ---------------------

STATUS_KEYS = ("draft", "submitted", "returned", "approved", "published")


def dashboard_organizations(year: int):
    """Organizations annotated with their report of ``year`` (a LEFT JOIN, none when missing)."""
    return Organization.objects.annotate(rep=FilteredRelation("reports", condition=Q(reports__year=year))).annotate(
        report_id=F("rep__id"),
        report_status=F("rep__status"),
        report_errors=F("rep__error_count"),
        report_warnings=F("rep__warning_count"),
    )


def late_q(year: int, today: dt.date):
    """Past its deadline (a government's own report is due later) and not published."""
    kinds = [
        kind
        for kind in Organization.Kind.values
        if deadline(year, government_level=kind == Organization.Kind.GOVERNMENT) < today
    ]
    # On the annotations, not rep__…: a filter() through the relation again would add a second join.
    return Q(kind__in=kinds) & (Q(report_status__isnull=True) | ~Q(report_status=Report.Status.PUBLISHED))


def status_q(status: str):
    if status == "missing":
        return Q(report_id__isnull=True)
    return Q(report_status=status)


def rollup_counts(year: int, today: dt.date) -> dict:
    """The roll-up's aggregates: organizations, each status, late, with errors."""
    counts = {"orgs": Count("pk"), "missing": Count("pk", filter=status_q("missing"))}
    counts |= {key: Count("pk", filter=status_q(key)) for key in STATUS_KEYS}
    counts["late"] = Count("pk", filter=late_q(year, today))
    counts["errors"] = Count("pk", filter=Q(report_errors__gt=0))
    return counts


def rollup(organizations, branches: list, year: int, today: dt.date) -> tuple[list[dict], dict]:
    """Counts per branch (each one's whole subtree) and for all of them, in one query.

    ``organizations`` is the annotated queryset of the whole scope; each row is
    given to the first branch whose path it starts with.
    """
    if not branches:
        return [], dict.fromkeys(rollup_counts(year, today), 0)
    branch = Case(
        *[When(path__startswith=b.path, then=Value(str(b.pk))) for b in branches],
        default=Value(""),
        output_field=CharField(),
    )
    grouped = {
        row["branch"]: row
        for row in organizations.annotate(branch=branch)
        .values("branch")
        .annotate(**rollup_counts(year, today))
        .order_by()
    }
    empty = dict.fromkeys(rollup_counts(year, today), 0)
    rows = [{"org": b, **{k: v for k, v in grouped.get(str(b.pk), empty).items() if k != "branch"}} for b in branches]
    total = {key: sum(row[key] for row in grouped.values()) for key in empty}
    return rows, total
