"""Completeness and timeliness of a year's reports, level by level (issue 15).

For the node a supervisor looks at, one row per direct child (over the child's
whole subtree) plus the node's own report, and the total: organizations
expected, reports created / submitted / approved / published, and published on
time / late / still missing, as counts and rates. Everything is one GROUP BY
query (each organization assigned to the child whose path prefixes its own,
as the dashboard's roll-up does, ADR 0014) and one more for the curve of first
submissions per day: the query count does not grow with the subtree.

Definitions (spec: 条例第四十九条, ``calendar.deadline``):
- 应报 (expected): every organization in the subtree.
- 已提交 / 已审核 / 已发布: reached that stage at least (a returned report was
  submitted; a published one was submitted and approved); 已发布 means a
  publication exists.
- 按时发布: first published by the end of its deadline day (31 January for
  departments, 31 March for a government's own report); 逾期发布: first
  published after it; 逾期未发布: not published and the deadline has passed;
  未到截止: not published yet, deadline still ahead.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db.models import Case, CharField, Count, Exists, OuterRef, Q, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from ..calendar import deadline
from ..models import Membership, Organization, Report, Revision
from ..permissions import _memberships, subtree_q
from ..selectors import dashboard_organizations

GOV = Organization.Kind.GOVERNMENT
DEPT = Organization.Kind.DEPARTMENT

# (key, label, shown as a rate of the expected organizations)
COLUMNS: list[tuple[str, str]] = [
    ("expected", "应报机关"),
    ("created", "已创建"),
    ("submitted", "已提交"),
    ("approved", "已审核"),
    ("published", "已发布"),
    ("on_time", "按时发布"),
    ("late", "逾期发布"),
    ("missing", "逾期未发布"),
    ("pending", "未到截止"),
]
RATE_KEYS = [key for key, _label in COLUMNS if key != "expected"]
# Reached submission at least: the statuses after it.
SUBMITTED_STATUSES = [
    Report.Status.SUBMITTED,
    Report.Status.RETURNED,
    Report.Status.APPROVED,
    Report.Status.PUBLISHED,
]
APPROVED_STATUSES = [Report.Status.APPROVED, Report.Status.PUBLISHED]
CURVE_WEEKS = 12  # weeks shown before each deadline


# -- who may look -----------------------------------------------------------------------------


def supervised_roots(user) -> list[Organization]:
    """The tops of the subtrees this user supervises (no query beyond the memberships)."""
    orgs = sorted(
        {
            m.organization.pk: m.organization for m in _memberships(user) if m.role == Membership.Role.SUPERVISOR
        }.values(),
        key=lambda o: o.path,
    )
    kept: list[Organization] = []
    for org in orgs:
        if not (kept and org.path.startswith(kept[-1].path)):
            kept.append(org)
    return kept


def supervises(user, org: Organization) -> bool:
    """Whether ``org`` lies in a subtree this user supervises."""
    return any(org.path.startswith(root.path) for root in supervised_roots(user) if root.path)


# -- deadlines ----------------------------------------------------------------------------------


def deadline_end(year: int, *, government: bool) -> dt.datetime:
    """The first moment after the deadline day, local time."""
    day = deadline(year, government_level=government) + dt.timedelta(days=1)
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def _past(year: int, kind: str, now: dt.datetime) -> bool:
    return now >= deadline_end(year, government=kind == GOV)


# -- the counts ---------------------------------------------------------------------------------


def _aggregates(year: int) -> dict:
    """Counts per group of the organizations joined to their report of ``year`` and its
    publications (a report corrected and published again is one row per publication:
    distinct counts). Late, missing and pending are derived from these per kind."""
    published_at = "rep__publications__published_at"
    published = Q(rep__publications__isnull=False)
    on_time = Q(kind=GOV, **{f"{published_at}__lt": deadline_end(year, government=True)}) | Q(
        kind=DEPT, **{f"{published_at}__lt": deadline_end(year, government=False)}
    )

    def count(condition: Q | None = None) -> Count:
        return Count("pk", distinct=True, filter=condition)

    return {
        "expected": count(),
        "created": count(Q(report_id__isnull=False)),
        "submitted": count(Q(report_status__in=SUBMITTED_STATUSES) | published),
        "approved": count(Q(report_status__in=APPROVED_STATUSES) | published),
        "published": count(published),
        "on_time": count(on_time),
    }


def _derive(by_kind: dict[str, dict], year: int, now: dt.datetime) -> dict:
    """The row's figures from its per-kind counts: late, missing and pending included."""
    counts = dict.fromkeys([key for key, _label in COLUMNS], 0)
    counts |= {"expected_gov": 0, "expected_dept": 0}
    for kind, found in by_kind.items():
        for key in ("expected", "created", "submitted", "approved", "published", "on_time"):
            counts[key] += found[key]
        counts["late"] += found["published"] - found["on_time"]
        unpublished = found["expected"] - found["published"]
        counts["missing" if _past(year, kind, now) else "pending"] += unpublished
        counts["expected_gov" if kind == GOV else "expected_dept"] += found["expected"]
    return counts


def _rates(counts: dict) -> dict:
    expected = counts["expected"]
    return {key: (counts[key] / expected if expected else None) for key in RATE_KEYS}


@dataclass
class Level:
    node: Organization | None
    year: int
    rows: list[dict]  # one per child: {"org", counts…, "rates", "drill"}
    own: dict | None  # the node's own report
    total: dict
    curve: dict = field(default_factory=dict)


def level(node: Organization | None, roots: list[Organization], year: int, now: dt.datetime | None = None) -> Level:
    """The counts for each child of ``node`` (or for each of ``roots`` when there is no node)."""
    now = now or timezone.now()
    if node is not None:
        branches = list(node.children.order_by("name", "code"))
        scope = [node]
    else:
        branches, scope = list(roots), list(roots)
    grouped: dict[str, dict[str, dict]] = {}
    if scope:
        branch = Case(
            *[When(path__startswith=b.path, then=Value(str(b.pk))) for b in branches],
            default=Value(""),
            output_field=CharField(),
        )
        found = (
            dashboard_organizations(year)
            .filter(subtree_q(scope))
            .annotate(branch=branch)
            .values("branch", "kind")
            .annotate(**_aggregates(year))
            .order_by()
        )
        for row in found:
            grouped.setdefault(row.pop("branch"), {})[row.pop("kind")] = row
    grouped = {key: _derive(by_kind, year, now) for key, by_kind in grouped.items()}
    empty = _derive({}, year, now)
    rows = []
    for b in branches:
        counts = grouped.get(str(b.pk), empty)
        # A child with anything below it can be opened in turn.
        rows.append({"org": b, **counts, "rates": _rates(counts), "drill": counts["expected"] > 1})
    own = None
    if node is not None and "" in grouped:
        own = {"org": node, **grouped[""], "rates": _rates(grouped[""])}
    total = {key: sum(row[key] for row in grouped.values()) for key in empty}
    total["rates"] = _rates(total)
    result = Level(node=node, year=year, rows=rows, own=own, total=total)
    result.curve = submission_curve(scope, year, total)
    return result


# -- the curve of submissions ------------------------------------------------------------------


def first_submissions(scope: list[Organization], year: int):
    """Each report's first submission (its earliest submission revision), by kind and day."""
    earlier = Revision.objects.filter(
        report_id=OuterRef("report_id"), event=Revision.Event.SUBMISSION, number__lt=OuterRef("number")
    )
    return (
        Revision.objects.filter(event=Revision.Event.SUBMISSION, report__year=year)
        .filter(subtree_q(scope, "report__organization__"))
        .filter(~Exists(earlier))
        .annotate(day=TruncDate("created_at"))
        .values("report__organization__kind", "day")
        .annotate(n=Count("pk"))
        .order_by()
    )


def submission_curve(scope: list[Organization], year: int, total: dict) -> dict:
    """Per kind: first submissions per week before its deadline (week 0 ends on the deadline
    day), earlier ones, later ones, and the cumulative share of the kind's organizations."""
    days: dict[str, dict[dt.date, int]] = {GOV: {}, DEPT: {}}
    if scope:
        for row in first_submissions(scope, year):
            kind_days = days.setdefault(row["report__organization__kind"], {})
            kind_days[row["day"]] = kind_days.get(row["day"], 0) + row["n"]
    curve = {}
    for kind, expected_key in ((DEPT, "expected_dept"), (GOV, "expected_gov")):
        expected = total.get(expected_key, 0)
        if not expected:
            continue
        due = deadline(year, government_level=kind == GOV)
        weeks = [0] * CURVE_WEEKS
        earlier = after = 0
        for day, n in days.get(kind, {}).items():
            before = (due - day).days
            if before < 0:
                after += n
            elif before // 7 >= CURVE_WEEKS:
                earlier += n
            else:
                weeks[before // 7] += n
        running = earlier
        points = []
        for index in range(CURVE_WEEKS - 1, -1, -1):
            running += weeks[index]
            end = due - dt.timedelta(days=7 * index)
            points.append(
                {
                    "weeks_before": index,
                    "start": end - dt.timedelta(days=6),
                    "end": end,
                    "count": weeks[index],
                    "cumulative": running,
                    "share": running / expected,
                }
            )
        curve[kind] = {
            "label": "政府部门" if kind == DEPT else "人民政府（本级报告）",
            "deadline": due,
            "expected": expected,
            "earlier": earlier,
            "after": after,
            "points": points,
            "submitted": running + after,
        }
    return curve


# -- the breadcrumb --------------------------------------------------------------------------------


def breadcrumb(user, node: Organization | None) -> list[Organization]:
    """From the top this user supervises down to the node."""
    if node is None:
        return []
    roots = supervised_roots(user)
    top = next((r for r in roots if node.path.startswith(r.path)), None)
    if top is None:
        return []
    ids = node.ancestor_ids[top.depth - 1 :]
    by_pk = {o.pk: o for o in Organization.objects.filter(pk__in=ids)}
    return [by_pk[pk] for pk in ids if pk in by_pk]
