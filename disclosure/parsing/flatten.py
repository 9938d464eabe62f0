"""Text that lost its layout: a whole report on one line (web text dumps, copy-paste, JS strings).

Section headings, table captions, column headers and row labels are looked for
anywhere in such a line, in statutory order, and the line is cut into the lines
a printed report has. Cells that ran together (``21710000218``) are split only
where exactly one split satisfies the table's own constraints: a table-三 row
has seven cells whose last is the sum of the other six; table 四 has three
blocks of five whose last is the sum of the other four; no number has a leading
zero. Where several splits fit (or none), the row stays blank and the candidates
are listed: never a guess.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from itertools import count

from .. import formats as reg
from ..formats import Format
from .extract import Line
from .labels import split_numbering
from .values import Kind, read_cell

# A line this long that names section titles and a caption is a flattened report.
FLAT_MIN_CHARS = 200
MAX_DIGITS = 7  # a count of a report's table: never more than 9 999 999
MAX_CANDIDATES = 20
MAX_STEPS = 200_000  # a search this long is a run no report prints: left unsplit
_SECTION_NUMBERS = "一二三四五六七八九十"
_row_ids = count(10_000_000)  # apart from extract's ids: a cut line is a row of its own


@dataclass(frozen=True)
class Ambiguity:
    """Run-together digits of one row that do not split uniquely."""

    refs: tuple[str, ...]  # the row's cells, in order
    printed: str
    candidates: tuple[tuple[int, ...], ...]  # every split that fits (empty: none fits)
    where: str = "压成一行的文字"


# How far after the previous anchor the next one may be printed: headers sit side by side,
# a row label follows its numbers; a missing one is skipped rather than sought in a later table.
WINDOWS = {"header": 60, "row": 240, "reviews": 400}


@dataclass(frozen=True)
class _Anchor:
    pattern: re.Pattern
    kind: str  # section, header, row, reviews
    text: str
    refs: tuple[str, ...] = ()
    block: int | None = None  # the cells' sum blocks (split_candidates)
    tail: str = ""  # the label's own number (the 2 of a row label "2.…"), which may end the run before it
    section: str = ""
    strict: re.Pattern | None = None


def _char_class(ch: str) -> str:
    alt = unicodedata.normalize("NFKC", ch)
    options = {ch, alt}
    if len(alt) == 1 and "!" <= alt <= "~":
        options.add(chr(ord(alt) + 0xFEE0))  # the full-width form of ASCII punctuation
    if ch in '“”"':
        options |= {"“", "”", '"'}
    return "[" + "".join(re.escape(o) for o in sorted(options)) + "]" if len(options) > 1 else re.escape(ch)


def _flexible(text: str) -> str:
    """Regex for a label printed with any spaces inside and either width of punctuation."""
    return r"\s*".join(_char_class(ch) for ch in text if not ch.isspace())


def _numbering(number: int | None, label: str) -> tuple[str, str]:
    """(regex of the label's printed numbering, the bare number a run may swallow)."""
    stripped = label.strip()
    if number is None:
        return "", ""
    if re.match(r"^\d", stripped):
        return rf"(?:{number}\s*[.、．]\s*)?", str(number)
    cn = _SECTION_NUMBERS[number - 1] if 0 < number <= 10 else ""
    if stripped.startswith(("（", "(")):
        return rf"(?:[（(]\s*{cn}\s*[）)]\s*)?", ""
    return rf"(?:{cn}\s*[、.．]\s*)?", ""


def _label_pattern(label: str) -> tuple[re.Pattern, str]:
    number, rest = split_numbering(label)
    prefix, tail = _numbering(number, label)
    if rest.startswith("行政") and len(rest) > 4:
        prefix += r"(?:行\s*政\s*)?"  # 行政许可 printed as 许可 (the labels' matching allows it too)
        rest = rest[2:]
    return re.compile(prefix + _flexible(rest)), tail


def anchors(fmt: Format) -> list[_Anchor]:
    """Everything a printed report names, in statutory order."""
    out: list[_Anchor] = []
    sections = {s.code: s for s in fmt.sections}

    def section(code: str) -> None:
        title = sections[code].title
        number, rest = split_numbering(title)
        # Numbered as printed (二、主动公开…) first: the bare words may occur in the preamble.
        strict = re.compile(rf"{_SECTION_NUMBERS[number - 1]}\s*[、.．]\s*" + _flexible(rest)) if number else None
        out.append(_Anchor(_label_pattern(title)[0], "section", title, section=code, strict=strict))

    def header(text: str) -> None:
        out.append(_Anchor(_label_pattern(text)[0], "header", text))

    section("overview")
    section("active_disclosure")
    for table in fmt.active_disclosure:
        header(table.caption)
        header(fmt.active_disclosure_first_header)
        for col in table.columns:
            header(col.label)
        for row in table.rows:
            pattern, tail = _label_pattern(row.label)
            refs = tuple(f"active_disclosure.{table.code}.{row.code}.{c.code}" for c in table.columns)
            out.append(_Anchor(pattern, "row", row.label, refs, None, tail))
    section("applications")
    header(fmt.applications_note)
    header(fmt.applications_applicant_header)
    seen: list[str] = []
    for col in fmt.applications_columns:
        for text in (col.group, col.label):
            if text and text not in seen:
                seen.append(text)
                header(text)
    groups_seen: set[str] = set()
    for row in fmt.applications_rows:
        for group in row.groups:
            if group not in groups_seen:
                groups_seen.add(group)
                header(group)
        pattern, tail = _label_pattern(row.label)
        refs = tuple(f"applications.{row.code}.{c.code}" for c in fmt.applications_columns)
        out.append(_Anchor(pattern, "row", row.label, refs, len(refs), tail))
    section("reviews")
    # 四's headers are not cut out: printed in the statutory order they add nothing, and the
    # numbers after them are placed in that order (a flattened table that dropped a column
    # cannot be told from one that did not).
    refs = tuple(f"reviews.{b.code}.{c.code}" for b in fmt.reviews_blocks for c in fmt.reviews_columns)
    out.append(_Anchor(re.compile(r"(?=\d)"), "reviews", "", refs, len(fmt.reviews_columns)))
    section("problems")
    section("other_matters")
    return out


def is_flattened(line: Line, fmt: Format) -> bool:
    if line.table or len(line.text) < FLAT_MIN_CHARS:
        return False
    # Three section titles and a table's caption: a paragraph that merely names two parts is not a report.
    found = sum(1 for s in fmt.sections if _label_pattern(s.title)[0].search(line.text))
    return found >= 3 and bool(re.search(r"第\s*二\s*十\s*条", line.text))


# -- splitting digits -------------------------------------------------------------------


def split_candidates(pieces: list[str], cells: int, block: int | None) -> list[tuple[int, ...]] | None:
    """The splits of space-separated digit runs into ``cells`` numbers that fit the table.

    ``block``: the cells fall in blocks of this size whose last is the sum of the others
    (a table-三 row: one block of 7; table 四: three of 5); None for no constraint. A
    number never has a leading zero and never spans a space. The block's total is
    forced by its parts, which keeps the search small. None when the pieces are not
    all digit runs or the search ran past MAX_STEPS; at most MAX_CANDIDATES + 1 splits
    are returned.
    """
    if not pieces or not all(p.isdigit() for p in pieces):
        return None
    found: list[tuple[int, ...]] = []
    steps = [0]

    def take(piece: int, offset: int) -> list[tuple[str, int, int]]:
        """Numbers that can start here: (digits, next piece, next offset)."""
        run = pieces[piece]
        out = []
        for end in range(offset + 1, min(len(run), offset + MAX_DIGITS) + 1):
            digits = run[offset:end]
            if len(digits) > 1 and digits.startswith("0"):
                break
            out.append((digits, piece + 1, 0) if end == len(run) else (digits, piece, end))
        return out

    def walk(piece: int, offset: int, acc: list[int]) -> None:
        steps[0] += 1
        if len(found) > MAX_CANDIDATES or steps[0] > MAX_STEPS:
            return
        if len(acc) == cells:
            if piece == len(pieces):
                found.append(tuple(acc))
            return
        if piece == len(pieces):
            return
        index = len(acc)
        if block and index % block == block - 1:
            start = index - (block - 1)
            total = str(sum(acc[start:index]))
            run = pieces[piece]
            if run.startswith(total, offset):
                end = offset + len(total)
                nxt = (piece + 1, 0) if end == len(run) else (piece, end)
                walk(*nxt, acc + [int(total)])
            return
        for digits, nxt_piece, nxt_offset in take(piece, offset):
            walk(nxt_piece, nxt_offset, acc + [int(digits)])

    walk(0, 0, [])
    return None if steps[0] > MAX_STEPS else found


# -- cutting the line ---------------------------------------------------------------------


def _values(rest: str) -> list[str]:
    return [p for p in rest.split() if p]


def reflow(lines: list[Line]) -> tuple[list[Line], list[Ambiguity]]:
    """Lines with every flattened line cut into a report's lines; the rows that would not split."""
    out: list[Line] = []
    ambiguities: list[Ambiguity] = []
    probe = max(reg.FORMATS.values(), key=lambda f: f.first_year)
    for line in lines:
        if is_flattened(line, probe):
            # The format whose labels the line holds more of (its 二 differs between formats).
            fmt = max(reg.FORMATS.values(), key=lambda f: len(_find(line.text, f)))
            cut, found = _cut(line.text, fmt)
            out += cut
            ambiguities += found
        else:
            out.append(line)
    return out, ambiguities


def _find(text: str, fmt: Format) -> list[tuple[int, int, _Anchor]]:
    """Anchors found in order: each searched after the previous one found; a missing one is skipped."""
    found: list[tuple[int, int, _Anchor]] = []
    position = 0
    items = anchors(fmt)
    # Where each section begins bounds the search of the anchors under it.
    bounds: dict[str, int] = {}
    for anchor in items:
        if anchor.kind == "section":
            match = (anchor.strict.search(text, position) if anchor.strict else None) or anchor.pattern.search(
                text, position
            )
            if match:
                bounds[anchor.section] = match.start()
                position = match.end()
    position = 0
    current_end = len(text)
    section_order = [a.section for a in items if a.kind == "section"]
    for anchor in items:
        if anchor.kind == "section":
            start = bounds.get(anchor.section)
            if start is None or start < position:
                continue
            later = [bounds[s] for s in section_order[section_order.index(anchor.section) + 1 :] if s in bounds]
            current_end = min(later) if later else len(text)
            match = (anchor.strict.match(text, start) if anchor.strict else None) or anchor.pattern.match(text, start)
            found.append((match.start(), match.end(), anchor))
            position = match.end()
            continue
        window = WINDOWS[anchor.kind]
        if anchor.kind == "header" and found and found[-1][2].kind == "section":
            window *= 5  # words between a heading and its table's first caption
        match = anchor.pattern.search(text, position, min(current_end, position + window))
        if match is None:
            continue
        found.append((match.start(), match.end(), anchor))
        position = match.end()
    return found


def _cut(text: str, fmt: Format) -> tuple[list[Line], list[Ambiguity]]:
    found = _find(text, fmt)
    lines: list[Line] = []
    ambiguities: list[Ambiguity] = []
    where = "压成一行的文字"

    def add(cells: list[str | None], table: bool, heading: int = 0) -> None:
        lines.append(Line(cells, table=table, heading=heading, row=next(_row_ids), where=where))

    head = text[: found[0][0]] if found else text
    title = _TITLE.match(head)
    if title:
        add([title.group(1).strip()], False, heading=1)
        head = head[title.end() :]
    if head.strip():
        _add_prose(head, add)
    for n, (start, end, anchor) in enumerate(found):
        rest_end = found[n + 1][0] if n + 1 < len(found) else len(text)
        label = text[start:end].strip()
        rest = text[end:rest_end]
        following = found[n + 1][2] if n + 1 < len(found) else None
        if anchor.kind == "section":
            add([label], False, heading=2)
            if anchor.section in ("overview", "problems", "other_matters"):
                _add_prose(rest, add)
            elif rest.strip() and anchor.section != "reviews":
                add([rest.strip()], True)
            continue
        if anchor.kind == "header":
            add([label], True)
            if rest.strip():
                add([rest.strip()], True)
            continue
        cells, ambiguity = _row_cells(anchor, rest, following)
        if ambiguity is not None:
            ambiguities.append(ambiguity)
        add(([label] if label else []) + cells, True)
    return lines, ambiguities


def _row_cells(anchor: _Anchor, rest: str, following: _Anchor | None) -> tuple[list[str], Ambiguity | None]:
    pieces = _values(rest)
    cells = len(anchor.refs)
    kinds = [read_cell(p).kind for p in pieces]
    if Kind.TEXT in kinds:
        # 03211/7: digits run into a mark or a word; no constraint can be checked across it.
        return [], Ambiguity(anchor.refs, " ".join(pieces), ())
    if len(pieces) == cells or any(k != Kind.NUMBER or not p.isdigit() for k, p in zip(kinds, pieces, strict=True)):
        return pieces, None  # printed apart (or as marks and decimals): the reader places them
    runs = [pieces]
    tail = following.tail if following is not None else ""
    if tail and pieces and pieces[-1].endswith(tail):
        # A numbered row label printed without its dot: the 2 may be the end of this row's run or its numbering.
        shorter = pieces[:-1] + ([pieces[-1][: -len(tail)]] if pieces[-1] != tail else [])
        runs.append(shorter)
    candidates: list[tuple[int, ...]] = []
    for run in runs:
        for found in split_candidates(run, cells, anchor.block) or []:
            if found not in candidates:
                candidates.append(found)
    if len(candidates) == 1:
        return [str(v) for v in candidates[0]], None
    return [], Ambiguity(anchor.refs, " ".join(pieces), tuple(candidates))


_PROSE_CUT = re.compile(r"(?=[（(][一二三四五六七八九十]{1,2}[）)])")
_TITLE = re.compile(r"^\s*([^。，,；;：:]{2,60}?(?:19|20)\d{2}\s*年[^。，,；;：:]{0,30}?报告)")
# The 落款 at the very end: an office's name after the last sentence, then the date.
_CLOSING = re.compile(
    r"(?:(?<=[。！？；;.!?\s])|^)\s*([^。！？；;，,：:\s][^。！？；;，,：:]{1,38}?)?\s*"
    r"((?:19|20)\d{2}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日)\s*$"
)


def _add_prose(text: str, add) -> None:
    """Narrative text: one paragraph per （一）-numbered part, so its subheadings are found."""
    closing = _CLOSING.search(text)
    tail: list[str] = []
    if closing:
        text = text[: closing.start()]
        tail = [g.strip() for g in closing.groups() if g and g.strip()]
    for piece in _PROSE_CUT.split(text):
        if piece.strip():
            add([piece.strip()], False)
    for piece in tail:
        add([piece], False)


def narrow_by_columns(fmt: Format, cells: dict, ambiguity: Ambiguity) -> tuple[int, ...] | None:
    """The one candidate of a table-三 row that the columns' own sums allow, if exactly one.

    Each column must balance: （七）总计 is the sum of the outcome rows, and 新收 + 结转 =
    总计 + 结转下年. A column whose other cells are all known fixes this row's cell; the
    derivations must agree, every cell of the row must be fixed, and then the one
    candidate equal to them is taken.
    """
    if not ambiguity.candidates or not ambiguity.refs[0].startswith("applications."):
        return None
    if len(ambiguity.candidates) > MAX_CANDIDATES:
        return None  # the list was cut short: another split might fit as well
    row = ambiguity.refs[0].split(".")[1]
    outcome = [r.code for r in fmt.outcome_rows]
    fixed: dict[int, int] = {}
    for index, col in enumerate(fmt.applications_columns):

        def value(code: str, col: str = col.code) -> int | None:
            return cells.get(f"applications.{code}.{col}")

        derived: set[int] = set()
        if row in outcome:
            others = [value(r) for r in outcome if r != row]
            if value("outcome_total") is not None and None not in others:
                derived.add(value("outcome_total") - sum(others))
        balance = ["new_received", "carried_over", "outcome_total", "carried_forward"]
        if row in balance:
            known = {r: value(r) for r in balance if r != row}
            if None not in known.values():
                signs = {"new_received": 1, "carried_over": 1, "outcome_total": -1, "carried_forward": -1}
                rest = sum(signs[r] * v for r, v in known.items())
                derived.add(-rest * signs[row])
        if row == "outcome_total":
            parts = [value(r) for r in outcome]
            if None not in parts:
                derived.add(sum(parts))
        if len(derived) > 1:
            return None  # the printed column does not balance: it fixes nothing
        if derived:
            fixed[index] = derived.pop()
    if len(fixed) < len(fmt.applications_columns):
        # Every cell must be fixed: a candidate matching a few columns could do so by chance
        # where the printed table misprints another.
        return None
    fits = [c for c in ambiguity.candidates if all(c[i] == v for i, v in fixed.items())]
    return fits[0] if len(fits) == 1 else None
