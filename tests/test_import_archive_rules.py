"""What an archive import may do (issue 14, review): only history is published — a year
before the current report year, written on or before today; the current year comes in
as a draft (never over a report its office is writing), a later year not at all; a
name two offices share is not guessed; and a zip's members are unpacked one at a time,
after the bomb checks have read its directory."""

from __future__ import annotations

import datetime as dt
import io
import os
import tracemalloc
import zipfile
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse

from disclosure.calendar import current_report_year, today
from disclosure.jobs import core
from disclosure.jobs.archive import run_job
from disclosure.jobs.core import JobFailed
from disclosure.models import Job, Organization, Publication, Report
from disclosure.services.core import create_report

from .test_import_archive_job import _doc, _text, _zip, upload

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def report_text(name: str, year: int, issued_on: dt.date | None = None, seed: int = 1) -> bytes:
    text = _text(_doc(name, year, seed), seed)
    if issued_on is not None:  # the 落款's date, where the parser takes 成文日期 from
        assert text.count("2022年1月20日") == 1
        text = text.replace("2022年1月20日", f"{issued_on.year}年{issued_on.month}月{issued_on.day}日")
    return text.encode("utf-8")


def rows_of(job: Job) -> dict[str, dict]:
    return {r["name"]: r for r in job.result["rows"]}


def latest_job() -> Job:
    return Job.objects.filter(kind=Job.Kind.ARCHIVE).order_by("-created_at").first()


# -- 1. only history is published ---------------------------------------------------------------


def test_it_publishes_only_past_years_and_takes_the_current_year_as_a_draft(world):
    now = today()
    current = current_report_year(now)  # 测试局 and 邻局 are departments
    # 邻局 is writing this year's report: the archive's copy must not touch it.
    live = create_report(Organization.objects.get(code="sibling"), current)
    archive = _zip(
        {
            "future.txt": report_text("测试局", current + 3, seed=1),
            "current.txt": report_text("测试局", current, now, seed=2),
            "dated-ahead.txt": report_text("测试局", current - 1, now + dt.timedelta(days=30), seed=3),
            "history.txt": report_text("测试局", current - 2, now - dt.timedelta(days=400), seed=4),
            "sibling-current.txt": report_text("邻局", current, now, seed=5),
        }
    )
    client = world.client("parent_supervisor")
    response = upload(client, archive)
    job = latest_job()
    assert job.status == Job.Status.SUCCEEDED, job.error
    rows = rows_of(job)

    assert not Report.objects.filter(year=current + 3).exists()
    assert rows["future.txt"]["action"] == "未导入"
    assert f"不能导入{current + 3}年度的报告：当前填报年度为{current}年" in rows["future.txt"]["reason"]

    stored = {(r.organization.code, r.year): r for r in Report.objects.all()}
    this_year = stored[("test-org", current)]
    assert this_year.status == Report.Status.DRAFT and not this_year.publications.exists()
    assert rows["current.txt"]["action"] == "已导入" and "当前填报年度" in rows["current.txt"]["reason"]

    ahead = stored[("test-org", current - 1)]
    assert ahead.status == Report.Status.DRAFT and not ahead.publications.exists()
    assert "晚于今天" in rows["dated-ahead.txt"]["reason"] and "草稿" in rows["dated-ahead.txt"]["reason"]

    history = stored[("test-org", current - 2)]
    assert history.status == Report.Status.PUBLISHED and history.publications.count() == 1
    assert rows["history.txt"]["reason"] == ""

    live.refresh_from_db()
    assert (live.status, live.version) == (Report.Status.DRAFT, 1)
    assert stored[("sibling", current)].pk == live.pk
    assert rows["sibling-current.txt"]["action"] == "已存在，未改变"
    assert Publication.objects.filter(report__year__gte=current).count() == 0

    shown = client.get(response["Location"]).text
    assert f"当前填报年度为{current}年" in shown and "晚于今天" in shown

    # Re-running changes nothing, and the refusal stands.
    versions = {(r.organization.code, r.year): (r.status, r.version) for r in Report.objects.all()}
    upload(client, archive)
    again = rows_of(latest_job())
    assert again["future.txt"] == rows["future.txt"]
    assert {again[n]["action"] for n in ("current.txt", "dated-ahead.txt", "history.txt")} == {"已存在，未改变"}
    assert {(r.organization.code, r.year): (r.status, r.version) for r in Report.objects.all()} == versions


def test_asking_for_drafts_does_not_let_a_later_year_in(world):
    current = current_report_year(today())
    upload(world.client("parent_supervisor"), _zip({"r.txt": report_text("测试局", current + 1)}), drafts="1")
    assert rows_of(latest_job())["r.txt"]["action"] == "未导入"
    assert not Report.objects.exists()


def test_the_command_applies_the_same_rules(world, tmp_path):
    now = today()
    current = current_report_year(now)
    folder = tmp_path / "reports"
    folder.mkdir()
    (folder / "future.txt").write_bytes(report_text("测试局", current + 1, seed=1))
    (folder / "current.txt").write_bytes(report_text("测试局", current, now, seed=2))
    (folder / "history.txt").write_bytes(report_text("邻局", current - 1, now - dt.timedelta(days=1), seed=3))
    out = StringIO()
    with pytest.raises(SystemExit) as exit_code:
        call_command("import_archive", str(folder), "--jurisdiction", "district-a", stdout=out)
    assert exit_code.value.code == 1  # a file was not imported
    table = {line.split("\t")[1]: line.split("\t") for line in out.getvalue().splitlines() if line.count("\t") == 5}
    assert table["future.txt"][4] == "未导入" and f"当前填报年度为{current}年" in table["future.txt"][5]
    assert table["current.txt"][4] == "已导入" and "草稿" in table["current.txt"][5]
    stored = {(r.organization.code, r.year): r.status for r in Report.objects.all()}
    assert stored == {
        ("test-org", current): Report.Status.DRAFT,
        ("sibling", current - 1): Report.Status.PUBLISHED,
    }


# -- 2. a name two offices share ----------------------------------------------------------------


@pytest.fixture
def namesake(world) -> Organization:
    # A second 测试局 in the same jurisdiction, under 邻局.
    return Organization.objects.create(
        name="测试局", code="test-org-2", kind="department", parent=Organization.objects.get(code="sibling")
    )


def test_a_name_two_offices_share_is_left_unmatched(world, namesake):
    upload(world.client("parent_supervisor"), _zip({"r.txt": report_text("测试局", 2021)}))
    row = rows_of(latest_job())["r.txt"]
    assert row["outcome"] == "unmatched" and row["organization"] == ""
    assert "多个机关同名" in row["reason"] and "请在对照文件中写明代码" in row["reason"]
    assert "test-org、test-org-2" in row["reason"]
    assert not Report.objects.exists()


@pytest.mark.parametrize("mapped", ["r.txt", "测试局"])
def test_the_mapping_names_which_of_the_namesakes(world, namesake, mapped):
    upload(
        world.client("parent_supervisor"), _zip({"r.txt": report_text("测试局", 2021)}), mapping=f"{mapped}\ttest-org-2"
    )
    assert rows_of(latest_job())["r.txt"]["outcome"] == "complete"
    assert [(r.organization.code, r.year) for r in Report.objects.all()] == [("test-org-2", 2021)]


# -- 3. one member at a time --------------------------------------------------------------------

MEMBER = 1024 * 1024


def _held_job(world, monkeypatch, files: dict[str, bytes]) -> Job:
    """A queued archive job (not yet run) for a zip of these files."""
    held = []
    monkeypatch.setattr("disclosure.jobs.core.send", held.append)
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = core.submit(
            Job.Kind.ARCHIVE,
            actor=world.users["parent_supervisor"],
            organization=Organization.objects.get(code="district-a"),
            params={"filename": "历年报告.zip", "files": len(files)},
            input_data=_zip(files),
        )
    assert held == [job]
    return job


def _peak(fn) -> int:
    """The most bytes Python held at once while ``fn`` ran (allocations, not time)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_the_job_unpacks_one_member_at_a_time(world, monkeypatch, settings):
    # Twelve incompressible members of 1 MB (12 MB unpacked, as much compressed): a job that
    # held the zip, or its members together, would hold well over half of it at once.
    # The sandbox sets aside its answer cap for every parse: kept small here, so what is
    # measured is the archive's bytes (a refused file's answer is a few hundred bytes).
    settings.REPORT_PARSE_MAX_OUTPUT_BYTES = 64 * 1024
    count = 12
    job = _held_job(world, monkeypatch, {f"{n:02}.pdf": os.urandom(MEMBER) for n in range(count)})
    result: dict = {}
    peak = _peak(lambda: result.update(run_job(job)))
    assert [r["outcome"] for r in result["rows"]] == ["unreadable"] * count  # every member was read
    assert peak < count * MEMBER / 2, f"{peak / MEMBER:.1f} MB held at once"


def test_the_job_refuses_a_bomb_before_unpacking_it(world, monkeypatch):
    job = _held_job(world, monkeypatch, {"r.txt": b"0" * (30 * MEMBER)})
    failure: list[JobFailed] = []

    def run() -> None:
        with pytest.raises(JobFailed) as exc:
            run_job(job)
        failure.append(exc.value)

    peak = _peak(run)
    assert failure[0].code == "zip_bomb"
    assert peak < MEMBER, f"{peak / MEMBER:.1f} MB held: the bomb was unpacked"
    job.refresh_from_db()
    assert not job.input_file


def test_the_command_refuses_a_bomb_and_reads_a_zip_from_its_file(world, tmp_path):
    from django.core.management.base import CommandError

    bomb = tmp_path / "bomb.zip"
    bomb.write_bytes(_zip({"r.txt": b"0" * (30 * MEMBER)}))
    with pytest.raises(CommandError, match="压缩炸弹"):
        call_command("import_archive", str(bomb), "--jurisdiction", "district-a", stdout=StringIO())
    archive = tmp_path / "archive.zip"
    archive.write_bytes(_zip({"a/r.txt": report_text("测试局", 2021)}))
    call_command("import_archive", str(archive), "--jurisdiction", "district-a", stdout=StringIO())
    assert [(r.organization.code, r.year, r.status) for r in Report.objects.all()] == [
        ("test-org", 2021, Report.Status.PUBLISHED)
    ]


def test_the_upload_lists_names_without_unpacking(world):
    # A member whose bytes were damaged after zipping (its CRC no longer matches) cannot be
    # unpacked: the request still queues the zip, because it only reads the directory; the
    # job then reports that member as unreadable, one row, and imports the rest.
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as z:
        z.writestr("a/r.txt", report_text("测试局", 2021))
        z.writestr("b/damaged.txt", b"y" * 5000)
    data = bytearray(buffer.getvalue())
    data[data.index(b"y" * 5000) + 100] = ord("z")
    client = world.client("parent_supervisor")
    response = upload(client, bytes(data))
    job = latest_job()
    assert response["Location"] == reverse("review:archive_job", args=["district-a", job.pk])
    assert job.params["files"] == 2 and job.status == Job.Status.SUCCEEDED, job.error
    rows = rows_of(job)
    assert rows["b/damaged.txt"]["outcome"] == "unreadable" and "已损坏" in rows["b/damaged.txt"]["reason"]
    assert rows["a/r.txt"]["action"] == "已导入"


# -- 4. members zipfile cannot read, and a mapping that names no office -----------------------


def _patched(files: dict[str, bytes], victim: str, *, flag: int = 0, method: int | None = None) -> bytes:
    """A zip whose central directory says ``victim`` is encrypted (flag bit 0) or packed by
    another method: what government archives hold, and what zipfile refuses to read."""
    data = bytearray(_zip(files))
    at = 0
    while (at := data.find(b"PK\x01\x02", at)) != -1:
        length = int.from_bytes(data[at + 28 : at + 30], "little")
        if data[at + 46 : at + 46 + length].decode() == victim:
            data[at + 8 : at + 10] = (int.from_bytes(data[at + 8 : at + 10], "little") | flag).to_bytes(2, "little")
            if method is not None:
                data[at + 10 : at + 12] = method.to_bytes(2, "little")
        at += 4
    return bytes(data)


@pytest.mark.parametrize("flag, method, words", [(1, None, "已加密"), (0, 9, "压缩方式不受支持")])
def test_a_member_zipfile_cannot_read_is_one_unreadable_row(world, flag, method, words):
    files = {"good.txt": report_text("测试局", 2021), "bad.txt": report_text("邻局", 2021, seed=2)}
    upload(world.client("parent_supervisor"), _patched(files, "bad.txt", flag=flag, method=method))
    job = latest_job()
    assert job.status == Job.Status.SUCCEEDED
    rows = rows_of(job)
    assert rows["bad.txt"]["outcome"] == "unreadable" and words in rows["bad.txt"]["reason"]
    assert rows["good.txt"]["outcome"] == "complete"
    assert [r.organization.code for r in Report.objects.all()] == ["test-org"]


def test_a_mapping_to_a_code_outside_the_jurisdiction_is_not_replaced_by_the_printed_name(world):
    upload(
        world.client("parent_supervisor"),
        _zip({"r.txt": report_text("测试局", 2021)}),
        mapping="r.txt\tno-such-code",
    )
    row = rows_of(latest_job())["r.txt"]
    assert row["outcome"] == "unmatched" and "no-such-code" in row["reason"]
    assert not Report.objects.exists()
