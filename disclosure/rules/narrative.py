"""Rules on the narrative sections, and narrative against the tables."""

from __future__ import annotations

import datetime as dt
import re

from ..calendar import future_issue_date_message, today
from ..formats import Requirement
from ..interchange import get_path, narrative_text
from ..parsing.labels import cn_number
from .engine import Context, Severity, known, rule

# Texts that say nothing: a required part must say more than these.
EMPTY_WORDS = {"无", "无。", "暂无", "暂无。", "没有", "没有。", "/", "-", "—"}


def part_text(ctx: Context, path: str) -> str:
    return narrative_text(ctx.doc, path)


@rule("narrative.required", Severity.ERROR)
def narrative_required(ctx: Context):
    """Every required narrative part is written; 五 carries real content."""
    for part in ctx.fmt.narrative:
        if part.requirement == Requirement.OPTIONAL:
            continue
        if part.requirement == Requirement.GOVERNMENT and not ctx.is_government:
            continue
        text = part_text(ctx, part.path)
        if part.has_amount and not text:
            fee = get_path(ctx.doc["narrative"], part.path)
            if isinstance(fee, dict) and fee.get("amount_yuan") is not None:
                continue  # an amount alone reports the fee
        if not text:
            yield [part.ref], f"“{part.label}”尚未填写；没有需要报告的内容请写“无”。"
        elif part.min_length > 1 and (text in EMPTY_WORDS or len(text) < part.min_length):
            yield (
                [part.ref],
                f"“{part.label}”须写明实际存在的问题和改进情况，不能只写“{text}”（至少{part.min_length}个字）。",
            )


# Not the tail of a longer numeral: "一百二十件" must not read as 20.
NUMBER = r"(?<![零〇一二两三四五六七八九十百千万\d])(\d+|[零〇一二两三四五六七八九十]{1,3})"
APPLICATION_CLAUSE = re.compile(r"申请")
SKIP_CLAUSE = re.compile(r"复议|诉讼|投诉|举报")
# "个" counts applications, but not in "20个工作日" (a time limit).
UNIT = r"\s*(?:[件宗条]|个(?!工作日|自然日|月|小时|星期))"
COUNT_PATTERNS = (
    # (verb, accept new + carried over as well as new)
    ("新收", re.compile(r"新收[^，,。；;]{0,20}?" + NUMBER + UNIT)),
    ("收到", re.compile(r"收到[^，,。；;]{0,20}?" + NUMBER + UNIT)),
    ("受理", re.compile(r"受理[^，,。；;]{0,20}?" + NUMBER + UNIT)),
)
# "未受理的申请" speaks of some applications, not of none received.
NONE_RECEIVED = re.compile(r"(没有|未|无)(收到|受理)(?!的)[^，,。；;]{0,15}申请")
CLAUSE_SPLIT = re.compile(r"[，,。；;！!\n]")
SENTENCE_SPLIT = re.compile(r"[。；;！!\n]")
# A sentence that speaks of last year's carried-over applications states a sum with them:
# 共收到申请75件（含上年结转1件） is 74 new + 1 carried over.
CARRIED_WORDS = re.compile(r"结转|上年度?遗留|上一年度?遗留")


def _overview_texts(ctx: Context):
    for part in ctx.fmt.narrative:
        if part.path.startswith("overview.") or part.path == "preamble":
            text = part_text(ctx, part.path)
            if text:
                yield part, text


@rule("narrative.numbers", Severity.WARNING)
def narrative_numbers(ctx: Context):
    """A count in the narrative contradicts table 三 (新收 / 受理 N 件)."""
    new = ctx.apps["new_received"]["total"]
    carried = ctx.apps["carried_over"]["total"]
    if not known(new):
        return
    for part, text in _overview_texts(ctx):
        for sentence in SENTENCE_SPLIT.split(text):
            yield from _sentence_numbers(part, sentence, new, carried)


def _sentence_numbers(part, sentence: str, new: int, carried: int | None):
    with_carried = bool(CARRIED_WORDS.search(sentence))
    for clause in CLAUSE_SPLIT.split(sentence):
        if not APPLICATION_CLAUSE.search(clause) or SKIP_CLAUSE.search(clause):
            continue
        if NONE_RECEIVED.search(clause) and new > 0:
            yield (
                [part.ref, "applications.new_received.total"],
                f"“{part.label}”称未收到申请，但表三本年新收申请为{new}件。",
            )
            continue
        for verb, pattern in COUNT_PATTERNS:
            match = pattern.search(clause)
            if not match:
                continue
            stated = cn_number(match.group(1))
            accepted = {new}
            if (verb == "受理" or with_carried) and known(carried):
                accepted.add(new + carried)
            if stated is not None and stated not in accepted:
                expected = "或".join(str(v) for v in sorted(accepted))
                carried_text = f"，上年结转{carried}件" if len(accepted) > 1 else ""
                yield (
                    [part.ref, "applications.new_received.total"],
                    f"“{part.label}”写“{match.group(0)}”，与表三不符"
                    f"（本年新收{new}件{carried_text}，"
                    f"应为{expected}件）。",
                )
            break


TITLE_YEAR = re.compile(r"(\d{4})\s*年度?[^，,。；;]{0,30}?(?:政府信息公开|政务公开)[^，,。；;]{0,12}?报告")
LEADING_YEAR = re.compile(r"^\s*(\d{4})\s*年度?\s*[，,、]")


@rule("narrative.year", Severity.WARNING)
def narrative_year(ctx: Context):
    """The title or overview names another year as the reporting year."""
    year = ctx.doc["year"]
    title = ctx.doc.get("title") or ""
    for match in TITLE_YEAR.finditer(title):
        if int(match.group(1)) != year:
            yield ["title"], f"标题写的是{match.group(1)}年度，本报告为{year}年度。"
    for part, text in _overview_texts(ctx):
        # Only the preamble names the report itself; the overview may mention
        # last year's report ("按时发布2020年度…年度报告") without error.
        if part.path == "preamble":
            for match in TITLE_YEAR.finditer(text):
                if int(match.group(1)) != year:
                    yield [part.ref], f"“{part.label}”称“{match.group(0)}”，本报告为{year}年度。"
        for paragraph in text.splitlines():
            match = LEADING_YEAR.match(paragraph)
            if match and int(match.group(1)) != year:
                yield (
                    [part.ref],
                    f"“{part.label}”以“{match.group(0).strip()}”开头，本报告为{year}年度，请核对年份。",
                )


@rule("header.issued_on", Severity.ERROR)
def issued_on_not_future(ctx: Context):
    """The 成文日期 is not after today: a report is published after it is written."""
    value = ctx.doc.get("issued_on")
    if not value:
        return
    try:
        issued = dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return  # not a date: the schema's business
    if issued > today():
        yield ["issued_on"], future_issue_date_message(issued)
