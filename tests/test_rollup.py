"""The roll-up (汇总) of a subtree's reports (issue 15, ADR 0016)."""

from __future__ import annotations

import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure import formats as reg
from disclosure.jurisdiction.rollup import CHILDREN, SUBTREE, build_rollup
from disclosure.models import ActiveDisclosureRow, ApplicationRow, Organization, Report, ReviewRow

pytestmark = pytest.mark.django_db

STATES = [None, "draft", "submitted", "returned", "approved", "published"]


def _org(i: int, parent: Organization | None) -> Organization:
    kind = "government" if parent is None or i % 4 == 0 else "department"
    return Organization.objects.create(name=f"机关{i}", code=f"o{i}", kind=kind, parent=parent)


def _report(
    org: Organization, year: int, status: str, rng: random.Random, blank: float = 0.1, unit: str = "万元"
) -> dict[str, object]:
    """A report whose cells are random counts and six-decimal amounts (some blank), its
    2019 procurement amounts in ``unit``; returns its values by ref."""
    fmt = reg.format_for_year(year)
    report = Report.objects.create(
        organization=org, year=year, format=fmt.code, organization_name=org.name, status=status, procurement_unit=unit
    )
    values: dict[str, object] = {}

    def value(kind: reg.CellKind):
        if rng.random() < blank:
            return None
        if kind == reg.CellKind.AMOUNT:
            return Decimal(f"{rng.randint(0, 99999)}.{rng.randint(0, 999999):06d}")
        if kind == reg.CellKind.SIGNED:
            return rng.randint(-9, 9)
        return rng.randint(0, 50)

    for table in fmt.active_disclosure:
        for row in table.rows:
            cells = {c.code: value(c.kind) for c in table.columns}
            ActiveDisclosureRow.objects.create(report=report, subtable=table.code, row=row.code, **cells)
            values |= {f"active_disclosure.{table.code}.{row.code}.{k}": v for k, v in cells.items()}
    for row in fmt.applications_rows:
        cells = {c.code: value(c.kind) for c in fmt.applications_columns}
        ApplicationRow.objects.create(report=report, row=row.code, **cells)
        values |= {f"applications.{row.code}.{k}": v for k, v in cells.items()}
    for block in fmt.reviews_blocks:
        cells = {c.code: value(c.kind) for c in fmt.reviews_columns}
        ReviewRow.objects.create(report=report, block=block.code, **cells)
        values |= {f"reviews.{block.code}.{k}": v for k, v in cells.items()}
    return values


def _in_wanyuan(values: dict[str, object], unit: str, fmt: reg.Format) -> dict[str, object]:
    """A report's values with its stated-unit amounts in 万元, as the roll-up sums them."""
    if fmt.unit_table is None or unit == "万元":
        return values
    prefix = f"active_disclosure.{fmt.unit_table.code}."
    return {
        ref: v / 10000 if v is not None and ref.startswith(prefix) and ref.endswith(".amount") else v
        for ref, v in values.items()
    }


def _members(orgs: list[Organization], root: Organization, scope: str) -> list[Organization]:
    """By hand, down the parent links: the organizations whose reports the roll-up counts."""
    below = defaultdict(list)
    for o in orgs:
        below[o.parent_id].append(o)

    def covers(o: Organization) -> bool:
        return o.kind == "government" and o.report_scope == "rollup"

    if scope == CHILDREN and not covers(root):
        return below[root.pk]
    if scope == CHILDREN:  # a 汇总 government: through lower governments on 本级 only

        def descend(o: Organization) -> bool:
            return o.kind == "government" and o.report_scope == "own"
    else:  # the subtree, not below a 汇总 government (its report covers it)

        def descend(o: Organization) -> bool:
            return not covers(o)

    out, stack = [], list(below[root.pk])
    while stack:
        o = stack.pop()
        out.append(o)
        if descend(o):
            stack.extend(below[o.pk])
    return out


def _expected(inputs: list[dict[str, object]], ref: str) -> tuple[object, int, object]:
    """By hand: (the roll-up figure, blanks, the sum of the filled inputs)."""
    filled = [v[ref] for v in inputs if v[ref] is not None]
    blanks = len(inputs) - len(filled)
    known = sum(filled) if filled else None
    return (known if inputs and not blanks else None), blanks, known


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    parents=st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=9),
    states=st.lists(st.sampled_from(STATES), min_size=10, max_size=10),
    seed=st.integers(min_value=0, max_value=2**32),
    root_pick=st.integers(min_value=0, max_value=10_000),
    scope=st.sampled_from([CHILDREN, SUBTREE]),
    drafts=st.booleans(),
    year=st.sampled_from([2020, 2021]),
    rollups=st.lists(st.booleans(), min_size=10, max_size=10),
    units=st.lists(st.sampled_from(["万元", "元"]), min_size=10, max_size=10),
)
def test_it_sums_every_cell_of_the_chosen_reports_and_keeps_blanks_blank(
    parents, states, seed, root_pick, scope, drafts, year, rollups, units
):
    rng = random.Random(seed)
    fmt = reg.format_for_year(year)
    with transaction.atomic():
        orgs = [_org(0, None)]
        for i, p in enumerate(parents, start=1):
            orgs.append(_org(i, orgs[p % i]))
        for i, org in enumerate(orgs):
            if org.kind == "government" and rollups[i]:  # some governments report for their subtree (汇总)
                org.report_scope = "rollup"
                org.save()
        values: dict[int, dict[str, object]] = {}
        status: dict[int, str | None] = {}
        for i, org in enumerate(orgs):
            status[org.pk] = states[i]
            if states[i]:
                values[org.pk] = _in_wanyuan(_report(org, year, states[i], rng, unit=units[i]), units[i], fmt)
                _report(org, year - 1, "published", rng)  # another year never counts
        root = orgs[root_pick % len(orgs)]
        root.refresh_from_db()
        members = _members(orgs, root, scope)
        chosen = {"approved", "published"} | ({"draft", "submitted", "returned"} if drafts else set())
        inputs = [values[o.pk] for o in members if status[o.pk] in chosen]

        rollup = build_rollup(root, year, scope=scope, drafts=drafts)

        assert rollup.inputs == len(inputs)
        assert rollup.counts["orgs"] == len(members)
        assert rollup.counts["missing"] == sum(status[o.pk] is None for o in members)
        assert {o.code for o in rollup.missing} == {o.code for o in members if status[o.pk] is None}
        assert {o.code for o in rollup.pending} == {
            o.code for o in members if status[o.pk] is not None and status[o.pk] not in chosen
        }
        assert {o.code for o in rollup.included} == {o.code for o in members if status[o.pk] in chosen}
        for spec in rollup.fmt.cells():
            figure, blanks, known = _expected(inputs, spec.ref)
            cell = rollup.cells[spec.ref]
            assert (cell.value, cell.blanks, cell.known) == (figure, blanks, known), spec.ref
        transaction.set_rollback(True)


def test_it_says_how_many_inputs_left_a_cell_blank_and_never_counts_a_blank_as_zero():
    city = _org(0, None)
    a, b, c = (_org(i, city) for i in (1, 2, 3))
    rng = random.Random(1)
    for org in (a, b, c):
        _report(org, 2021, "approved", rng, blank=0)
    ApplicationRow.objects.filter(report__organization__in=[a, b], row="new_received").update(natural_person=None)
    ApplicationRow.objects.filter(report__organization=c, row="new_received").update(natural_person=7)
    cell = build_rollup(city, 2021).cells["applications.new_received.natural_person"]
    assert (cell.value, cell.blanks, cell.known, cell.inputs) == (None, 2, 7, 3)
    ApplicationRow.objects.filter(report__organization__in=[a, b, c], row="new_received").update(natural_person=None)
    cell = build_rollup(city, 2021).cells["applications.new_received.natural_person"]
    assert (cell.value, cell.blanks, cell.known) == (None, 3, None)


def test_it_sums_2019_procurement_amounts_in_wanyuan_whatever_unit_each_report_states():
    city = _org(0, None)
    a, b = _org(1, city), _org(2, city)
    rng = random.Random(2)
    for org in (a, b):
        _report(org, 2020, "published", rng, blank=0)
    table = reg.format_for_year(2020).unit_table
    ActiveDisclosureRow.objects.filter(report__organization=a, subtable=table.code).update(amount=Decimal("2.5"))
    ActiveDisclosureRow.objects.filter(report__organization=b, subtable=table.code).update(amount=Decimal("15000"))
    Report.objects.filter(organization=b).update(procurement_unit="元")
    ref = f"active_disclosure.{table.code}.{table.rows[0].code}.amount"
    assert build_rollup(city, 2020).value(ref) == Decimal("4.0000")


def _province(cities: int, districts: int, offices: int) -> Organization:
    province = _org(0, None)
    rng = random.Random(3)
    n = 1
    for _c in range(cities):
        city = _org(n, province)
        n += 1
        for _d in range(districts):
            district = _org(n, city)
            n += 1
            for k in range(offices):
                office = _org(n, district)
                n += 1
                if k % 3:
                    _report(office, 2021, STATES[1 + n % 5], rng)
    return province


def test_it_reads_a_roll_up_in_the_same_queries_at_two_sizes():
    counted = {}
    for label, size in (("small", (1, 2, 2)), ("large", (3, 3, 5))):
        with transaction.atomic():
            province = _province(*size)
            for scope in (CHILDREN, SUBTREE):
                with CaptureQueriesContext(connection) as ctx:
                    rollup = build_rollup(province, 2021, scope=scope, drafts=True)
                counted[label, scope] = len(ctx.captured_queries)
                assert rollup.counts["orgs"]
            transaction.set_rollback(True)
    assert counted["small", CHILDREN] == counted["large", CHILDREN] == 5
    assert counted["small", SUBTREE] == counted["large", SUBTREE] == 5


def test_it_lists_at_most_the_limit_per_coverage_group_in_tree_order():
    from disclosure.jurisdiction.rollup import coverage_lists

    root = _org(0, None)
    rng = random.Random(4)
    children = [_org(i, root) for i in range(1, 8)]
    for i, org in enumerate(children):
        if i % 2:
            _report(org, 2021, "approved", rng)
    included, missing, pending = coverage_lists(root, 2021, CHILDREN, False, limit=2)
    assert [o.code for o in missing] == [o.code for o in children if not children.index(o) % 2][:2]
    assert [o.code for o in included] == [o.code for o in children if children.index(o) % 2][:2]
    assert pending == []
    assert len(coverage_lists(root, 2021, CHILDREN, False, limit=None)[1]) == 4
