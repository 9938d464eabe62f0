"""parse_report: published reports (text, HTML, PDF) → interchange documents.

The five seeds (copied byte for byte from ../shared/seeds into
tests/parse_fixtures/seed_*.txt) must parse to their hand transcriptions cell
for cell; synthetic reports rendered from documents with real-world variants
must parse back to those documents.
"""

from __future__ import annotations

import json
import random
import re
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from disclosure import formats as reg
from disclosure.interchange import InvalidDocument, canonicalize, cell_value, validate_document
from disclosure.parsing import derive_org_code, org_kind, parse_report
from disclosure.parsing.labels import Label, Printed, align, key, score, split_numbering
from disclosure.parsing.values import Kind, read_cell
from disclosure.rules import check_document

from .factories import balanced_document, seed

FIXTURES = Path(__file__).resolve().parent / "parse_fixtures"
SEEDS = ["000", "001", "002", "003", "004"]


def seed_text(number: str) -> Path:
    return next(FIXTURES.glob(f"seed_{number}_*.txt"))


def cells(doc: dict) -> dict:
    fmt = reg.get_format(doc["format"])
    return {spec.ref: cell_value(doc, spec) for spec in fmt.cells()}


def null_refs(doc: dict) -> set[str]:
    return {ref for ref, value in cells(doc).items() if value is None}


def listed_cells(result, codes: set[str] | None = None) -> set[str]:
    return {ref for p in result.problems if codes is None or p.code in codes for ref in p.cells}


# -- the seeds --------------------------------------------------------------------


@pytest.mark.parametrize("number", SEEDS)
def test_each_seed_parses_to_its_transcription_cell_for_cell(number):
    expected = canonicalize(seed(number))
    result = parse_report(seed_text(number))
    doc = result.document
    validate_document(doc)
    assert (doc["format"], doc["year"]) == (expected["format"], expected["year"])
    assert doc["organization"]["name"] == expected["organization"]["name"]
    assert doc["organization"]["kind"] == expected["organization"]["kind"]
    assert (doc["title"], doc["issued_on"]) == (expected["title"], expected["issued_on"])
    assert cells(doc) == cells(expected)  # every cell, nulls included
    for table in reg.get_format(doc["format"]).active_disclosure:
        if table.has_unit:
            assert doc["active_disclosure"][table.code]["unit"] == expected["active_disclosure"][table.code]["unit"]


@pytest.mark.parametrize("number", ["000", "002", "003", "004"])
def test_each_seed_parses_to_its_transcribed_narrative(number):
    expected = canonicalize(seed(number))
    assert parse_report(seed_text(number)).document["narrative"] == expected["narrative"]


def test_seed_001_narrative_differs_only_by_the_transcribers_topic_call():
    """Seed 001's overview has three non-statutory parts: （一）领导高度重视,
    （二）机制日益完善, （三）公开内容齐全. The transcriber judged the third to be
    about active disclosure and moved it (heading removed) to
    ``overview.active_disclosure``. Its heading names no statutory topic, so the
    parser leaves it where it stands, in ``overview.summary``, heading included.
    Everything else of the narrative is equal.
    """
    expected = canonicalize(seed("001"))
    narrative = parse_report(seed_text("001")).document["narrative"]
    moved = expected["narrative"]["overview"]["active_disclosure"]
    assert (
        narrative["overview"]["summary"]
        == expected["narrative"]["overview"]["summary"] + "\n（三）公开内容齐全。" + moved
    )
    assert narrative["overview"]["active_disclosure"] == ""
    narrative["overview"]["summary"] = expected["narrative"]["overview"]["summary"]
    narrative["overview"]["active_disclosure"] = moved
    assert narrative == expected["narrative"]


def test_seed_000s_missing_rows_are_null_and_listed():
    result = parse_report(seed_text("000"))
    missing = null_refs(seed("000"))
    assert len(missing) == 32
    assert set(result.missing_cells) == missing
    assert listed_cells(result) == missing
    rows = {p.cells[0].rsplit(".", 1)[0] for p in result.problems if p.code == "row_missing"}
    assert rows == {
        "active_disclosure.art20_8.fees",
        "active_disclosure.art20_9.procurement",
        "applications.new_received",
        "applications.carried_over",
        "applications.granted",
    }
    # Only the tail of （二）部分公开's label survives, with no numbers.
    empty = [p for p in result.problems if p.code == "row_empty"]
    assert [p.cells[0] for p in empty] == ["applications.partially_granted.natural_person"]
    assert not any(p.code == "numbers_left_over" for p in result.problems)


def test_seed_002s_rows_without_numbers_are_null_and_listed():
    result = parse_report(seed_text("002"))
    missing = null_refs(seed("002"))
    assert len(missing) == 21
    assert listed_cells(result, {"row_empty"}) == missing == set(result.missing_cells)


def test_seed_003s_missing_review_column_is_named():
    result = parse_report(seed_text("003"))
    assert result.missing_cells == ["reviews.litigation_direct.other"]
    assert listed_cells(result, {"column_missing"}) == {"reviews.litigation_direct.other"}


@pytest.mark.parametrize("number", ["001", "004"])
def test_complete_seeds_have_no_missing_cells(number):
    result = parse_report(seed_text(number))
    assert result.complete
    assert [p for p in result.problems if p.cells] == []


def test_seed_001s_signed_change_and_misprinted_label_are_read():
    doc = parse_report(seed_text("001")).document
    assert doc["active_disclosure"]["art20_5"]["other_services"]["change"] == 1  # printed 1(增加)
    assert doc["active_disclosure"]["art20_9"]["procurement"] == {"count": 0, "amount": "0.0000"}  # 政府集中釆购


def test_parsed_seeds_get_the_same_findings_as_their_transcriptions():
    for number in SEEDS:
        parsed = parse_report(seed_text(number)).document
        expected = canonicalize(seed(number))
        parsed["organization"]["code"] = expected["organization"]["code"]
        got = [(f.rule, f.cells) for f in check_document(parsed)]
        want = [(f.rule, f.cells) for f in check_document(expected)]
        if number == "001":  # the topic call above: overview.active_disclosure is empty here
            got = [g for g in got if g != ("narrative.required", ("narrative.overview.active_disclosure",))]
        assert got == want


# -- the command ---------------------------------------------------------------------


def run_parse(*args: str) -> tuple[int, str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("parse_report", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def test_the_command_exits_0_when_complete_and_writes_the_document(tmp_path):
    target = tmp_path / "out.json"
    code, _out, _err = run_parse(str(seed_text("004")), "-o", str(target))
    assert code == 0
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert cells(doc) == cells(canonicalize(seed("004")))


def test_the_command_exits_1_and_lists_missing_cells(tmp_path):
    code, out, err = run_parse(str(seed_text("000")))
    assert code == 1
    assert json.loads(out)["organization"]["name"] == "兴庆区商务和经济技术合作局"
    assert "row_missing" in err and "32个单元格" in err


def test_the_command_exits_2_on_an_unreadable_file(tmp_path):
    bad = tmp_path / "photo.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 100)
    code, out, err = run_parse(str(bad))
    assert (code, out) == (2, "")
    assert "图片" in err


def test_the_command_takes_year_org_and_code(tmp_path):
    text = seed_text("002").read_text(encoding="utf-8").replace("2021年政府", "年度政府")
    path = tmp_path / "report.txt"
    path.write_text(text, encoding="utf-8")
    code, _out, err = run_parse(str(path))
    assert code == 2 and "--year" in err
    target = tmp_path / "out.json"
    code, _out, _err = run_parse(
        str(path), "--year", "2021", "--org", "某某区人民政府", "--code", "mm-gov", "-o", str(target)
    )
    doc = json.loads(target.read_text(encoding="utf-8"))
    assert code == 1
    assert doc["year"] == 2021 and doc["organization"] == {
        "name": "某某区人民政府",
        "code": "mm-gov",
        "kind": "government",
    }


# -- other input kinds ------------------------------------------------------------------


@pytest.mark.parametrize("name", ["002_lc-swj_2021.html", "004_wch-zsj_2020.html"])
def test_html_tables_with_rowspan_and_colspan_parse_like_the_seed(name):
    expected = canonicalize(seed(name[:3]))
    result = parse_report(FIXTURES / name)
    assert result.kind == "html"
    assert cells(result.document) == cells(expected)
    assert result.document["narrative"] == expected["narrative"]
    assert set(result.missing_cells) == null_refs(expected)


@pytest.fixture(scope="module")
def pdfs() -> dict[str, bytes]:
    """Text-based PDFs printed from the HTML fixtures (bordered tables, page numbers)."""
    weasyprint = pytest.importorskip("weasyprint")
    css = weasyprint.CSS(
        string="@page { size: A4; margin: 30mm 26mm 30mm 28mm; @bottom-center { content: '— ' counter(page) ' —' } }"
        "body { font-family: 'Noto Serif CJK SC', serif } td { border: 1px solid black }"
    )
    return {
        name: weasyprint.HTML(string=(FIXTURES / name).read_text(encoding="utf-8")).write_pdf(stylesheets=[css])
        for name in ("002_lc-swj_2021.html", "004_wch-zsj_2020.html")
    }


@pytest.mark.parametrize("name", ["002_lc-swj_2021.html", "004_wch-zsj_2020.html"])
def test_text_pdfs_parse_like_the_seed(pdfs, name):
    expected = canonicalize(seed(name[:3]))
    result = parse_report(pdfs[name], filename=name.replace(".html", ".pdf"))
    assert result.kind == "pdf"
    assert cells(result.document) == cells(expected)
    assert result.document["organization"]["name"] == expected["organization"]["name"]
    assert result.document["title"] == expected["title"]
    # Paragraphs wrapped over lines and pages are joined again.
    assert result.document["narrative"] == expected["narrative"]


# -- real-world variants, rendered from documents -------------------------------------------


def _half_width(text: str) -> str:
    return text.replace("（", "(").replace("）", ")").replace("：", ":").replace("，", ",")


def vary(label: str, rng: random.Random) -> str:
    """A label as offices print it: brackets, 、 for ., spaces, a dropped 行政."""
    choice = rng.randrange(6)
    if choice == 0:
        return _half_width(label)
    if choice == 1:
        return re.sub(r"^(\d+)\.", r"\1、", label)
    if choice == 2:
        return re.sub(r"^(\d+\.|（[一二三四五六七]）)", r"\1 ", label)
    if choice == 3 and len(label) <= 8:
        return " ".join(label)
    if choice == 4 and label.startswith("行政") and len(label) > 4:
        return label[2:]
    return label


def printed_value(value, kind, rng: random.Random) -> str:
    if value is None:
        return rng.choice(["/", "—", "-", "不适用"])
    if kind == reg.CellKind.SIGNED:
        if value > 0:
            return rng.choice([f"{value}(增加)", f"增加{value}", f"+{value}", str(value)])
        if value < 0:
            return rng.choice([f"减少{-value}", f"{-value}(减少)", str(value)])
    if kind == reg.CellKind.AMOUNT:
        return str(Decimal(value).normalize()) if rng.random() < 0.5 else value
    return str(value)


def render_text(doc: dict, rng: random.Random, unit: str = "") -> str:
    """A messy tab-separated text export of a document, like the seeds."""
    fmt = reg.get_format(doc["format"])
    n = doc["narrative"]
    out = [f"# {doc['title']}", "", n["preamble"], ""]
    sections = {s.code: s for s in fmt.sections}
    out += [f"## {sections['overview'].title}", "", n["overview"]["summary"], ""]
    topics = [p for p in fmt.narrative if p.path.startswith("overview.") and p.path != "overview.summary"]
    for i, part in enumerate(topics):
        out += [
            f"### （{'一二三四五六'[i]}）{part.label.removesuffix('情况')}情况",
            "",
            n["overview"][part.path.split(".")[1]],
            "",
        ]
    out += [f"## {sections['active_disclosure'].title}", ""]
    for table in fmt.active_disclosure:
        out.append(table.caption + "\t\t\t")
        heads = [
            c.label + (f"（{unit}）" if table.has_unit and c.kind == reg.CellKind.AMOUNT and unit else "")
            for c in table.columns
        ]
        out.append("\t".join([fmt.active_disclosure_first_header, *heads]))
        for row in table.rows:
            values = [
                printed_value(doc["active_disclosure"][table.code][row.code][c.code], c.kind, rng)
                for c in table.columns
            ]
            out.append("\t".join([vary(row.label, rng), *values]))
    out += ["", f"## {sections['applications'].title}", ""]
    cols = fmt.applications_columns
    out.append(fmt.applications_note + "\t" + fmt.applications_applicant_header + "\t" * len(cols))
    out.append("\t" + cols[0].label + "\t" + cols[1].group + "\t" * 5 + cols[-1].label)
    out.append("\t\t" + "\t".join(c.label for c in cols[1:-1]) + "\t")
    previous_groups: tuple = ()
    for k, row in enumerate(fmt.applications_rows):
        groups = row.groups
        shown = [g if previous_groups[: i + 1] != groups[: i + 1] else "" for i, g in enumerate(groups)]
        previous_groups = groups
        values = [printed_value(doc["applications"][row.code][c.code], c.kind, rng) for c in cols]
        out.append("\t".join([*(vary(g, rng) for g in shown), vary(row.label, rng), *values]))
        if k == 10:
            out += ["\f", "— 3 —", ""]  # a page break with its page number inside the table
    out += ["", f"## {sections['reviews'].title}", ""]
    blocks = fmt.reviews_blocks
    out.append(blocks[0].label + "\t" * 5 + blocks[1].group + "\t" * 9)
    labels = [c.label for c in fmt.reviews_columns]
    out.append("\t".join(labels) + "\t" + blocks[1].label + "\t" * 5 + blocks[2].label + "\t" * 4)
    out.append("\t" * 5 + "\t".join(labels * 2))
    out.append(
        "\t".join(
            printed_value(doc["reviews"][b.code][c.code], c.kind, rng) for b in blocks for c in fmt.reviews_columns
        )
    )
    out += ["", f"## {sections['problems'].title}", "", n["problems"], "", f"## {sections['other_matters'].title}", ""]
    items = [p for p in fmt.narrative if p.path.startswith("other_matters.")]
    if len(items) == 1:
        out.append(n["other_matters"]["other"])
    else:
        for i, part in enumerate(items):
            value = n["other_matters"][part.path.split(".")[1]]
            out += [f"（{'一二三四五'[i]}）{part.label}", value["text"] if isinstance(value, dict) else value]
    out += ["", doc["organization"]["name"], "", "2022年1月20日"]
    return "\n".join(out) + "\n"


def varied_document(fmt_code: str, seed_number: int) -> dict:
    rng = random.Random(seed_number)
    doc = balanced_document(fmt_code, rng=rng)
    for part in doc["narrative"]["other_matters"].values():
        if isinstance(part, dict):
            part["text"] = f"本年度收取信息处理费{part['amount_yuan']}元。"
    # Some cells printed as "/" (not applicable): null, never 0.
    specs = [s for s in reg.get_format(fmt_code).cells() if not s.computed]
    for spec in rng.sample(specs, 3):
        node = doc
        for part in spec.ref.split(".")[:-1]:
            node = node[part]
        node[spec.column] = None
    return doc


@pytest.mark.parametrize("fmt_code, seed_number", [("2019", 1), ("2019", 2), ("2021", 3), ("2021", 4), ("2021", 5)])
def test_variant_labels_signed_changes_blanks_and_page_breaks(tmp_path, fmt_code, seed_number):
    doc = varied_document(fmt_code, seed_number)
    unit = "元" if fmt_code == "2019" else ""
    if unit:
        doc["active_disclosure"]["art20_9"]["unit"] = unit
    path = tmp_path / "report.txt"
    path.write_text(render_text(doc, random.Random(seed_number), unit), encoding="utf-8")
    result = parse_report(path)
    parsed = result.document
    assert cells(parsed) == cells(doc)
    assert set(result.missing_cells) == null_refs(doc)
    assert listed_cells(result, {"cells_not_applicable"}) == null_refs(doc)
    assert parsed["issued_on"] == "2022-01-20"
    assert parsed["narrative"] == doc["narrative"]
    if unit:
        assert parsed["active_disclosure"]["art20_9"]["unit"] == "元"


def test_numbers_that_fit_no_cell_are_listed_not_guessed(tmp_path):
    text = seed_text("002").read_text(encoding="utf-8")
    text = text.replace("规章\t0\t0\t0", "规章\t0\t0\t0\t7\t8")
    text = text.replace("行政许可\t0\t\t", "行政许可\t\t\t")
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    result = parse_report(path)
    leftover = [p for p in result.problems if p.code == "numbers_left_over"]
    assert len(leftover) == 1 and "7（第33行）" in leftover[0].message and "8（第33行）" in leftover[0].message
    assert result.document["active_disclosure"]["art20_1"]["regulations"] == {"issued": 0, "repealed": 0, "in_force": 0}
    assert result.document["active_disclosure"]["art20_5"]["licensing"]["decisions"] is None
    assert "active_disclosure.art20_5.licensing.decisions" in listed_cells(result, {"row_empty"})


def test_a_partly_blank_row_is_placed_by_position(tmp_path):
    text = seed_text("004").read_text(encoding="utf-8").replace("规章\t0\t0\t0", "规章\t3\t\t5")
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    result = parse_report(path)
    assert result.document["active_disclosure"]["art20_1"]["regulations"] == {
        "made": 3,
        "published": None,
        "total_published": 5,
    }
    assert listed_cells(result, {"cells_blank"}) == {"active_disclosure.art20_1.regulations.published"}


def test_a_fee_printed_in_yuan_is_converted_to_the_statutory_wanyuan_and_said_so(tmp_path):
    text = seed_text("002").read_text(encoding="utf-8")
    text = text.replace("本年收费金额（单位：万元，保留4位小数）", "本年收费金额（单位：元）")
    text = text.replace("行政事业性收费\t0", "行政事业性收费\t12345")
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    result = parse_report(path)
    table = next(t.code for t in reg.get_format("2021").active_disclosure if any(r.code == "fees" for r in t.rows))
    ref = f"active_disclosure.{table}.fees.amount"
    assert result.document["active_disclosure"][table]["fees"]["amount"] == "1.2345"
    (problem,) = [p for p in result.problems if p.code == "unit_converted"]
    assert problem.cells == (ref,) and "12345" in problem.message


def test_the_format_comes_from_the_year_and_a_conflict_with_the_labels_is_reported(tmp_path):
    text = seed_text("002").read_text(encoding="utf-8").replace("2021年政府", "2020年政府")
    path = tmp_path / "r.txt"
    path.write_text(text, encoding="utf-8")
    result = parse_report(path)
    assert (result.document["year"], result.document["format"]) == (2020, "2019")
    assert [p.code for p in result.problems if p.code == "format_conflict"] == ["format_conflict"]


def test_a_file_without_a_report_is_refused(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("会议通知\n\n请各单位于周五前报送材料。\n", encoding="utf-8")
    with pytest.raises(InvalidDocument) as exc:
        parse_report(path)
    assert exc.value.code == "not_a_report"


def test_gb18030_text_is_read(tmp_path):
    path = tmp_path / "gbk.txt"
    path.write_bytes(seed_text("004").read_text(encoding="utf-8").encode("gb18030"))
    assert cells(parse_report(path).document) == cells(canonicalize(seed("004")))


# -- labels, values, organizations ------------------------------------------------------


def test_labels_match_across_printing_variants():
    fmt = reg.get_format("2021")
    rows = {r.code: r for r in fmt.applications_rows}
    label = Label.of(rows["withheld_prohibited"].label)
    for printed in (
        "2.其他法律行政法规禁止公开",
        "2、其他法律行政法规禁止公开",
        "2. 其他 法律行政法规禁止公开",
        "其他法律行政法规禁止公开",
    ):
        assert score(Printed.of(printed), label) >= 0.85, printed
    # seed 002's misprint drops 行政 inside the label
    assert score(Printed.of("2.其他法律法规禁止公开"), label) >= 0.85
    partly = Label.of(rows["partially_granted"].label)
    assert score(Printed.of(_half_width(rows["partially_granted"].label)), partly) == 1.0
    licensing = Label.of(fmt.subtable("art20_5").rows[0].label)
    assert score(Printed.of(fmt.subtable("art20_5").rows[0].label[2:]), licensing) >= 0.85  # missing 行政
    # Short labels only match exactly: a column header 其他 is never the row 3.其他.
    assert score(Printed.of(fmt.applications_column("other_org").label), Label.of(rows["other_other"].label)) == 0
    assert split_numbering("（三）不予公开") == (3, "不予公开")
    assert split_numbering("1、属于国家秘密")[0] == 1
    assert key("结 果 维 持") == key(fmt.reviews_columns[0].label)


def test_garbled_headers_are_aligned_by_their_neighbours():
    expected = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]
    assert align(["结果维持", "结果纠正", "尚未结果", "总计"], expected) == [0, 1, 3, 4]


@pytest.mark.parametrize(
    "text, kind, number",
    [
        ("0", Kind.NUMBER, 0),
        ("１２", Kind.NUMBER, 12),
        ("1,234", Kind.NUMBER, 1234),
        ("1(增加)", Kind.NUMBER, 1),
        ("减少3", Kind.NUMBER, -3),
        ("-2", Kind.NUMBER, -2),
        ("0.5000", Kind.NUMBER, Decimal("0.5")),
        ("/", Kind.NULL, None),
        ("—", Kind.NULL, None),
        ("-", Kind.NULL, None),
        ("不适用", Kind.NULL, None),
        ("", Kind.BLANK, None),
        ("---", Kind.RULE, None),
        ("规章", Kind.TEXT, None),
    ],
)
def test_printed_values(text, kind, number):
    cell = read_cell(text)
    assert cell.kind == kind
    assert cell.number == number


def test_organization_code_and_kind():
    code = derive_org_code("兴庆区商务和经济技术合作局")
    assert re.fullmatch(r"org-[0-9a-f]{10}", code)
    assert derive_org_code("兴庆区商务和经济技术合作局 ") == code == derive_org_code("兴庆区商务和经济技术合作局")
    assert derive_org_code("区商务局") != code
    assert org_kind("银川市兴庆区人民政府") == "government"
    assert org_kind("兴庆区商务和经济技术合作局") == "department"


def test_a_foreign_workbook_is_read_by_its_labels():
    """An .xlsx without this system's cell names: the tables are found by their labels."""
    from disclosure.office import export_report_xlsx

    expected = canonicalize(seed("000"))
    data = export_report_xlsx(expected)
    result = parse_report(data, filename="r.xlsx", year=2020, org_name=expected["organization"]["name"])
    assert result.kind == "xlsx"
    assert cells(result.document) == cells(expected)


@pytest.mark.parametrize("number", ["000", "002", "004"])
@pytest.mark.parametrize("layout", ["spaces", "markdown", "crlf"])
def test_other_text_layouts_of_the_seeds(number, layout):
    """The same tables copied from a PDF viewer (spaces), as markdown tables, or with CRLF."""
    text = seed_text(number).read_text(encoding="utf-8")
    if layout == "spaces":
        text = re.sub(r"\t+", " ", text)
    elif layout == "markdown":
        rows = text.split("\n")
        text = "\n".join(("| " + " | ".join(r.split("\t")) + " |") if "\t" in r else r for r in rows)
    else:
        text = text.replace("\n", "\r\n")
    result = parse_report(text.encode("utf-8"), filename="report.txt")
    assert cells(result.document) == cells(canonicalize(seed(number)))
    assert set(result.missing_cells) == null_refs(seed(number))


def test_metadata_lines_above_the_title_are_not_the_preamble(tmp_path):
    text = seed_text("002").read_text(encoding="utf-8")
    head = "索引号：11410302MB0000000X/2022-00003\n发布机构：老城区商务和工业信息化局\n发布日期：2022-01-20\n\n"
    result = parse_report((head + text).encode("utf-8"), filename="page.txt")
    expected = canonicalize(seed("002"))
    assert result.document["title"] == expected["title"]
    assert result.document["narrative"] == expected["narrative"]
