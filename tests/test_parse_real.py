"""Reports as offices really publish them (issue 14): encodings, government pages, the narrative's parts.

The files are made here from generated documents, never copies of the seeds.
"""

from __future__ import annotations

import html
import random
import re

import pytest

from disclosure import formats as reg
from disclosure.interchange import InvalidDocument
from disclosure.parsing import parse_report

from .factories import balanced_document
from .test_parse import cells, render_text, varied_document

NAV = """<div class="nav"><ul><li><a href="/">首页</a></li><li>最新文件</li><li>政策文件库</li>
<li>政府工作报告</li></ul></div>"""
CHROME_TAIL = """<div class="xglj"><h3>相关链接</h3><ul><li>中国政府网</li><li>省人民政府</li></ul></div>
<div class="share">分享到：微信 微博</div><p>【打印本页】【关闭窗口】</p>
<footer><p>主办单位：某市人民政府办公室 版权所有</p><p>网站标识码：1234000000 某ICP备12345678号</p></footer>"""


def page_of(text: str, *, meta: dict[str, str] | None = None, charset: str | None = None, chrome: bool = True) -> str:
    """A government web page of a text report: tab rows become a table, # lines headings."""
    body: list[str] = []
    rows: list[str] = []

    def close_table() -> None:
        if rows:
            body.append("<table border='1'>" + "".join(rows) + "</table>")
            rows.clear()

    for line in text.split("\n"):
        if line in ("\f", "— 3 —"):
            continue
        if "\t" in line:
            rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in line.split("\t")) + "</tr>")
            continue
        close_table()
        if not line.strip():
            continue
        if line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{html.escape(line.lstrip('#').strip())}</h{level}>")
        else:
            body.append(f"<p>{html.escape(line)}</p>")
    close_table()
    head = f'<meta charset="{charset}">' if charset else ""
    head += "".join(f'<meta name="{k}" content="{html.escape(v)}">' for k, v in (meta or {}).items())
    article = "<div class='article'>" + "\n".join(body) + "</div>"
    parts = [NAV, "<div class='crumb'>当前位置：首页 > 政府信息公开 > 年度报告</div>", article, CHROME_TAIL]
    if not chrome:
        parts = [article]
    return f"<html><head><title>年度报告</title>{head}</head><body>" + "\n".join(parts) + "</body></html>"


@pytest.fixture
def report():
    doc = varied_document("2021", 7)
    return doc, render_text(doc, random.Random(7))


# -- decoding ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data, html_, expected",
    [
        ("报告".encode("utf-8-sig"), False, "utf-8 (BOM)"),
        ("报告".encode("utf-16"), False, "utf-16 (BOM)"),
        ("报告".encode(), False, "utf-8"),
        ("报告".encode("gb18030"), False, "gb18030"),
        ('<meta charset="gbk"><p>报告</p>'.encode("gb18030"), True, "gb18030 (declared gbk)"),
        ('<?xml version="1.0" encoding="GB2312"?><p>报告</p>'.encode("gb18030"), True, "gb18030 (declared gb2312)"),
        ('<meta charset="utf-8"><p>报告</p>'.encode(), True, "utf-8"),
        # A false declaration: the bytes decide.
        ('<meta charset="utf-8"><p>报告</p>'.encode("gb18030"), True, "gb18030"),
    ],
)
def test_it_decodes_by_bom_declaration_utf8_then_gb18030_and_says_which(data, html_, expected):
    from disclosure.parsing.files import decode_bytes

    text, used = decode_bytes(data, "f", html=html_)
    assert "报告" in text
    assert used == expected


def test_it_refuses_bytes_no_encoding_reads():
    from disclosure.parsing.files import decode_bytes

    with pytest.raises(InvalidDocument) as exc:
        decode_bytes(b"\x81\x20\xff\xfe\x81\x20" * 4, "f")
    assert exc.value.code == "encoding"


def test_it_reads_a_gb18030_page_without_a_charset(report):
    doc, text = report
    data = page_of(text, chrome=False).encode("gb18030")
    result = parse_report(data, filename="nb.htm")
    assert result.kind == "html" and result.encoding == "gb18030"
    assert result.document["organization"]["name"] == "测试局"
    assert cells(result.document) == cells(doc)


def test_it_reads_a_page_declaring_gb2312_in_its_meta(report):
    doc, text = report
    result = parse_report(page_of(text, charset="gb2312").encode("gb18030"), filename="nb.html")
    assert result.encoding == "gb18030 (declared gb2312)"
    assert cells(result.document) == cells(doc)


def test_it_says_how_a_text_file_was_decoded(report):
    doc, text = report
    result = parse_report(text.encode("gb18030"), filename="r.txt")
    assert result.encoding == "gb18030"
    assert parse_report(text.encode("utf-8-sig"), filename="r.txt").encoding == "utf-8 (BOM)"
    assert cells(result.document) == cells(doc)


# -- government pages ------------------------------------------------------------------------


META = {
    "ArticleTitle": "测试局2021年政府信息公开工作年度报告",
    "PubDate": "2022-01-25 09:30",
    "ContentSource": "测试局",
    "SiteName": "某市人民政府",
    "ColumnName": "政府信息公开年报",
}


def test_it_reads_a_page_with_site_chrome_and_the_specification_meta_tags(report):
    doc, text = report
    result = parse_report(page_of(text, meta=META).encode("utf-8"), filename="t.html")
    parsed = result.document
    assert parsed["title"] == META["ArticleTitle"]
    assert parsed["organization"]["name"] == "测试局"
    # 成文日期 from the 落款, not the site's publication date.
    assert parsed["issued_on"] == "2022-01-20"
    assert result.page == META
    assert cells(parsed) == cells(doc)
    assert parsed["narrative"] == doc["narrative"]  # no 相关链接, share widget or footer in the last part


def test_it_takes_the_title_from_the_meta_tag_not_the_navigation(report):
    doc, text = report
    # The title line is missing from the article: without ArticleTitle the navigation's
    # 政府工作报告 line would be the title and the organization.
    text = text.replace(f"# {doc['title']}\n", "")
    result = parse_report(page_of(text, meta=META).encode("utf-8"), filename="t.html")
    assert result.document["title"] == META["ArticleTitle"]
    assert result.document["organization"]["name"] == "测试局"
    assert result.document["year"] == 2021


def test_it_drops_navigation_footer_and_share_widgets_without_meta_tags(report):
    doc, text = report
    result = parse_report(page_of(text).encode("gb18030"), filename="t.html")
    assert result.document["title"] == doc["title"]
    assert result.document["organization"]["name"] == "测试局"
    assert result.document["narrative"] == doc["narrative"]
    assert result.document["issued_on"] == "2022-01-20"


def test_it_takes_the_organization_from_contentsource_when_nothing_printed_names_it(report):
    doc, text = report
    text = text.replace(f"# {doc['title']}", "# 2021年政府信息公开工作年度报告")
    text = text.replace("\n测试局\n\n2022年1月20日\n", "\n")
    meta = dict(META, ArticleTitle="2021年政府信息公开工作年度报告")
    result = parse_report(page_of(text, meta=meta).encode("utf-8"), filename="t.html")
    assert result.document["organization"]["name"] == "测试局"
    assert result.document["issued_on"] is None  # PubDate is no 成文日期


@pytest.mark.parametrize(
    "closing",
    ["测试局\n2022年1月20日", "测试局  2022年1月20日", "测试局\n（2022年1月20日）", "测试局\n2022年01月20日"],
)
def test_it_reads_the_date_of_the_signature_as_printed(report, closing):
    doc, text = report
    text = text.replace("\n测试局\n\n2022年1月20日\n", "\n" + closing + "\n")
    result = parse_report(page_of(text, meta=META).encode("utf-8"), filename="t.html")
    assert result.document["issued_on"] == "2022-01-20"
    assert result.document["narrative"] == doc["narrative"]


# -- the narrative's parts ----------------------------------------------------------------------


def _with_other_matters(doc: dict, text: str, body: str) -> str:
    """The rendered report with 六 replaced by ``body`` (its heading kept)."""
    head, rest = text.split("## 六、其他需要报告的事项\n", 1)
    return head + "## 六、其他需要报告的事项\n\n" + body + "\n\n测试局\n\n2022年1月20日\n"


def test_it_places_the_parts_of_six_by_their_words_when_headings_are_missing(report):
    doc, text = report
    body = (
        "2024年，无收取信息处理费情况。\n\n"
        "认真落实上级年度政务公开工作要点，逐项细化任务。\n\n"
        "本年度无人大代表建议和政协提案。\n\n"
        "推行政务公开工作创新，开设专栏。\n\n"
        "本年度无其他需要报告的事项。"
    )
    result = parse_report(_with_other_matters(doc, text, body).encode(), filename="r.txt")
    matters = result.document["narrative"]["other_matters"]
    assert matters["processing_fee"] == {"amount_yuan": "0.00", "text": "2024年，无收取信息处理费情况。"}
    assert matters["work_plan"] == "认真落实上级年度政务公开工作要点，逐项细化任务。"
    assert matters["proposals"] == "本年度无人大代表建议和政协提案。"
    assert matters["innovation"] == "推行政务公开工作创新，开设专栏。"
    assert matters["other"] == "本年度无其他需要报告的事项。"


def test_it_splits_a_paragraph_naming_several_parts_by_sentence(report):
    doc, text = report
    body = "本机关未收取信息处理费。全年无人大代表建议和政协提案办理事项，将继续做好。"
    result = parse_report(_with_other_matters(doc, text, body).encode(), filename="r.txt")
    matters = result.document["narrative"]["other_matters"]
    assert matters["processing_fee"] == {"amount_yuan": "0.00", "text": "本机关未收取信息处理费。"}
    assert matters["proposals"] == "全年无人大代表建议和政协提案办理事项，将继续做好。"
    assert matters["other"] == ""


def test_it_leaves_a_fee_amount_the_text_does_not_state_blank(report):
    doc, text = report
    body = "严格执行相关规定，信息处理费收费标准已公开。"
    result = parse_report(_with_other_matters(doc, text, body).encode(), filename="r.txt")
    fee = result.document["narrative"]["other_matters"]["processing_fee"]
    assert fee == {"amount_yuan": None, "text": "严格执行相关规定，信息处理费收费标准已公开。"}


def test_it_accepts_a_count_stated_as_new_plus_carried_over():
    from disclosure.rules import RULES
    from disclosure.rules.engine import Context

    from .factories import balanced_document

    doc = balanced_document("2021")
    new = doc["applications"]["new_received"]["total"]
    carried = doc["applications"]["carried_over"]["total"]
    assert carried > 0
    stated = f"全年共收到政府信息公开申请{new + carried}件（含上年结转{carried}件）。"
    doc["narrative"]["overview"]["on_request"] = stated
    assert RULES["narrative.numbers"].run(Context(doc)) == []
    # Without the words that state the sum, the count must be the new applications.
    doc["narrative"]["overview"]["on_request"] = f"全年共收到政府信息公开申请{new + carried}件。"
    assert len(RULES["narrative.numbers"].run(Context(doc))) == 1


# -- amounts ---------------------------------------------------------------------------------------


def _fee_row(text: str, printed: str) -> str:
    start = text.index("事业性收费\t")
    end = text.index("\n", start)
    label = text[start:end].split("\t")[0]
    return text[:start] + f"{label}\t{printed}" + text[end:]


@pytest.mark.parametrize(
    "printed, expected",
    [
        ("75394432.52元", "7539.443252"),
        ("251000元", "25.1000"),
        ("1,234.5元", "0.12345"),
    ],
)
def test_it_reads_amounts_with_their_unit_in_the_cell_exactly(report, printed, expected):
    doc, text = report
    result = parse_report(_fee_row(text, printed).encode(), filename="r.txt")
    assert result.document["active_disclosure"]["art20_8"]["fees"]["amount"] == expected
    (note,) = [p for p in result.problems if p.code == "unit_converted"]
    assert "按“元”印出" in note.message and note.cells == ("active_disclosure.art20_8.fees.amount",)


def test_it_leaves_blank_an_amount_no_stored_amount_holds_exactly(report):
    doc, text = report
    result = parse_report(_fee_row(text, "251000.123元").encode(), filename="r.txt")
    assert result.document["active_disclosure"]["art20_8"]["fees"]["amount"] is None
    (note,) = [p for p in result.problems if p.code == "unit_converted"]
    assert "未填入" in note.message


def test_it_converts_a_procurement_cell_printed_in_another_unit_than_the_table():
    doc = varied_document("2019", 11)
    doc["active_disclosure"]["art20_9"]["unit"] = "万元"
    procurement = doc["active_disclosure"]["art20_9"]["procurement"]
    procurement["amount"] = "25.1000"
    text = render_text(doc, random.Random(11), "万元")
    start = text.index("\t25.1")
    end = text.index("\n", start)
    text = text[:start] + "\t251000元" + text[end:]
    result = parse_report(text.encode(), filename="r.txt")
    assert result.document["active_disclosure"]["art20_9"]["unit"] == "万元"
    assert result.document["active_disclosure"]["art20_9"]["procurement"]["amount"] == "25.1000"


# -- a whole report on one line -------------------------------------------------------------------


def _one_line(text: str) -> str:
    """The report as a web text dump keeps it: no line breaks, cells apart by a space."""
    text = text.replace("\f", "").replace("— 3 —", "").replace("#", "")
    return re.sub(r"\s*\n\s*", " ", text.replace("\t", " ")).strip()


def _set_row(doc: dict, table: str, row: str, values: list[int]) -> None:
    node = doc[table] if row == "" else doc[table][row]
    for code, value in zip(list(node), values, strict=True):
        node[code] = value


def _balance(doc: dict) -> None:
    """Row totals, （七）总计 and 结转下年 made to agree again after rows were changed."""
    fmt = reg.get_format(doc["format"])
    apps = doc["applications"]
    parts = [c.code for c in fmt.applicant_columns]
    for row in apps.values():
        row["total"] = sum(row[c] or 0 for c in parts)
    outcome = [r.code for r in fmt.outcome_rows]
    for col in [*parts, "total"]:
        apps["outcome_total"][col] = sum(apps[r][col] or 0 for r in outcome)
    for col in parts:
        need = apps["outcome_total"][col] - apps["new_received"][col]
        apps["carried_over"][col] = max(apps["carried_over"][col] or 0, need)
        apps["carried_forward"][col] = (
            apps["new_received"][col] + apps["carried_over"][col] - apps["outcome_total"][col]
        )
    for code in ("carried_over", "carried_forward"):
        apps[code]["total"] = sum(apps[code][c] for c in parts)


@pytest.fixture
def flat_doc():
    doc = balanced_document("2021", rng=random.Random(7))
    _set_row(doc, "applications", "new_received", [217, 1, 0, 0, 0, 0, 218])
    _set_row(doc, "applications", "granted", [1, 0, 3, 0, 12, 12, 28])
    _balance(doc)
    for block in doc["reviews"].values():
        for code in block:
            block[code] = 0
    return doc


def test_it_reads_a_report_flattened_onto_one_line(flat_doc):
    text = _one_line(render_text(flat_doc, random.Random(7)))
    assert "\n" not in text
    result = parse_report(text.encode("utf-8"), filename="dump.txt")
    parsed = result.document
    assert parsed["title"] == flat_doc["title"]
    assert parsed["organization"]["name"] == "测试局"
    assert parsed["issued_on"] == "2022-01-20"
    assert cells(parsed) == cells(flat_doc)


def _run_together(doc: dict) -> str:
    text = _one_line(render_text(doc, random.Random(7)))
    text = text.replace(" 217 1 0 0 0 0 218 ", "21710000218")
    text = text.replace(" 1 0 3 0 12 12 28 ", "1030121228")
    text = re.sub(r"(?: 0){15}(?= 五、)", "000000000000000", text)
    assert "21710000218" in text and "1030121228" in text and "000000000000000" in text
    return text


GRANTED_SPLITS = ((1, 0, 3, 0, 12, 12, 28), (10, 3, 0, 1, 2, 12, 28), (10, 3, 0, 12, 1, 2, 28))


def test_it_splits_run_together_digits_only_where_the_split_is_unique(flat_doc):
    result = parse_report(_run_together(flat_doc).encode("utf-8"), filename="dump.txt")
    # 21710000218 splits one way in its row; 1030121228 three ways, of which one balances every column.
    assert cells(result.document) == cells(flat_doc)
    (problem,) = [p for p in result.problems if p.code.startswith("digits_")]
    assert problem.code == "digits_split" and problem.candidates == GRANTED_SPLITS
    assert problem.cells[0] == "applications.granted.natural_person"


def test_it_leaves_a_row_blank_with_its_candidates_when_several_splits_fit(flat_doc):
    text = _run_together(flat_doc)
    total = " ".join(str(v) for v in flat_doc["applications"]["outcome_total"].values())
    assert f" {total} " in text
    text = text.replace(f" {total} ", " / / / / / / / ")  # without （七）总计 the columns fix nothing
    result = parse_report(text.encode("utf-8"), filename="dump.txt")
    got = cells(result.document)
    expected = cells(flat_doc)
    unknown = {ref for ref in got if ref.startswith(("applications.granted.", "applications.outcome_total."))}
    assert all(got[ref] is None for ref in unknown)
    assert {ref: v for ref, v in got.items() if ref not in unknown} == {
        ref: v for ref, v in expected.items() if ref not in unknown
    }
    (problem,) = [p for p in result.problems if p.code == "digits_ambiguous"]
    assert problem.cells[0] == "applications.granted.natural_person" and len(problem.cells) == 7
    assert problem.candidates == GRANTED_SPLITS
    assert "1 | 0 | 3 | 0 | 12 | 12 | 28" in problem.message
    assert problem.as_dict()["candidates"][1] == [10, 3, 0, 1, 2, 12, 28]
    assert not [p for p in result.problems if p.code == "row_empty"]


def test_it_leaves_blank_digits_no_split_fits(flat_doc):
    text = _one_line(render_text(flat_doc, random.Random(7)))
    text = text.replace(" 217 1 0 0 0 0 218 ", "21710000219")  # a misprinted total: nothing fits
    result = parse_report(text.encode("utf-8"), filename="dump.txt")
    assert all(v is None for v in result.document["applications"]["new_received"].values())
    (problem,) = [p for p in result.problems if p.code == "digits_ambiguous"]
    assert problem.candidates == () and "无法拆分" in problem.message


def test_the_sandbox_passes_the_candidates_through(flat_doc):
    from disclosure.parsing.sandbox import parse_untrusted

    text = _one_line(render_text(flat_doc, random.Random(7))).replace(" 1 0 3 0 12 12 28 ", "1030121228")
    result = parse_untrusted(text.encode("utf-8"), filename="dump.txt")
    (problem,) = [p for p in result.problems if p.code.startswith("digits_")]
    assert problem.candidates == GRANTED_SPLITS
    assert result.encoding == "utf-8"


def test_the_command_says_how_the_file_was_decoded_and_what_the_page_declares(report, tmp_path):
    from io import StringIO

    from django.core.management import call_command

    doc, text = report
    path = tmp_path / "page.html"
    path.write_bytes(page_of(text, meta=META).encode("gb18030"))
    out, err = StringIO(), StringIO()
    try:
        call_command("parse_report", str(path), "--no-sandbox", stdout=out, stderr=err)
    except SystemExit:
        pass
    assert "文字编码：gb18030" in err.getvalue()
    assert "网页元数据 PubDate：2022-01-25 09:30" in err.getvalue()


def test_it_reads_a_report_a_page_writes_with_javascript(report):
    import json

    doc, text = report
    article = page_of(text, chrome=False).split("<body>", 1)[1].split("</body>", 1)[0]
    # As content management systems print it: a JS string, quotes and non-ASCII escaped, cut in pieces.
    literal = json.dumps(article)
    cut = len(literal) // 2
    while literal[cut - 1] == "\\":
        cut += 1
    script = (
        f'var content = {literal[:cut]}" +\n "{literal[cut:]};\ndocument.getElementById("zoom").innerHTML = content;'
    )
    page = (
        "<html><head><meta charset='gbk'><title>年度报告</title></head><body>"
        f"{NAV}<div id='zoom'></div><script>{script}</script></body></html>"
    )
    result = parse_report(page.encode("gb18030"), filename="js.html")
    assert result.document["organization"]["name"] == "测试局"
    assert cells(result.document) == cells(doc)


def test_it_keeps_a_sentence_of_the_report_that_starts_like_site_furniture(report):
    doc, text = report
    text = text.replace("## 六、", "相关信息已在本机关门户网站公开，接受社会监督。\n\n## 六、")
    result = parse_report(page_of(text, meta=META).encode("utf-8"), filename="t.html")
    problems = doc["narrative"]["problems"] + "\n相关信息已在本机关门户网站公开，接受社会监督。"
    assert result.document["narrative"]["problems"] == problems
    assert result.document["narrative"]["other_matters"] == doc["narrative"]["other_matters"]


def test_it_reads_a_report_inside_an_element_whose_class_looks_like_site_furniture(report):
    doc, text = report
    page = page_of(text, chrome=False).replace("<div class='article'>", "<div class='content-bottom'>")
    result = parse_report(page.encode("utf-8"), filename="t.html")
    assert cells(result.document) == cells(doc)
