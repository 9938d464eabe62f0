"""Label matching built from the format registry.

Published reports print the statutory labels with many small variations:
full- or half-width brackets and punctuation, ``1、`` for ``1.``, spaces
inside labels, a missing ``行政``, a lost or wrong numbering prefix, labels
cut in two by a page break, misprinted characters. Nothing here types a
statutory label: every label comes from ``disclosure.formats`` and is turned
into match keys by the normalisation below.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from difflib import SequenceMatcher

CN_DIGITS = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN = "一二三四五六七八九十"
# After NFKC: "(一)", "一、", "一.", "四)" (garbled), "1.", "1、", "(1)", "1)".
NUMBERING = re.compile(rf"^\s*(?:\(\s*([{_CN}]+|\d+)\s*\)|([{_CN}]+)\s*[、.)]|(\d+)\s*[.、)](?!\d))\s*")
_NON_WORD = re.compile(r"[\W_]+")
_MARKUP = re.compile(r"\*\*|__|^#+\s*|`")
# The word that real reports most often drop from a statutory label.
OPTIONAL_WORD = "行政"


def cn_number(text: str) -> int | None:
    """一 → 1, 十二 → 12, 二十 → 20; None for anything else."""
    if not text:
        return None
    if text.isdigit():
        return int(text)
    if all(ch in CN_DIGITS for ch in text):
        value = 0
        for ch in text:
            value = value * 10 + CN_DIGITS[ch]
        return value
    if "十" in text:
        tens, _, units = text.partition("十")
        high = CN_DIGITS.get(tens, 0) if tens else 1
        low = CN_DIGITS.get(units, 0) if units else 0
        if (tens and tens not in CN_DIGITS) or (units and units not in CN_DIGITS):
            return None
        return high * 10 + low
    return None


def normalize(text: str) -> str:
    """NFKC (full-width → half-width), no markdown markers, no whitespace; ``1、`` → ``1.``."""
    text = unicodedata.normalize("NFKC", str(text))
    text = _MARKUP.sub("", text.strip())
    text = re.sub(r"\s+", "", text)
    return re.sub(r"(?<=\d)、", ".", text)


def key(text: str) -> str:
    """Letters, digits and ideographs only: the comparable heart of a label."""
    return _NON_WORD.sub("", normalize(text))


def split_numbering(text: str) -> tuple[int | None, str]:
    """("(三)不予公开") → (3, "不予公开"): the numbering prefix as a number, and the rest."""
    norm = unicodedata.normalize("NFKC", str(text)).strip()
    norm = _MARKUP.sub("", norm).strip()
    match = NUMBERING.match(norm)
    if not match and norm[:1] in "([":
        # A stray bracket left by a cell split across lines: "( 1. 本机关不…".
        match = NUMBERING.match(norm[1:])
        if match:
            norm = norm[1:]
    if not match:
        return None, norm
    number = cn_number(next(g for g in match.groups() if g))
    return number, norm[match.end() :]


def paren_numbered(text: str) -> bool:
    """Second-level numbering like （一） or (1): never a section title."""
    norm = unicodedata.normalize("NFKC", str(text)).strip()
    return bool(re.match(r"^\(\s*[\d一二三四五六七八九十]+\s*\)", _MARKUP.sub("", norm).strip()))


def ratio(a: str, b: str) -> float:
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Label:
    """A registry label prepared for matching."""

    text: str
    number: int | None
    core: str
    aliases: frozenset[str]

    @classmethod
    def of(cls, text: str) -> Label:
        number, rest = split_numbering(text)
        core = key(rest)
        aliases = {core}
        if OPTIONAL_WORD in core and len(core.replace(OPTIONAL_WORD, "")) >= 2:
            aliases.add(core.replace(OPTIONAL_WORD, ""))
        return cls(text=text, number=number, core=core, aliases=frozenset(aliases))


@dataclass(frozen=True)
class Printed:
    """A printed text prepared for matching against labels."""

    text: str
    number: int | None
    core: str

    @classmethod
    def of(cls, text: str) -> Printed:
        number, rest = split_numbering(text)
        return cls(text=text, number=number, core=key(rest))

    @property
    def variants(self) -> set[str]:
        out = {self.core}
        if OPTIONAL_WORD in self.core:
            out.add(self.core.replace(OPTIONAL_WORD, ""))
        return out


# Scores: 1.0 exact; lower for each kind of tolerated damage. A match needs
# at least MATCH_THRESHOLD; short cores (规章, 其他, 总计) only match exactly so
# that a column header never passes for a row.
MATCH_THRESHOLD = 0.6
MIN_FUZZY = 4


def score(printed: Printed, label: Label) -> float:
    core, number = printed.core, printed.number
    if not core or not label.core:
        return 0.0
    numbering_ok = number is None or label.number is None or number == label.number
    long_enough = len(core) >= MIN_FUZZY
    if core == label.core:
        if number == label.number:
            return 1.0
        if not long_enough:
            return 0.0
        if number is None:
            return 0.9  # the numbering was lost (split into its own cell, or never printed)
        if label.number is None:
            return 0.8
        return 0.6  # misnumbered
    if not numbering_ok:
        return 0.0
    if printed.variants & label.aliases:
        return 0.85  # a missing 行政
    if long_enough and (label.core.startswith(core) or label.core.endswith(core)):
        return 0.7  # a fragment of a label cut by a page break
    if len(label.core) >= MIN_FUZZY and label.core in core:
        return 0.75  # the label with extra words, e.g. a unit note
    if long_enough and len(label.core) >= MIN_FUZZY:
        r = ratio(core, label.core)
        if r >= 0.8:
            return 0.8 * r  # a misprinted character
    return 0.0


def best(printed: Printed, labels: list[tuple[Label, object]]) -> tuple[float, object | None]:
    """The best-scoring (label, payload); earlier entries win ties."""
    top, found = 0.0, None
    for label, payload in labels:
        s = score(printed, label)
        if s > top:
            top, found = s, payload
    return (top, found) if top >= MATCH_THRESHOLD else (0.0, None)


def align(printed: list[str], expected: list[str], minimum: float = 0.45) -> list[int | None]:
    """Align printed header labels with the expected ones, in order.

    Returns, for every printed label, the index of the expected label it
    stands for (or None). A dynamic programme maximises the total similarity,
    so a missing column or a garbled header (尚未结果 for 尚未审结) is placed
    by its neighbours rather than guessed alone.
    """
    keys_p = [key(split_numbering(p)[1]) for p in printed]
    keys_e = [key(split_numbering(e)[1]) for e in expected]

    def sim(i: int, j: int) -> float:
        a, b = keys_p[i], keys_e[j]
        if a == b:
            return 1.0
        s = ratio(a, b)
        return s if s >= minimum else -1.0

    n, m = len(printed), len(expected)
    table = [[0.0] * (m + 1) for _ in range(n + 1)]
    move = [[""] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        move[i][0] = "up"
    for j in range(1, m + 1):
        move[0][j] = "left"
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = [(table[i - 1][j], "up"), (table[i][j - 1], "left")]
            s = sim(i - 1, j - 1)
            if s > 0:
                options.append((table[i - 1][j - 1] + s, "diag"))
            table[i][j], move[i][j] = max(options, key=lambda o: (o[0], o[1] == "diag"))
    result: list[int | None] = [None] * n
    i, j = n, m
    while i > 0 and j > 0:
        step = move[i][j]
        if step == "diag":
            result[i - 1] = j - 1
            i, j = i - 1, j - 1
        elif step == "up":
            i -= 1
        else:
            j -= 1
    return result
