"""Excel and Word: statutory layout, lossless round trips, templates, jurisdiction workbooks."""

from __future__ import annotations

import io
import random
from io import StringIO

import openpyxl
import pytest
from django.core.management import call_command
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Pt

from disclosure import formats as reg
from disclosure.interchange import canonicalize, cell_value
from disclosure.layout import grids
from disclosure.models import Organization, Report
from disclosure.office import (
    JurisdictionRow,
    export_report_docx,
    export_report_xlsx,
    jurisdiction_xlsx,
    read_report_xlsx,
    template_xlsx,
)
from disclosure.office.xlsx import INFO_SHEET, META_PREFIX, REF_PREFIX, TOP
from disclosure.parsing import parse_report
from disclosure.selectors import export_report
from disclosure.services import import_document

from .factories import balanced_document, seed

SEEDS = ["000", "001", "002", "003", "004"]


def cells(doc: dict) -> dict:
    fmt = reg.get_format(doc["format"])
    return {spec.ref: cell_value(doc, spec) for spec in fmt.cells()}


def awkward_document(fmt_code: str, rng_seed: int) -> dict:
    """A balanced document with blanks, a negative change and amounts a float cannot hold."""
    rng = random.Random(rng_seed)
    doc = balanced_document(fmt_code, rng=rng)
    fmt = reg.get_format(fmt_code)
    specs = [s for s in fmt.cells() if not s.computed]
    for spec in rng.sample(specs, 5):
        node = doc
        for part in spec.ref.split(".")[:-1]:
            node = node[part]
        node[spec.column] = None
    if fmt_code == "2019":
        doc["active_disclosure"]["art20_5"]["licensing"]["change"] = -3
        doc["active_disclosure"]["art20_9"]["procurement"]["amount"] = "12345678901234.123456"
        doc["active_disclosure"]["art20_9"]["unit"] = "元"
    else:
        doc["active_disclosure"]["art20_8"]["fees"]["amount"] = "0.123457"
        doc["narrative"]["other_matters"]["processing_fee"] = {"amount_yuan": "120.50", "text": "收取120.50元。"}
    doc["applications"]["granted"]["total"] = 999  # a printed total that disagrees stays as printed
    doc["narrative"]["problems"] = "第一段。\n第二段，含“引号”与换行。"
    doc["issued_on"] = "2022-01-20"
    return canonicalize(doc)


DOCUMENTS = [("seed", n) for n in SEEDS] + [("awkward", ("2019", 1)), ("awkward", ("2021", 2))]


def document(kind: str, arg) -> dict:
    return canonicalize(seed(arg)) if kind == "seed" else awkward_document(*arg)


# -- Excel ----------------------------------------------------------------------------


@pytest.mark.parametrize("kind, arg", DOCUMENTS)
def test_xlsx_round_trip_is_lossless(kind, arg):
    doc = document(kind, arg)
    assert read_report_xlsx(export_report_xlsx(doc), "r.xlsx") == doc


def test_xlsx_keeps_the_statutory_layout():
    doc = canonicalize(seed("002"))
    fmt = reg.get_format("2021")
    workbook = openpyxl.load_workbook(io.BytesIO(export_report_xlsx(doc)))
    assert workbook.sheetnames == [s.title for s in fmt.sections if s.is_table] + [INFO_SHEET]
    active, applications, reviews = (workbook[s.title] for s in fmt.sections if s.is_table)
    merged = {str(r) for r in applications.merged_cells.ranges}
    assert f"A{TOP}:C{TOP + 2}" in merged  # the 勾稽 note over the label columns and three header rows
    assert f"D{TOP}:J{TOP}" in merged  # 申请人情况 over the seven columns
    assert f"E{TOP + 1}:I{TOP + 1}" in merged  # 法人或其他组织 over five
    assert applications[f"A{TOP}"].value == fmt.applications_note
    assert applications[f"E{TOP + 1}"].value == fmt.applications_column("commercial").group
    # 三、本年度办理结果 spans every outcome row and （七）总计
    outcomes = len(fmt.outcome_rows) + 1
    assert f"A{TOP + 5}:A{TOP + 5 + outcomes - 1}" in merged
    assert applications[f"A{TOP + 5}"].value == fmt.outcome_rows[0].groups[0]
    captions = [c.value for c in active["A"] if c.value in {t.caption for t in fmt.active_disclosure}]
    assert captions == [t.caption for t in fmt.active_disclosure]
    assert f"A{TOP}:E{TOP}" in {str(r) for r in reviews.merged_cells.ranges}
    assert reviews[f"A{TOP}"].value == fmt.reviews_blocks[0].label
    names = set(workbook.defined_names)
    assert {REF_PREFIX + s.ref for s in fmt.cells()} <= names
    value = workbook.defined_names[REF_PREFIX + "applications.new_received.natural_person"]
    sheet, coord = next(iter(value.destinations))
    assert workbook[sheet][coord.replace("$", "")].value == 0


def test_a_row_inserted_by_hand_does_not_break_the_import():
    doc = awkward_document("2021", 3)
    workbook = openpyxl.load_workbook(io.BytesIO(export_report_xlsx(doc)))
    # Excel shifts defined names when a row is inserted; do what Excel does.
    sheet = workbook[reg.get_format("2021").section("reviews").title]
    sheet.insert_rows(3)
    for defined in list(workbook.defined_names.values()):
        title, coord = next(iter(defined.destinations))
        if title == sheet.title:
            col, row = coord.replace("$", " ").split()
            defined.attr_text = f"'{title}'!${col}${int(row) + 1}"
    out = io.BytesIO()
    workbook.save(out)
    assert read_report_xlsx(out.getvalue(), "r.xlsx") == doc


@pytest.mark.parametrize("fmt_code", list(reg.FORMATS))
def test_the_blank_template_has_every_cell_and_formulas_for_totals(fmt_code):
    fmt = reg.get_format(fmt_code)
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx(fmt_code)))
    for spec in fmt.cells():
        title, coord = next(iter(workbook.defined_names[REF_PREFIX + spec.ref].destinations))
        value = workbook[title][coord.replace("$", "")].value
        if spec.computed:
            assert str(value).startswith("=SUM("), spec.ref
        else:
            assert value is None, spec.ref
    title, coord = next(iter(workbook.defined_names[META_PREFIX + "format"].destinations))
    assert workbook[title][coord.replace("$", "")].value == fmt_code


@pytest.mark.django_db
def test_a_filled_template_imports_and_totals_are_derived():
    fmt = reg.get_format("2021")
    workbook = openpyxl.load_workbook(io.BytesIO(template_xlsx("2021")))

    def put(name: str, value) -> None:
        title, coord = next(iter(workbook.defined_names[name].destinations))
        workbook[title][coord.replace("$", "")] = value

    put(META_PREFIX + "year", "2022")
    put(META_PREFIX + "organization.name", "某某区人民政府")
    for i, col in enumerate(fmt.applicant_columns):
        put(f"{REF_PREFIX}applications.new_received.{col.code}", i)
    put(f"{REF_PREFIX}active_disclosure.art20_8.fees.amount", "1.5")
    put(f"{REF_PREFIX}active_disclosure.art20_1.regulations.issued", "/")  # not applicable: blank
    out = io.BytesIO()
    workbook.save(out)
    doc = read_report_xlsx(out.getvalue(), "filled.xlsx")
    assert doc["organization"]["kind"] == "government"
    assert doc["applications"]["new_received"]["total"] is None  # Excel never computed the formula
    assert doc["active_disclosure"]["art20_1"]["regulations"]["issued"] is None
    result = import_document(doc)
    stored = export_report(result.report)
    assert stored["applications"]["new_received"]["total"] == sum(range(6))
    assert stored["active_disclosure"]["art20_8"]["fees"]["amount"] == "1.5000"


@pytest.mark.django_db
def test_report_xlsx_commands_round_trip_through_the_database(tmp_path):
    doc = awkward_document("2019", 4)
    import_document(doc)
    code = doc["organization"]["code"]
    target = tmp_path / "r.xlsx"
    call_command("report_xlsx", code, "2019", "-o", str(target), stdout=StringIO())
    assert read_report_xlsx(target) == export_report(Report.objects.get())
    workbook = openpyxl.load_workbook(target)
    title, coord = next(iter(workbook.defined_names[f"{REF_PREFIX}reviews.reconsideration.upheld"].destinations))
    workbook[title][coord.replace("$", "")] = 41
    workbook.save(target)
    out = StringIO()
    call_command("report_xlsx_import", str(target), "--replace", stdout=out)
    assert "已替换" in out.getvalue()
    assert export_report(Report.objects.get())["reviews"]["reconsideration"]["upheld"] == 41
    template = tmp_path / "t.xlsx"
    call_command("report_template", "2019", "-o", str(template), stdout=StringIO())
    assert openpyxl.load_workbook(template).sheetnames[-1] == INFO_SHEET


@pytest.mark.django_db
def test_the_jurisdiction_workbook_has_a_row_per_organization_of_the_subtree(tmp_path):
    city = Organization.objects.create(name="某市人民政府", code="city", kind="government")
    district = Organization.objects.create(name="某区人民政府", code="district", kind="government", parent=city)
    bureau = Organization.objects.create(name="某区商务局", code="bureau", kind="department", parent=district)
    Organization.objects.create(name="他市人民政府", code="other-city", kind="government")
    docs = {}
    for i, org in enumerate((city, bureau)):
        doc = awkward_document("2021", 10 + i)
        doc["organization"] = {"name": org.name, "code": org.code, "kind": org.kind}
        doc["year"] = 2022
        import_document(doc)
        docs[org.code] = export_report(Report.objects.get(organization=org))
    target = tmp_path / "j.xlsx"
    call_command("jurisdiction_xlsx", "city", "2022", "-o", str(target), stdout=StringIO())
    workbook = openpyxl.load_workbook(target)
    fmt = reg.get_format("2021")
    assert workbook.sheetnames == [s.title for s in fmt.sections if s.is_table]
    for section in ("active_disclosure", "applications", "reviews"):
        sheet = workbook[fmt.section(section).title]
        rows = list(sheet.iter_rows(values_only=True))
        ref_row = next(i for i, r in enumerate(rows) if r[0] == "ref")
        assert sheet.row_dimensions[ref_row + 1].hidden
        refs = rows[ref_row][3:]
        assert list(refs) == [s.ref for s in fmt.cells() if s.section == section]
        body = rows[ref_row + 1 : -1]  # the last row is 合计
        assert [r[0] for r in body] == ["city", "district", "bureau"]
        assert body[1][2] == "未创建" and set(body[1][3:]) == {None}
        for line in (body[0], body[2]):
            doc = docs[line[0]]
            for ref, value in zip(refs, line[3:], strict=True):
                want = cell_value(doc, fmt.cell(ref))
                if fmt.cell(ref).kind == reg.CellKind.AMOUNT and want is not None:
                    assert str(value) == str(float(want)) or value == want
                else:
                    assert value == want, ref


def test_the_jurisdiction_workbook_merges_its_header_groups():
    fmt = reg.get_format("2019")
    doc = awkward_document("2019", 5)
    data = jurisdiction_xlsx(2020, [JurisdictionRow("测试局", "test-org", "已发布", doc)])
    sheet = openpyxl.load_workbook(io.BytesIO(data))[fmt.section("reviews").title]
    merged = {str(r) for r in sheet.merged_cells.ranges}
    assert "D2:H2" in merged and sheet["D2"].value == fmt.reviews_blocks[0].label
    assert sheet["D3"].value == fmt.reviews_columns[0].label


# -- Word --------------------------------------------------------------------------------


def docx_text(document) -> str:
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


@pytest.mark.parametrize("number", SEEDS)
def test_the_docx_has_every_statutory_label_and_every_value_in_place(number):
    doc = canonicalize(seed(number))
    fmt = reg.get_format(doc["format"])
    document_ = Document(io.BytesIO(export_report_docx(doc)))
    text = docx_text(document_)
    labels = {s.title for s in fmt.sections} | {fmt.applications_note, fmt.applications_applicant_header}
    labels |= {t.caption for t in fmt.active_disclosure} | {fmt.active_disclosure_first_header}
    labels |= {r.label for t in fmt.active_disclosure for r in t.rows}
    labels |= {c.label for t in fmt.active_disclosure for c in t.columns}
    labels |= {r.label for r in fmt.applications_rows} | {g for r in fmt.applications_rows for g in r.groups}
    labels |= {c.label for c in fmt.applications_columns} | {c.group for c in fmt.applications_columns if c.group}
    labels |= {b.label for b in fmt.reviews_blocks} | {b.group for b in fmt.reviews_blocks if b.group}
    labels |= {c.label for c in fmt.reviews_columns}
    assert [label for label in sorted(labels) if label not in text] == []
    unit = doc["active_disclosure"].get("art20_9", {}).get("unit")
    for grid, table in zip(grids(fmt, unit), document_.tables, strict=True):
        assert len(table.rows) == grid.height
        for cell in grid.cells:
            got = table.cell(cell.row, cell.col).text
            if cell.role == "value":
                value = cell_value(doc, fmt.cell(cell.ref))
                assert got == ("" if value is None else str(value)), cell.ref
            else:
                assert got == cell.text
    # merged headers: the note spans the label columns and header rows of 三
    applications = document_.tables[1]
    assert applications.cell(0, 0)._tc is applications.cell(2, 2)._tc


def test_the_docx_uses_the_official_fonts_sizes_and_page():
    document_ = Document(io.BytesIO(export_report_docx(canonicalize(seed("000")))))

    def east_asian(style_name: str) -> str:
        return document_.styles[style_name].element.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia"))

    assert (east_asian("Normal"), document_.styles["Normal"].font.size) == ("仿宋_GB2312", Pt(16))
    assert (east_asian("Title"), document_.styles["Title"].font.size) == ("方正小标宋简体", Pt(22))
    assert east_asian("Heading 1") == "黑体" and east_asian("Heading 2") == "楷体_GB2312"
    assert document_.paragraphs[0].style.name == "Title"
    section = document_.sections[0]

    # Word stores twips: compare to a tenth of a millimetre.
    def mm(length: int) -> float:
        return round(length / 36000, 1)  # EMU per millimetre

    assert (mm(section.page_width), mm(section.page_height)) == (210, 297)
    assert (mm(section.top_margin), mm(section.left_margin)) == (37, 28)
    assert mm(section.page_width - section.left_margin - section.right_margin) == 156
    assert mm(section.page_height - section.top_margin - section.bottom_margin) == 225
    assert document_.settings.odd_and_even_pages_header_footer
    for footer in (section.footer, section.even_page_footer):
        xml = footer.paragraphs[0]._p.xml
        assert "PAGE" in xml and "—" in footer.paragraphs[0].text
    assert section.footer.paragraphs[0].alignment != section.even_page_footer.paragraphs[0].alignment
    header_rows = document_.tables[1].rows[0]._tr.trPr.findall(qn("w:tblHeader"))
    assert header_rows  # 三's header repeats across pages
    runs = [r for p in document_.paragraphs for r in p.runs if r.text]
    assert all(r._r.rPr.find(qn("w:rFonts")).get(qn("w:eastAsia")) for r in runs)
    assert document_.paragraphs[-1].text == "2021年1月21日"


@pytest.mark.parametrize("kind, arg", DOCUMENTS)
def test_parse_report_reads_the_docx_back(kind, arg):
    doc = document(kind, arg)
    result = parse_report(export_report_docx(doc), filename="report.docx")
    parsed = result.document
    assert result.kind == "docx"
    assert cells(parsed) == cells(doc)
    assert parsed["narrative"] == doc["narrative"]
    assert (parsed["title"], parsed["issued_on"]) == (doc["title"], doc["issued_on"])
    assert parsed["organization"]["name"] == doc["organization"]["name"]
    for table in reg.get_format(doc["format"]).active_disclosure:
        if table.has_unit:
            assert parsed["active_disclosure"][table.code]["unit"] == doc["active_disclosure"][table.code]["unit"]


@pytest.mark.django_db
def test_report_docx_command(tmp_path):
    import_document(canonicalize(seed("004")))
    target = tmp_path / "r.docx"
    call_command("report_docx", "wch-zsj", "2020", "-o", str(target), stdout=StringIO())
    assert cells(parse_report(target).document) == cells(canonicalize(seed("004")))
