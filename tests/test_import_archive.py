"""import_archive: a folder or zip of published reports, matched to organizations and imported once."""

from __future__ import annotations

import io
import random
import re
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command

from disclosure.models import Organization, Report

from .factories import balanced_document
from .test_parse import render_text
from .test_parse_real import _one_line, page_of

pytestmark = pytest.mark.django_db


def _doc(name: str, year: int, seed: int) -> dict:
    doc = balanced_document("2021", year=year, rng=random.Random(seed))
    doc["organization"]["name"] = name
    doc["title"] = f"{name}{year}年政府信息公开工作年度报告"
    return doc


def _text(doc: dict, seed: int) -> str:
    return render_text(doc, random.Random(seed)).replace("\n测试局\n", "\n" + doc["organization"]["name"] + "\n")


@pytest.fixture
def jurisdiction():
    top = Organization.objects.create(name="某区人民政府", code="mq", kind="government")
    Organization.objects.create(name="某区商务局", code="mq-swj", kind="department", parent=top)
    Organization.objects.create(name="某区教育局", code="mq-jyj", kind="department", parent=top)
    Organization.objects.create(name="别区商务局", code="bq-swj", kind="department")  # outside it
    return top


@pytest.fixture
def archive(tmp_path):
    ambiguous = _doc("某区商务局", 2022, 3)
    for code, value in zip(ambiguous["applications"]["granted"], [1, 0, 3, 0, 12, 12, 28], strict=True):
        ambiguous["applications"]["granted"][code] = value
    flat = _one_line(_text(ambiguous, 3))
    flat = re.sub(r" 1 0 3 0 12 12 28 ", "1030121228", flat)
    assert "1030121228" in flat
    files = {
        "2021/商务局.txt": _text(_doc("某区商务局", 2021, 1), 1).encode("utf-8"),
        "2021/教育局.htm": page_of(_text(_doc("某区教育局", 2021, 2), 2)).encode("gb18030"),
        "2022/商务局-网页文字.txt": flat.encode("utf-8"),
        "2022/扫描件.pdf": b"%PDF-1.4\n garbage",
        "2022/别区商务局.txt": _text(_doc("别区商务局", 2022, 4), 4).encode("utf-8"),
        "2022/jyj.txt": _text(_doc("区教育局", 2022, 5), 5).encode("utf-8"),
        "说明.doc.bak": b"not a report",
    }
    path = tmp_path / "archive.zip"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    path.write_bytes(buffer.getvalue())
    mapping = tmp_path / "map.tsv"
    mapping.write_text("jyj.txt\tmq-jyj\n", encoding="utf-8")
    return path, mapping


def run(*args: str) -> tuple[int, str]:
    out = StringIO()
    try:
        call_command("import_archive", *args, stdout=out)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue()


def _table(output: str) -> list[list[str]]:
    rows = output.split("结果\t文件\t机关\t年度\t处理\t原因\n", 1)[1].splitlines()
    return [r.split("\t") for r in rows if "\t" in r]


def test_it_imports_a_mixed_archive_once_and_reports_each_file(jurisdiction, archive):
    path, mapping = archive
    code, output = run(str(path), "--jurisdiction", "mq", "--mapping", str(mapping), "--drafts")
    assert code == 1  # an unreadable and an unmatched file
    assert "[1/6]" in output and "[6/6]" in output
    table = {row[1]: row for row in _table(output)}
    assert table["2021/商务局.txt"][:5] == ["完整", "2021/商务局.txt", "mq-swj", "2021", "已导入"]
    assert table["2021/教育局.htm"][:5] == ["完整", "2021/教育局.htm", "mq-jyj", "2021", "已导入"]
    assert table["2022/jyj.txt"][:5] == ["完整", "2022/jyj.txt", "mq-jyj", "2022", "已导入"]
    assert table["2022/商务局-网页文字.txt"][0] == "有待确认的数字"
    assert table["2022/扫描件.pdf"][0] == "无法识别"
    assert table["2022/别区商务局.txt"][0] == "未匹配机关" and "别区商务局" in table["2022/别区商务局.txt"][5]
    stored = {(r.organization.code, r.year, r.status) for r in Report.objects.all()}
    assert stored == {
        ("mq-swj", 2021, Report.Status.DRAFT),
        ("mq-jyj", 2021, Report.Status.DRAFT),
        ("mq-jyj", 2022, Report.Status.DRAFT),
        ("mq-swj", 2022, Report.Status.DRAFT),
    }
    versions = {(r.organization.code, r.year): r.version for r in Report.objects.all()}

    code_again, again = run(str(path), "--jurisdiction", "mq", "--mapping", str(mapping), "--drafts")
    assert code_again == code
    second = _table(again)
    assert [r[:4] + r[5:] for r in second] == [r[:4] + r[5:] for r in _table(output)]
    assert {r[4] for r in second if r[0] in ("完整", "有待确认的数字")} == {"已存在，未改变"}
    assert {(r.organization.code, r.year): r.version for r in Report.objects.all()} == versions


def test_it_writes_nothing_in_a_dry_run(jurisdiction, archive):
    path, mapping = archive
    _code, output = run(str(path), "--jurisdiction", "mq", "--dry-run")
    assert "试运行，未写入" in output
    assert not Report.objects.exists()
    # Without the mapping the file that prints only 区教育局 is unmatched.
    assert {row[1]: row[0] for row in _table(output)}["2022/jyj.txt"] == "未匹配机关"


def test_it_imports_as_published_history_by_default(jurisdiction, tmp_path):
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "r.txt").write_text(_text(_doc("某区商务局", 2021, 1), 1), encoding="utf-8")
    code, output = run(str(folder), "--jurisdiction", "mq")
    assert code == 0, output
    report = Report.objects.get()
    assert report.status == Report.Status.PUBLISHED and report.publications.count() == 1
    run(str(folder), "--jurisdiction", "mq")
    assert Report.objects.get().publications.count() == 1
