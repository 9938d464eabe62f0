"""No code reaches a person (issue 13): what a page shows, and what it says through
tooltips, accessible names and placeholders, carries no internal identifier
(cell references, audit event names, rule keys), no stored status value and no
stray English word. ``codes_shown(page)`` is called on every page of
test_accessibility.py, with the page already open for axe-core; the test here
checks the checker on a page written for it."""

from __future__ import annotations

import re

import pytest

pytestmark = [pytest.mark.browser]

# Stored values and internal names: status and outcome values, dotted keys
# (applications.granted.natural_person, report.saved, header.issued_on).
RAW = re.compile(
    r"\b(?:draft|submitted|returned|approved|published|missing|pending|queued|running|succeeded|failed"
    r"|government|department|rollup|subtree|children|own|implied|error|warning|None|True|False)\b"
    r"|\b[a-z_]+\.[a-z_]+(?:\.[a-z_]+)*\b"
)
# Latin words a Chinese reader does meet: file types and units. Anything else
# in Latin letters is an English word on screen (file names and organization
# codes, which people type themselves, are taken out first).
ALLOWED_LATIN = {"PDF", "Excel", "CSV", "Word", "WPS", "HTML", "MB", "KB", "Tab", "JSON", "ZIP", "TXT", "OFD"}
LATIN = re.compile(r"[A-Za-z][A-Za-z]+")
FILE_NAME = re.compile(r"[^\s“”\"'（）()：:，,]+\.(?:docx|doc|xlsx|xls|pdf|html|htm|txt|md|zip|csv|bak)\b", re.I)
# Named as people meet them elsewhere: a file's checksum, a text encoding, the open data's format.
KNOWN = re.compile(r"SHA-256|\b[0-9a-f]{32,}\b|\b(?:utf-8|gb18030|gbk|gb2312|big5)\b|disclosure-report/\d+", re.I)
FILE_TYPE = re.compile(r"\.(?:docx|doc|xlsx|xls|pdf|html|htm|txt|md|zip|csv)\b", re.I)

# The text a person meets: what is rendered, plus the title, accessible names,
# placeholders and alternative texts of the elements that are not hidden.
SHOWN_TEXT = """() => {
    const parts = [document.title, document.body.innerText];
    for (const el of document.querySelectorAll("[title], [aria-label], [placeholder], img[alt], svg title")) {
        if (el.closest("[hidden], template, script, style")) continue;
        for (const name of ["title", "aria-label", "placeholder", "alt"]) {
            const value = el.getAttribute(name);
            if (value) parts.push(value);
        }
        if (el.tagName.toLowerCase() === "title") parts.push(el.textContent);
    }
    return parts.join("\\n");
}"""


def shown_text(page) -> str:
    return page.evaluate(SHOWN_TEXT)


def codes_in(text: str, names: tuple[str, ...] = ()) -> list[str]:
    """Codes and English words in ``text``; ``names`` are user-given words to leave out (organization codes)."""
    text = FILE_NAME.sub(" ", KNOWN.sub(" ", text))
    found = RAW.findall(text)
    rest = RAW.sub(" ", FILE_TYPE.sub(" ", text))
    for name in sorted(names, key=len, reverse=True):
        rest = re.sub(rf"(?<![\w-]){re.escape(name)}(?![\w-])", " ", rest)
    found += [w for w in LATIN.findall(rest) if w not in ALLOWED_LATIN and w not in found]
    return found


def codes_shown(page, names: tuple[str, ...] = ()) -> list[str]:
    """Codes and English words a person meets on the page as shown now."""
    return codes_in(shown_text(page), names)


def assert_reads_in_chinese(page, what: str = "", names: tuple[str, ...] = ()) -> None:
    found = codes_shown(page, names)
    if found:
        text = shown_text(page)
        context = []
        for word in dict.fromkeys(found):
            at = text.find(word)
            context.append(f"  {word!r}: …{' '.join(text[max(0, at - 30) : at + 40].split())}…")
        pytest.fail(f"code or English on {what or page.url}:\n" + "\n".join(context), pytrace=False)


SAMPLE = """<!doctype html><html lang="zh-CN"><head><title>{title}</title></head><body><main>
<h1>测试局2021年度报告</h1><p>{shown}</p>
<p hidden>applications.hidden.cell</p><script>var s = "report.saved";</script>
<a href="/x/?status=draft" data-ref="applications.granted.total">下载 PDF</a>
<p>附件：年报.docx，导出Excel、CSV，上限 20 MB；机关代码 test-org；编码 utf-8</p>
<p>PDF SHA-256：b9ea453ae6f6a79c262a8860dcb07530ba258867a37513747e0946685d122710</p>
<button title="{tooltip}">保存</button></main></body></html>"""


@pytest.mark.parametrize(
    ("title", "shown", "tooltip", "found"),
    [
        ("年度报告", "状态：草稿", "保存草稿", []),
        ("年度报告", "状态：draft", "保存草稿", ["draft"]),
        ("年度报告", "位置：applications.granted.natural_person", "保存", ["applications.granted.natural_person"]),
        ("年度报告", "操作：report.saved", "保存", ["report.saved"]),
        ("年度报告", "规则 header.issued_on 未通过", "保存", ["header.issued_on"]),
        ("Report", "状态：草稿", "保存", ["Report"]),
        ("年度报告", "状态：草稿", "Save draft", ["Save", "draft"]),
        ("年度报告", "结果：Unknown", "保存", ["Unknown"]),
    ],
)
def test_it_finds_codes_and_english_a_person_would_read(title, shown, tooltip, found, new_page):
    page = new_page()
    page.set_content(SAMPLE.format(title=title, shown=shown, tooltip=tooltip))
    assert sorted(codes_shown(page, names=("test-org",))) == sorted(found)
