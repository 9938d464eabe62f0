"""国办公开办函〔2019〕60号, 年度报告格式（试行）: report years 2019 and 2020."""

from . import common as c
from .base import Column, Format, NarrativePart, Row, SubTable

PREVIOUS = Column("previous", "上一年项目数量")
CHANGE = Column("change", "本年增/减", kind=c.CellKind.SIGNED)
DECISIONS = Column("decisions", "处理决定数量")

FORMAT = Format(
    code="2019",
    document="国办公开办函〔2019〕60号",
    first_year=2019,
    sections=c.SECTIONS,
    active_disclosure=(
        SubTable(
            "art20_1",
            "第二十条第（一）项",
            rows=(
                Row("regulations", c.REGULATIONS_LABEL),
                Row("normative_documents", "规范性文件"),
            ),
            columns=(
                Column("made", "本年新制作数量"),
                Column("published", "本年新公开数量"),
                Column("total_published", "对外公开总数量"),
            ),
        ),
        SubTable(
            "art20_5",
            "第二十条第（五）项",
            rows=(c.LICENSING, Row("other_services", "其他对外管理服务事项")),
            columns=(PREVIOUS, CHANGE, DECISIONS),
        ),
        SubTable(
            "art20_6",
            "第二十条第（六）项",
            rows=(c.PENALTY, c.COERCION),
            columns=(PREVIOUS, CHANGE, DECISIONS),
        ),
        SubTable("art20_8", "第二十条第（八）项", rows=(c.FEES,), columns=(PREVIOUS, CHANGE)),
        SubTable(
            "art20_9",
            "第二十条第（九）项",
            rows=(Row("procurement", "政府集中采购"),),
            columns=(
                Column("count", "采购项目数量"),
                Column("amount", "采购总金额", kind=c.AMOUNT),
            ),
            has_unit=True,
        ),
    ),
    active_disclosure_first_header=c.ACTIVE_DISCLOSURE_FIRST_HEADER,
    applications_rows=(
        *c.APPLICATIONS_HEAD_ROWS,
        Row("other", "（六）其他处理", groups=(c.OUTCOMES,)),
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
        # 2019-format 六 is free text (spec §7).
        NarrativePart("other_matters.other", "其他需要报告的事项"),
    ),
    amount_unit_choices=("万元", "元"),
)
