"""Sections, title, signature and the narrative parts of a report.

Section headings are found by their statutory titles (from the registry),
not by their numbers: real reports misnumber them, drop a number, or drop a
heading altogether. Paragraphs that a page break cut in two are joined again
(text and PDF only: a paragraph that does not end a sentence continues on
the next line). The overview is split into its topics by subheadings matched
against the registry's topic labels; a subheading that names no topic stays
in the text where it stands.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from ..formats import Format
from .extract import Line
from .labels import Label, cn_number, key, paren_numbered, ratio, split_numbering

TERMINAL = "。！？；：!?;:…"
CLOSERS = "”’\"'）)】」』》 \u3000"
_CJK_IDEOGRAPH = re.compile(r"[\u4e00-\u9fff]")
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年")
_DATE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日\s*$")
_CN_DATE = re.compile(
    r"^\s*([〇零一二三四五六七八九]{4})\s*年\s*([一二三四五六七八九十]{1,3})\s*月\s*([一二三四五六七八九十]{1,3})\s*日\s*$"
)
# The usual words around a topic's name in a subheading.
_HEADING_SUFFIX = re.compile(r"(?:工作)?(?:的)?(?:基本)?情况$")
NARRATIVE_SECTIONS = ("overview", "problems", "other_matters")
_SIGNED_DATE = re.compile(r"^(\S.*?\S)[\s\u3000]+(\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)$")


def clean(text: str) -> str:
    """A paragraph as printed, without markdown emphasis and outer whitespace."""
    text = re.sub(r"\*\*|__", "", text)
    return text.strip().strip("\u3000").strip()


def ends_sentence(text: str) -> bool:
    stripped = text.rstrip(CLOSERS)
    return bool(stripped) and stripped[-1] in TERMINAL


def _is_arabic_numbered(text: str) -> bool:
    return bool(re.match(r"^\s*[(（]?\s*[0-9０-９]", clean(text)))


# -- sections ---------------------------------------------------------------


@dataclass
class Layout:
    head: list[Line] = field(default_factory=list)
    narrative: dict[str, list[Line]] = field(default_factory=dict)
    table_lines: list[Line] = field(default_factory=list)
    markers: dict[int, str] = field(default_factory=dict)  # table_lines index → table section code
    found: list[str] = field(default_factory=list)


def _single_text(line: Line) -> str | None:
    if line.blank:
        return None
    if line.table:
        cells = [c for c in line.cells if c and c.strip()]
        return cells[0] if len(cells) == 1 else None
    return line.text


def section_heading(line: Line, fmt: Format, after: int) -> int | None:
    """The index of the section (after ``after``) this line is the heading of, if any."""
    text = _single_text(line)
    if text is None:
        return None
    text = clean(text)
    if not text or text.endswith("。") or paren_numbered(text) or _is_arabic_numbered(text):
        return None
    number, rest = split_numbering(text)
    core = key(rest)
    if not core or len(core) > 40:
        return None
    found, top = None, 0.0
    for index, section in enumerate(fmt.sections):
        if index <= after:
            continue
        label = Label.of(section.title)
        if core == label.core:
            s = 1.0
        else:
            r = ratio(core, label.core)
            s = r if r >= 0.85 or (r >= 0.7 and number == label.number) else 0.0
        if s > top:
            found, top = index, s
    return found


def _is_caption(line: Line, fmt: Format) -> bool:
    captions = {Label.of(t.caption).core for t in fmt.active_disclosure}
    return any(c and key(c) in captions for c in line.cells)


def split_sections(lines: list[Line], fmt: Format) -> Layout:
    heads: list[tuple[int, int]] = []
    after = -1
    for i, line in enumerate(lines):
        index = section_heading(line, fmt, after)
        if index is not None:
            heads.append((i, index))
            after = index
    codes = [s.code for s in fmt.sections]
    table_codes = {s.code for s in fmt.sections if s.is_table}
    layout = Layout(found=[codes[s] for _i, s in heads])
    first_table = next((i for i, s in heads if codes[s] in table_codes), None)
    overview_at = next((i for i, s in heads if codes[s] == "overview"), None)
    caption_at = next(
        (i for i, line in enumerate(lines) if (overview_at is None or i > overview_at) and _is_caption(line, fmt)),
        None,
    )
    starts = [i for i in (first_table, caption_at) if i is not None]
    zone_start = min(starts) if starts else None
    zone_end = len(lines)
    if zone_start is not None:
        zone_end = next((i for i, s in heads if i > zone_start and codes[s] not in table_codes), len(lines))
    first_head = heads[0][0] if heads else len(lines)
    head_end = min(first_head, zone_start if zone_start is not None else len(lines))
    layout.head = lines[:head_end]
    for n, (i, s) in enumerate(heads):
        code = codes[s]
        end = heads[n + 1][0] if n + 1 < len(heads) else len(lines)
        if code in table_codes:
            continue
        if zone_start is not None and i < zone_start:
            end = min(end, zone_start)
        layout.narrative[code] = lines[i + 1 : end]
    if zone_start is not None:
        layout.table_lines = lines[zone_start:zone_end]
        for i, s in heads:
            if zone_start <= i < zone_end and codes[s] in table_codes:
                layout.markers[i - zone_start] = codes[s]
    return layout


# -- paragraphs ----------------------------------------------------------------


@dataclass
class Para:
    text: str
    heading: int = 0
    numbered: bool = False
    ends_layout: bool | None = None  # PDF: the last line ended short of the margin

    @property
    def heading_like(self) -> bool:
        return bool(self.heading) or (
            self.numbered and len(key(self.text)) <= 30 and not ends_sentence(self.text) and "。" not in self.text
        )


def paragraphs(lines: list[Line], join_broken: bool) -> list[Para]:
    out: list[Para] = []
    for line in lines:
        if line.blank:
            continue
        text = clean(line.text)
        if not text:
            continue
        para = Para(text, line.heading, split_numbering(text)[0] is not None, line.para_end)
        if out and join_broken and _continues(out[-1], para, line):
            out[-1].text += text
            out[-1].ends_layout = line.para_end
        else:
            out.append(para)
    return out


def _continues(previous: Para, current: Para, line: Line) -> bool:
    """Is ``line`` the rest of ``previous``, cut by a line or page break?"""
    if previous.heading or current.heading or current.numbered or previous.heading_like:
        return False
    if line.para_start is not None:  # PDF: an indented line starts a paragraph
        if line.para_start:
            return False
        # A short last line ends a paragraph only at the end of a sentence: a
        # line also ends short when the next word did not fit.
        return not (previous.ends_layout and ends_sentence(previous.text))
    return not ends_sentence(previous.text)


def join(paras: list[Para]) -> str:
    return "\n".join(p.text for p in paras)


# -- title, signature, date --------------------------------------------------------


@dataclass
class Header:
    title: str = ""
    subtitles: list[str] = field(default_factory=list)
    preamble: list[Para] = field(default_factory=list)


def _short_plain(text: str, limit: int = 30) -> bool:
    return 0 < len(key(text)) <= limit and not ends_sentence(text) and not re.search(r"[。，,；;：:]", text)


def read_header(lines: list[Line], join_broken: bool) -> Header:
    body = [line for line in lines if not line.blank]
    header = Header()
    i = 0
    # The title: short lines up to the one that says 报告 (a title may wrap). Web
    # pages print metadata (索引号：…, 发布机构：…) above it; those lines are dropped.
    for start in range(len(body)):
        k = start
        while k < min(len(body), start + 3) and _short_plain(body[k].text, 80):
            if "报告" in body[k].text:
                header.title = "".join(clean(line.text) for line in body[start : k + 1])
                i = k + 1
                break
            k += 1
        if header.title or (ends_sentence(body[start].text) and len(key(body[start].text)) > 40):
            break  # the title, or the preamble has begun
    if header.title:
        # A subtitle (the office under a title without it) is a short line of its own.
        while (
            i < len(body)
            and _short_plain(body[i].text, 20)
            and not re.search(r"[《》“”\"()（）]|报告", body[i].text)
            and body[i].para_end is not False
        ):
            header.subtitles.append(clean(body[i].text))
            i += 1
    header.preamble = paragraphs(body[i:], join_broken)
    return header


def parse_date(text: str) -> dt.date | None:
    text = clean(text)
    text = re.sub(r"^[(（]\s*(.*?)\s*[)）]$", r"\1", text)  # （2022年1月20日）
    match = _DATE.match(text)
    try:
        if match:
            return dt.date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        match = _CN_DATE.match(text)
        if match:
            year = int("".join(str(cn_number(ch)) for ch in match.group(1)))
            month, day = cn_number(match.group(2)), cn_number(match.group(3))
            if month and day:
                return dt.date(year, month, day)
    except ValueError:
        return None
    return None


def take_signature(lines: list[Line], name: str = "") -> tuple[list[Line], str, dt.date | None]:
    """Remove the closing signature and date (成文日期) from the end of the last section.

    Without a date, only a last line that is the office's own name counts as a signature.
    """
    body = list(lines)
    while body and body[-1].blank:
        body.pop()
    if not body:
        return lines, "", None
    issued = parse_date(body[-1].text)
    if issued is not None:
        body.pop()
        while body and body[-1].blank:
            body.pop()
    else:
        # 落款 on one line: 测试局  2022年1月20日
        match = _SIGNED_DATE.match(clean(body[-1].text))
        issued = parse_date(match.group(2)) if match else None
        if match and issued is not None and _short_plain(match.group(1), 40):
            body[-1] = Line([match.group(1)], row=body[-1].row, where=body[-1].where)
        else:
            issued = None
    signature = ""
    if body and _short_plain(body[-1].text, 40) and split_numbering(body[-1].text)[0] is None:
        if issued is not None or (name and key(body[-1].text) == key(name)):
            signature = clean(body[-1].text)
            body.pop()
    if not signature and issued is None:
        return lines, "", None
    return body, signature, issued


def title_year(text: str) -> int | None:
    match = _YEAR.search(text or "")
    return int(match.group(1)) if match else None


def name_from_title(title: str) -> str:
    """The office's name: what the title prints before the year or before 政府信息公开."""
    cut = len(title)
    match = _YEAR.search(title)
    if match:
        cut = match.start()
    subject = title.find("政府信息公开")
    if subject >= 0:
        cut = min(cut, subject)
    name = title[:cut].strip()
    name = re.sub(r"^关于", "", name)
    name = re.sub(r"(?:关于|的)$", "", name).strip()
    return name


def title_from_text(text: str) -> str:
    """现公布…年度报告。 — the title a report without a title line names in its first sentence."""
    match = re.search(r"(?:公布|发布|报告如下)[：:]?\s*(?:《)?([^，。,；;《》]{4,80}?报告)", text)
    return match.group(1).strip() if match else ""


def expand_name(short: str, texts: list[str]) -> str:
    """A short name (区招商局) to the full one the text uses at least twice (文昌湖区招商局)."""
    counts: Counter[str] = Counter()
    for text in texts:
        for match in re.finditer(re.escape(short), text):
            j = match.start()
            while j > 0 and _CJK_IDEOGRAPH.match(text[j - 1]) and match.start() - j < 10:
                j -= 1
            if j > 0 and _CJK_IDEOGRAPH.match(text[j - 1]):
                continue  # ran into the middle of a sentence
            counts[text[j : match.end()]] += 1
    longer = [(len(name), n, name) for name, n in counts.items() if n >= 2 and name != short]
    return max(longer)[2] if longer else short


# -- narrative parts ---------------------------------------------------------------


def _topic_aliases(labels: dict[str, str]) -> dict[str, list[str]]:
    """Match keys for each topic: its label, the label without words it shares with
    another topic's label (a 政府信息… label → its last words), and the pieces of a compound label."""
    keys = {path: key(label) for path, label in labels.items()}
    aliases: dict[str, list[str]] = {}
    for path, core in keys.items():
        core = _HEADING_SUFFIX.sub("", core) or core
        found = [core]
        for other_path, other in keys.items():
            if other_path == path:
                continue
            common = 0
            while common < min(len(core), len(other)) and core[common] == other[common]:
                common += 1
            if common >= 2 and len(core) - common >= 2:
                found.append(core[common:])
        found += [p for p in re.split(r"[、和及与]", labels[path]) if len(key(p)) >= 4 and key(p) != core]
        aliases[path] = [_HEADING_SUFFIX.sub("", key(a)) or key(a) for a in found]
    return aliases


def match_topic(heading: str, aliases: dict[str, list[str]]) -> str | None:
    """The topic a subheading names: by containment, then by similarity."""
    _number, rest = split_numbering(heading)
    core = key(rest)
    core = _HEADING_SUFFIX.sub("", core) or core
    if not core:
        return None
    top, found = 0.0, None
    for path, keys in aliases.items():
        for alias in keys:
            if alias and alias in core:
                s = 10.0 + len(alias)
            elif len(core) >= 3 and core in alias:
                s = 10.0 + len(core)
            else:
                r = ratio(core, alias)
                s = r if r >= 0.6 else 0.0
            if s > top:
                top, found = s, path
    return found


_INLINE_HEADING = re.compile(
    r"^(\s*(?:[(（][一二三四五六七八九十\d]+[)）]|[一二三四五六七八九十]+、|\d+[.、．])\s*)(.{2,20}?)[。：:]\s*(.+)$"
)


def _subheading(para: Para) -> tuple[str, str | None] | None:
    """(heading, text after it) when a paragraph is a subheading or starts with one."""
    if para.heading_like or (para.heading and len(key(para.text)) <= 40):
        return para.text, None
    if _short_plain(para.text, 15):
        return para.text, None
    if para.numbered:
        match = _INLINE_HEADING.match(para.text)
        if match:
            return match.group(1) + match.group(2), match.group(3)
    return None


def split_topics(paras: list[Para], labels: dict[str, str], lead: str) -> dict[str, list[str]]:
    """Distribute paragraphs over topics by their subheadings; the rest goes to ``lead``."""
    aliases = _topic_aliases(labels)
    parts: dict[str, list[str]] = {lead: []}
    current = lead
    for para in paras:
        sub = _subheading(para)
        if sub is not None:
            topic = match_topic(sub[0], aliases)
            if topic is not None:
                current = topic
                parts.setdefault(topic, [])
                if sub[1]:
                    parts[topic].append(sub[1])
                continue
        parts.setdefault(current, []).append(para.text)
    return parts


def overview(fmt: Format, paras: list[Para]) -> dict[str, str]:
    labels = {p.path: p.label for p in fmt.narrative if p.path.startswith("overview.") and p.path != "overview.summary"}
    parts = split_topics(paras, labels, "overview.summary")
    return {path: "\n".join(texts) for path, texts in parts.items()}


# The words that define each part of 六 when its subheading is missing (2021 format).
DEFINING_WORDS = {
    "other_matters.processing_fee": ("信息处理费",),
    "other_matters.work_plan": ("工作要点",),
    "other_matters.proposals": ("建议", "提案"),
    "other_matters.innovation": ("创新",),
}


def _part_by_words(text: str, paths: list[str]) -> set[str]:
    return {path for path in paths if any(word in text for word in DEFINING_WORDS.get(path, ()))}


def _place_by_words(texts: list[str], paths: list[str], lead: str) -> dict[str, list[str]]:
    """Text under no subheading, placed by the defining words of one part.

    A paragraph naming one part goes there whole; one naming several is split into
    sentences, each naming at most one part (a sentence naming none stays with the one
    before it). Anything else stays in ``lead``: never placed by a guess.
    """
    parts: dict[str, list[str]] = {}
    for text in texts:
        found = _part_by_words(text, paths)
        if len(found) == 1:
            parts.setdefault(found.pop(), []).append(text)
            continue
        sentences = [s for s in re.split(r"(?<=[。；;！!？?])", text) if s.strip()]
        names = [_part_by_words(s, paths) for s in sentences]
        if len(found) < 2 or any(len(n) > 1 for n in names):
            parts.setdefault(lead, []).append(text)
            continue
        current, pieces = lead, []
        for sentence, named in zip(sentences, names, strict=True):
            if named:
                current = next(iter(named))
            if pieces and pieces[-1][0] == current:
                pieces[-1] = (current, pieces[-1][1] + sentence)
            else:
                pieces.append((current, sentence))
        for path, piece in pieces:
            parts.setdefault(path, []).append(piece.strip())
    return parts


def other_matters(fmt: Format, paras: list[Para]) -> dict[str, str]:
    paths = [p.path for p in fmt.narrative if p.path.startswith("other_matters.")]
    if paths == ["other_matters.other"]:
        return {"other_matters.other": join(paras)}
    labels = {p.path: p.label for p in fmt.narrative if p.path in paths}
    parts = split_topics(paras, labels, "other_matters.other")
    # What no subheading placed (a 六 printed without its （一）…（五）) goes by its words.
    unplaced = parts.pop("other_matters.other", [])
    for path, texts in _place_by_words(unplaced, [p for p in paths if p not in parts], "other_matters.other").items():
        parts.setdefault(path, []).extend(texts)
    return {path: "\n".join(texts) for path, texts in parts.items()}


_NO_FEE = re.compile(
    r"(?:无|未|没有|不|均未|均不|未发生|未曾|无需)(?:向申请人)?(?:收取|征收|收)(?:任何)?(?:政府)?信息处理费"
)


def fee_amount(text: str) -> str | None:
    """The processing fee in 元 when the text states it (收取信息处理费 120 元; 未收取信息处理费: 0)."""
    match = re.search(r"(\d+(?:\.\d+)?)\s*(万元|元)", text or "")
    if not match:
        # Saying none was charged states the amount: 0. Text that says neither leaves it blank.
        return "0" if _NO_FEE.search(text or "") else None
    value = match.group(1)
    if match.group(2) == "万元":
        return str(Decimal(value) * 10000)
    return value
