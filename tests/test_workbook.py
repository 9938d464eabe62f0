"""The jurisdiction workbook (issue 13 item 9, issue 16): a 合计 row on every
sheet, and the dashboard's words for each organization's status."""

from __future__ import annotations

import io
import random
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from disclosure import formats as reg
from disclosure.formats import CellKind
from disclosure.interchange import canonicalize, cell_value
from disclosure.models import Job, Organization, Report
from disclosure.office import JurisdictionRow, jurisdiction_xlsx
from disclosure.office.xlsx import TOTAL_LABEL, YUAN_PER_UNIT
from disclosure.services import import_document

from .factories import balanced_document

pytestmark = pytest.mark.django_db
YEAR = 2021


def uneven_document(org: Organization, seed: int) -> dict:
    """A balanced 2021 report of ``org`` with a few blanks and an amount a float cannot hold."""
    rng = random.Random(seed)
    doc = balanced_document("2021", year=YEAR, rng=rng, org_code=org.code)
    doc["organization"] = {"name": org.name, "code": org.code, "kind": org.kind}
    fmt = reg.get_format("2021")
    for spec in rng.sample([s for s in fmt.cells() if not s.computed], 4):
        node = doc
        for part in spec.ref.split(".")[:-1]:
            node = node[part]
        node[spec.column] = None
    doc["active_disclosure"]["art20_8"]["fees"]["amount"] = f"0.1{seed}3457"
    return canonicalize(doc)


def sheet_rows(workbook, title: str) -> tuple[list, list[tuple]]:
    """(refs, rows below the refs row) of one sheet."""
    rows = list(workbook[title].iter_rows(values_only=True))
    ref_row = next(i for i, r in enumerate(rows) if r[0] == "ref")
    return list(rows[ref_row][3:]), rows[ref_row + 1 :]


def built_workbook(client, on_commit) -> openpyxl.Workbook:
    """The workbook as a supervisor gets it: asked for on the dashboard, built by the export job."""
    with on_commit(execute=True):
        client.post(reverse("review:export_jurisdiction"), {"year": YEAR})
    job = Job.objects.get(kind=Job.Kind.EXPORT)
    assert job.status == Job.Status.SUCCEEDED
    with job.result_file.open("rb") as f:
        return openpyxl.load_workbook(io.BytesIO(f.read()))


def test_it_ends_each_sheet_with_the_totals_of_every_numeric_column(world, django_capture_on_commit_callbacks):
    district = Organization.objects.get(code="district-a")
    docs = [uneven_document(org, seed) for seed, org in enumerate((district, world.office), start=1)]
    for doc in docs:
        import_document(doc)
    workbook = built_workbook(world.client("parent_supervisor"), django_capture_on_commit_callbacks)
    fmt = reg.get_format("2021")
    for section in ("active_disclosure", "applications", "reviews"):
        refs, body = sheet_rows(workbook, fmt.section(section).title)
        *rows, total = body
        assert sorted(r[0] for r in rows) == ["district-a", "sibling", "test-org"]
        assert total[0] == TOTAL_LABEL and total[1] == "3个机关"
        for ref, printed in zip(refs, total[3:], strict=True):
            spec = fmt.cell(ref)
            values = [cell_value(doc, spec) for doc in docs]
            values = [v for v in values if v is not None]
            if not values:
                assert printed is None, ref
            elif spec.kind == CellKind.AMOUNT:
                assert Decimal(str(printed)) == sum(Decimal(v) for v in values), ref
            else:
                assert printed == sum(values), ref


def test_it_says_for_each_status_what_the_dashboard_says(world, django_capture_on_commit_callbacks):
    import_document(uneven_document(world.office, 3), status=Report.Status.SUBMITTED)
    supervisor = world.client("parent_supervisor")
    dashboard = supervisor.get(reverse("review:dashboard"), {"year": YEAR})
    said = {row["org"].code: row["status_label"] for row in dashboard.context["rows"]}
    assert set(said) == {"district-a", "test-org", "sibling"}
    workbook = built_workbook(supervisor, django_capture_on_commit_callbacks)
    for sheet in workbook.sheetnames:
        _refs, body = sheet_rows(workbook, sheet)
        *rows, total = body
        assert {r[0]: r[2] for r in rows} == said
        # 合计 counts the organizations in each status, in the same words.
        words = list(said.values())
        assert total[2] == "，".join(f"{word}{words.count(word)}" for word in dict.fromkeys(words))


def test_it_totals_procurement_amounts_stated_in_different_units_in_yuan():
    fmt = reg.get_format("2019")
    amounts = {"万元": "1.2345", "元": "678.9"}
    rows = []
    for i, (unit, amount) in enumerate(amounts.items()):
        doc = balanced_document("2019", year=2020, rng=random.Random(i), org_code=f"org-{i}")
        doc["active_disclosure"]["art20_9"]["procurement"]["amount"] = amount
        doc["active_disclosure"]["art20_9"]["unit"] = unit
        rows.append(JurisdictionRow(f"机关{i}", f"org-{i}", "已发布", canonicalize(doc)))
    workbook = openpyxl.load_workbook(io.BytesIO(jurisdiction_xlsx(2020, rows)))
    sheet = workbook[fmt.section("active_disclosure").title]
    refs, body = sheet_rows(workbook, sheet.title)
    column = refs.index("active_disclosure.art20_9.procurement.amount")
    header = [c.value for row in sheet.iter_rows(max_row=5) for c in row if c.column == column + 4]
    assert any(v and v.endswith("（元）") for v in header)
    written = [Decimal(str(r[column + 3])) for r in body]
    in_yuan = [Decimal(a) * YUAN_PER_UNIT[u] for u, a in amounts.items()]
    assert written == [*in_yuan, sum(in_yuan)]


def test_it_reads_each_report_s_tables_as_the_report_export_does(world):
    # The workbook reads the table rows as plain values; every cell must read as export_report reads it.
    from disclosure.jobs.exports import workbook_rows
    from disclosure.selectors import export_report

    district = Organization.objects.get(code="district-a")
    import_document(uneven_document(world.office, 5))
    old = balanced_document("2019", year=2020, rng=random.Random(9), org_code=district.code)
    old["organization"] = {"name": district.name, "code": district.code, "kind": district.kind}
    old["active_disclosure"]["art20_9"]["procurement"]["amount"] = "12345678901234.123456"
    old["active_disclosure"]["art20_9"]["unit"] = "元"
    old["active_disclosure"]["art20_5"]["licensing"]["change"] = -3
    old["applications"]["granted"]["natural_person"] = None
    import_document(canonicalize(old))
    orgs = list(Organization.objects.filter(code__in=["district-a", "test-org", "sibling"]).order_by("code"))
    for year, code in ((YEAR, "test-org"), (2020, "district-a")):
        rows = {row.code: row for row in workbook_rows(orgs, year, batch=2)}
        assert rows["sibling"].document is None and len(rows) == 3
        full = export_report(Report.objects.get(organization__code=code, year=year))
        fmt = reg.get_format(full["format"])
        assert rows[code].document["format"] == fmt.code
        assert fmt.unit_of(rows[code].document) == fmt.unit_of(full)
        for spec in fmt.cells():
            assert cell_value(rows[code].document, spec) == cell_value(full, spec), (code, spec.ref)
