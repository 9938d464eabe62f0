"""Statutory pieces the 2019 and 2021 formats share, declared once."""

from .base import Block, CellKind, Column, NarrativePart, Requirement, Row, Section

SECTIONS = (
    Section("overview", "一、总体情况", is_table=False),
    Section("active_disclosure", "二、主动公开政府信息情况", is_table=True),
    Section("applications", "三、收到和处理政府信息公开申请情况", is_table=True),
    Section("reviews", "四、政府信息公开行政复议、行政诉讼情况", is_table=True),
    Section("problems", "五、存在的主要问题及改进情况", is_table=False),
    Section("other_matters", "六、其他需要报告的事项", is_table=False),
)

ACTIVE_DISCLOSURE_FIRST_HEADER = "信息内容"

# -- Table 三 -------------------------------------------------------------
APPLICATIONS_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
APPLICANT_HEADER = "申请人情况"
ORGANISATIONS = "法人或其他组织"

APPLICATIONS_COLUMNS = (
    Column("natural_person", "自然人"),
    Column("commercial", "商业企业", group=ORGANISATIONS),
    Column("research", "科研机构", group=ORGANISATIONS),
    Column("social_welfare", "社会公益组织", group=ORGANISATIONS),
    Column("legal_service", "法律服务机构", group=ORGANISATIONS),
    Column("other_org", "其他", group=ORGANISATIONS),
    Column("total", "总计", computed=True),
)

OUTCOMES = "三、本年度办理结果"
WITHHELD = "（三）不予公开"
UNAVAILABLE = "（四）无法提供"
REJECTED = "（五）不予处理"
OTHER_HANDLING = "（六）其他处理"

APPLICATIONS_HEAD_ROWS = (
    Row("new_received", "一、本年新收政府信息公开申请数量"),
    Row("carried_over", "二、上年结转政府信息公开申请数量"),
    Row("granted", "（一）予以公开", groups=(OUTCOMES,)),
    Row(
        "partially_granted",
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        groups=(OUTCOMES,),
    ),
    Row("withheld_state_secret", "1.属于国家秘密", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_prohibited", "2.其他法律行政法规禁止公开", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_security", "3.危及“三安全一稳定”", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_third_party", "4.保护第三方合法权益", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_internal", "5.属于三类内部事务信息", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_process", "6.属于四类过程性信息", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_enforcement", "7.属于行政执法案卷", groups=(OUTCOMES, WITHHELD)),
    Row("withheld_query", "8.属于行政查询事项", groups=(OUTCOMES, WITHHELD)),
    Row("unavailable_not_held", "1.本机关不掌握相关政府信息", groups=(OUTCOMES, UNAVAILABLE)),
    Row(
        "unavailable_needs_creation",
        "2.没有现成信息需要另行制作",
        groups=(OUTCOMES, UNAVAILABLE),
    ),
    Row("unavailable_unclear", "3.补正后申请内容仍不明确", groups=(OUTCOMES, UNAVAILABLE)),
    Row("rejected_petition", "1.信访举报投诉类申请", groups=(OUTCOMES, REJECTED)),
    Row("rejected_repeat", "2.重复申请", groups=(OUTCOMES, REJECTED)),
    Row("rejected_publication", "3.要求提供公开出版物", groups=(OUTCOMES, REJECTED)),
    Row("rejected_excessive", "4.无正当理由大量反复申请", groups=(OUTCOMES, REJECTED)),
    Row(
        "rejected_confirmation",
        "5.要求行政机关确认或重新出具已获取信息",
        groups=(OUTCOMES, REJECTED),
    ),
)

APPLICATIONS_TAIL_ROWS = (
    # Printed inside the 三、本年度办理结果 group, but a sum, not an outcome.
    Row("outcome_total", "（七）总计", computed=True, groups=(OUTCOMES,)),
    Row("carried_forward", "四、结转下年度继续办理"),
)

# -- Table 四 -------------------------------------------------------------
LITIGATION = "行政诉讼"
REVIEWS_BLOCKS = (
    Block("reconsideration", "行政复议"),
    Block("litigation_direct", "未经复议直接起诉", group=LITIGATION),
    Block("litigation_after", "复议后起诉", group=LITIGATION),
)
REVIEWS_COLUMNS = (
    Column("upheld", "结果维持"),
    Column("corrected", "结果纠正"),
    Column("other", "其他结果"),
    Column("pending", "尚未审结"),
    Column("total", "总计", computed=True),
)

# -- Table 二, pieces common to both formats -------------------------------
REGULATIONS_LABEL = "规章"
PENALTY = Row("penalty", "行政处罚")
COERCION = Row("coercion", "行政强制")
LICENSING = Row("licensing", "行政许可")
FEES = Row("fees", "行政事业性收费")
AMOUNT = CellKind.AMOUNT

# -- Narrative -------------------------------------------------------------
# Preamble and summary are optional: real reports open with them (ADR 0002).
OVERVIEW_PARTS = (
    NarrativePart("preamble", "前言", Requirement.OPTIONAL),
    NarrativePart("overview.summary", "总体情况概述", Requirement.OPTIONAL),
    NarrativePart("overview.active_disclosure", "主动公开"),
    NarrativePart("overview.on_request", "依申请公开"),
    NarrativePart("overview.information_management", "政府信息管理"),
    NarrativePart("overview.platform", "政府信息公开平台建设"),
    NarrativePart("overview.supervision", "监督保障"),
    NarrativePart(
        "overview.evaluation",
        "工作考核、社会评议和责任追究结果情况",
        Requirement.GOVERNMENT,
    ),
)
# 五 must carry real content: 无, or a line, is not a report of problems.
PROBLEMS = NarrativePart("problems", "存在的主要问题及改进情况", min_length=20)

# -- Narrative length (ADR 0010) ----------------------------------------------
# Real parts run to a few thousand characters; 20 000 is some ten printed
# pages. The report's total keeps the largest allowed report's PDF render to
# seconds (measured in ADR 0010), far under the request timeout.
NARRATIVE_PART_MAX_CHARS = 20_000
NARRATIVE_REPORT_MAX_CHARS = 120_000


def _narrative_texts(doc: dict) -> dict[str, str]:
    """{part ref: text} of a canonical document's narrative parts."""
    from . import get_format

    texts = {}
    for part in get_format(doc["format"]).narrative:
        node = doc.get("narrative") or {}
        for name in part.path.split("."):
            node = node.get(name) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node = node.get("text")
        texts[part.ref] = node if isinstance(node, str) else ""
    return texts


def narrative_length(doc: dict) -> int:
    """Characters in all the narrative parts of a document."""
    return sum(len(text) for text in _narrative_texts(doc).values())


def part_length_error(text: str) -> str | None:
    """The message for one narrative part over NARRATIVE_PART_MAX_CHARS, else None."""
    if len(text) > NARRATIVE_PART_MAX_CHARS:
        return f"本部分不能超过{NARRATIVE_PART_MAX_CHARS}字，现有{len(text)}字。"
    return None


def narrative_length_errors(doc: dict) -> dict[str, str]:
    """{part ref: message} for parts over NARRATIVE_PART_MAX_CHARS, and under the ref
    "narrative" one message when the parts together exceed NARRATIVE_REPORT_MAX_CHARS."""
    texts = _narrative_texts(doc)
    errors = {ref: message for ref, text in texts.items() if (message := part_length_error(text))}
    total = sum(len(text) for text in texts.values())
    if total > NARRATIVE_REPORT_MAX_CHARS:
        errors["narrative"] = f"全部文字部分合计不能超过{NARRATIVE_REPORT_MAX_CHARS}字，现有{total}字。"
    return errors
