"""国办公开办函〔2021〕30号, 年度报告格式: report years 2021 onward."""

from . import common as c
from .base import Column, Format, NarrativePart, Row, SubTable

DECISIONS = Column("decisions", "本年处理决定数量")

FORMAT = Format(
    code="2021",
    document="国办公开办函〔2021〕30号",
    first_year=2021,
    sections=c.SECTIONS,
    active_disclosure=(
        SubTable(
            "art20_1",
            "第二十条第（一）项",
            rows=(
                Row("regulations", c.REGULATIONS_LABEL),
                Row("normative_documents", "行政规范性文件"),
            ),
            columns=(
                Column("issued", "本年制发件数"),
                Column("repealed", "本年废止件数"),
                Column("in_force", "现行有效件数"),
            ),
        ),
        SubTable("art20_5", "第二十条第（五）项", rows=(c.LICENSING,), columns=(DECISIONS,)),
        SubTable("art20_6", "第二十条第（六）项", rows=(c.PENALTY, c.COERCION), columns=(DECISIONS,)),
        SubTable(
            "art20_8",
            "第二十条第（八）项",
            rows=(c.FEES,),
            columns=(Column("amount", "本年收费金额（单位：万元）", kind=c.AMOUNT),),
        ),
    ),
    active_disclosure_first_header=c.ACTIVE_DISCLOSURE_FIRST_HEADER,
    applications_rows=(
        *c.APPLICATIONS_HEAD_ROWS,
        Row(
            "other_no_correction",
            "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
            groups=(c.OUTCOMES, c.OTHER_HANDLING),
        ),
        Row(
            "other_unpaid_fee",
            "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
            groups=(c.OUTCOMES, c.OTHER_HANDLING),
        ),
        Row("other_other", "3.其他", groups=(c.OUTCOMES, c.OTHER_HANDLING)),
        *c.APPLICATIONS_TAIL_ROWS,
    ),
    applications_columns=c.APPLICATIONS_COLUMNS,
    applications_note=c.APPLICATIONS_NOTE,
    applications_applicant_header=c.APPLICANT_HEADER,
    reviews_blocks=c.REVIEWS_BLOCKS,
    reviews_columns=c.REVIEWS_COLUMNS,
    narrative=(
        *c.OVERVIEW_PARTS,
        c.PROBLEMS,
        NarrativePart("other_matters.processing_fee", "收取信息处理费情况", has_amount=True),
        NarrativePart("other_matters.work_plan", "落实上级年度政务公开工作要点情况"),
        NarrativePart("other_matters.proposals", "人大代表建议和政协提案办理结果公开情况"),
        NarrativePart("other_matters.innovation", "政务公开工作创新情况"),
        NarrativePart("other_matters.other", "其他"),
    ),
)
