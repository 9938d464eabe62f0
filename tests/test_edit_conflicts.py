"""Edits decided per cell (issue 12, ADR 0010): compare-and-set against each edit's base,
the change feed, presence, no unversioned save, hostile values, narrative length limits."""

import json

import pytest
from django.urls import reverse

from disclosure.formats.common import NARRATIVE_PART_MAX_CHARS, NARRATIVE_REPORT_MAX_CHARS, narrative_length_errors
from disclosure.models import AuditEvent, Organization, Report
from disclosure.selectors import export_report
from disclosure.services import editing, import_document, save_edits
from disclosure.text import BAD_TEXT_MESSAGE

from .factories import balanced_document
from .test_workspace import make_clerk, save, shown

pytestmark = pytest.mark.django_db
YEAR = 2021
CELL = "applications.granted.natural_person"
OTHER = "applications.granted.research"
THIRD = "reviews.reconsideration.upheld"


@pytest.fixture
def office():
    return Organization.objects.create(name="测试局", code="test-org", kind="department")


@pytest.fixture
def report(office) -> Report:
    return import_document(balanced_document("2021", year=YEAR)).report


@pytest.fixture
def owner(office):
    return make_clerk("owner", office)


@pytest.fixture
def member(office):
    return make_clerk("member", office)


def stored(report: Report, ref: str):
    return editing.edit_values(export_report(Report.objects.get(pk=report.pk)), report)[ref]


def step_url(step: str = "applications") -> str:
    return reverse("workspace:step", args=["test-org", YEAR, step])


def save_url() -> str:
    return reverse("workspace:autosave", args=["test-org", YEAR])


def post_json(client, body) -> "object":
    return client.post(
        save_url(), json.dumps(body) if not isinstance(body, bytes) else body, content_type="application/json"
    )


# -- compare-and-set per cell -----------------------------------------------------------------


def test_it_refuses_a_stale_base_alone_and_saves_the_fresh_cells(report, office):
    loaded = shown(report)
    first = save_edits(report, actor=None, bases=loaded, cells={CELL: "41"})
    assert not first.conflicts

    second = save_edits(report, actor=None, bases=loaded, cells={CELL: "42", OTHER: "5", THIRD: "3"})

    assert set(second.conflicts) == {CELL}
    conflict = second.conflicts[CELL]
    assert (conflict.value, conflict.mine, conflict.by) == ("41", "42", "系统")
    assert stored(report, CELL) == 41
    assert (stored(report, OTHER), stored(report, THIRD)) == (5, 3)
    assert second.report.version == first.report.version + 1


def test_it_saves_against_an_old_version_when_others_changed_other_cells_only(owner, member, report):
    loaded_version, loaded = report.version, shown(report)
    for value in ("1", "2", "3"):  # the report's version moves on, by edits to another cell
        assert save(owner, report, {OTHER: value}).status_code == 200

    response = save(member, report, {CELL: "9"}, version=loaded_version, bases={CELL: loaded[CELL]})

    data = response.json()
    assert response.status_code == 200 and data["conflicts"] == {} and data["values"][CELL] == "9"
    assert stored(report, CELL) == 9 and stored(report, OTHER) == 3
    # The other person's edits come back with the answer, labelled and named.
    assert [(c["ref"], c["by"], c["value"], c["mine"]) for c in data["changes"]] == [(OTHER, "owner", "3", False)]


def test_it_confirms_a_value_the_report_already_holds_whatever_its_base(owner, report):
    """A reload re-sends a pending edit with its original base; if it landed, it is simply saved."""
    before = shown(report)[CELL]
    save(owner, report, {CELL: "77"})
    again = save(owner, report, {CELL: "77"}, bases={CELL: before})
    assert again.json()["conflicts"] == {} and again.json()["values"][CELL] == "77"
    assert AuditEvent.objects.filter(report=report, action="report.saved").count() == 1


def test_it_compares_what_values_mean_not_how_they_were_typed(owner, report):
    now = shown(report)[CELL]
    response = save(owner, report, {CELL: "12"}, bases={CELL: f"{int(now):,}".replace("1", "１")})
    assert response.json()["conflicts"] == {} and stored(report, CELL) == 12


def test_it_refuses_an_edit_without_a_base_or_with_a_version_the_report_never_had(report):
    with pytest.raises(editing.InvalidEdit) as missing:
        save_edits(report, actor=None, cells={CELL: "1"})
    assert missing.value.code == "missing_base" and missing.value.params == {"ref": CELL}
    assert "自然人" in missing.value.message and CELL not in missing.value.message
    with pytest.raises(editing.InvalidEdit) as future:
        save_edits(report, actor=None, expected_version=report.version + 1, cells={CELL: "1"})
    assert future.value.code == "bad_version"
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_fills_only_blank_cells_when_carrying_last_year_over(office, monkeypatch):
    from disclosure.services import create_report, prefill_from_previous

    import_document(balanced_document("2021", year=2025, org_code="test-org"), status=Report.Status.PUBLISHED)
    report = create_report(office, 2026)
    blank = export_report(report)
    # A colleague types into 上年结转 after the prefill read the report, before it wrote.
    save_edits(
        report,
        actor=None,
        bases={"applications.carried_over.research": ""},
        cells={"applications.carried_over.research": "5"},
    )
    reads = iter([blank])
    real = editing.export_report
    monkeypatch.setattr(editing, "export_report", lambda r: next(reads, None) or real(r))

    result = prefill_from_previous(report, actor=None)

    assert set(result.conflicts) == {"applications.carried_over.research"}
    doc = export_report(Report.objects.get(pk=report.pk))
    assert doc["applications"]["carried_over"]["research"] == 5
    assert doc["applications"]["carried_over"]["natural_person"] is not None


# -- the step form and 本年度未收到申请 -------------------------------------------------------------


def test_it_refuses_a_step_post_without_a_valid_version(owner, report):
    for version in (None, "", "abc", "1.5", "-1", str(report.version + 5)):
        data = {CELL: "4", "goto": "reviews"} | ({} if version is None else {"version": version})
        response = owner.post(step_url(), data)
        assert response.status_code == 400, version
        assert "版本" in response.content.decode(), version
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_keeps_a_concurrent_autosave_when_an_old_step_form_is_posted(owner, member, report):
    loaded_version, loaded = report.version, shown(report)
    save(member, report, {CELL: "55"})  # autosaved while the form stood open

    # The whole form comes back: its old value of CELL, and one real edit.
    response = owner.post(step_url(), {"version": loaded_version, CELL: loaded[CELL], OTHER: "8", "goto": "reviews"})

    assert response.status_code == 302
    assert stored(report, CELL) == 55 and stored(report, OTHER) == 8


def test_it_shows_a_posted_step_whose_cell_someone_changed_meanwhile(owner, member, report):
    loaded_version = report.version
    save(member, report, {CELL: "55"})

    response = owner.post(step_url(), {"version": loaded_version, CELL: "66", OTHER: "8", "goto": "reviews"})

    assert response.status_code == 409
    text = response.content.decode()
    assert "member" in text and "“55”" in text and "“66”未保存" in text
    assert report.spec.label_of(CELL) in text
    assert stored(report, CELL) == 55 and stored(report, OTHER) == 8


def test_it_checks_where_a_step_post_goes_before_saving(owner, report):
    response = owner.post(step_url(), {"version": report.version, CELL: "4", "goto": "nowhere"})
    assert response.status_code == 404
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_fills_table_three_with_zeros_except_cells_changed_meanwhile(owner, member, report):
    url = reverse("workspace:no_applications", args=["test-org", YEAR])
    assert owner.post(url).status_code == 400  # no version: nothing done
    assert owner.post(url, {"version": "x"}).status_code == 400
    loaded_version = report.version
    save(member, report, {CELL: "55"})

    response = owner.post(url, {"version": loaded_version}, follow=True)

    apps = export_report(Report.objects.get(pk=report.pk))["applications"]
    assert apps["granted"]["natural_person"] == 55
    assert apps["granted"]["research"] == 0 and apps["new_received"]["natural_person"] == 0
    assert report.spec.label_of(CELL) in response.content.decode()


# -- hostile input ---------------------------------------------------------------------------


def test_it_refuses_text_the_database_cannot_hold(owner, report):
    nul = save(owner, report, {"narrative.problems": "问题\x00"})
    surrogate = post_json(
        owner,
        b'{"version": %d, "step": "problems", "values": {"narrative.problems": "\\ud800"},'
        b' "bases": {"narrative.problems": ""}}' % report.version,
    )
    in_base = save(owner, report, {"narrative.problems": "好"}, bases={"narrative.problems": "\x00"})
    for response in (nul, surrogate, in_base):
        assert response.status_code == 400 and response.json()["message"] == BAD_TEXT_MESSAGE
    posted = owner.post(step_url("problems"), {"version": report.version, "narrative.problems": "坏\x00"})
    assert posted.status_code == 400 and BAD_TEXT_MESSAGE in posted.content.decode()
    assert Report.objects.get(pk=report.pk).version == report.version


@pytest.mark.parametrize("version", ["abc", 1.5, True, None, [1], -1, 10**30, "9" * 40])
def test_it_answers_a_version_that_is_not_a_whole_number_in_chinese(owner, report, version):
    response = post_json(
        owner, {"version": version, "step": "applications", "values": {CELL: "1"}, "bases": {CELL: ""}}
    )
    assert response.status_code == 400 and response.json()["message"] == "版本号须为整数。"


@pytest.mark.parametrize("value", [1, None, ["1"], {"a": "1"}])
def test_it_refuses_values_that_are_not_text(owner, report, value):
    response = post_json(
        owner, {"version": report.version, "step": "applications", "values": {CELL: value}, "bases": {CELL: ""}}
    )
    assert response.status_code == 400 and response.json()["message"] == "每个值都须为文字。"
    assert Report.objects.get(pk=report.pk).version == report.version


def test_it_refuses_edits_without_bases_and_unknown_steps(owner, report):
    no_base = post_json(owner, {"version": report.version, "step": "applications", "values": {CELL: "1"}})
    assert no_base.status_code == 400 and "修改前的值" in no_base.json()["message"]
    unknown = save(owner, report, {CELL: "1"}, step="nowhere")
    assert unknown.status_code == 404 and unknown.json()["message"] == "没有这一步。"
    broken = post_json(owner, b"{not json")
    assert broken.status_code == 400 and broken.json()["message"] == "请求格式不正确。"
    assert Report.objects.get(pk=report.pk).version == report.version


# -- the change feed and presence ---------------------------------------------------------------


def feed(client, since, step="applications"):
    return client.get(save_url(), {"since": since, "step": step})


def test_it_tells_what_changed_since_a_version_with_labels_and_who(owner, member, report):
    since = report.version
    save(member, report, {CELL: "31", "narrative.problems": "新的问题说明，足够二十个字的改进情况说明。"})
    save(owner, report, {OTHER: "4"})

    data = feed(owner, since).json()

    fmt = report.spec
    changes = {c["ref"]: c for c in data["changes"]}
    assert set(changes) == {CELL, OTHER, "narrative.problems"}
    assert changes[CELL]["label"] == fmt.label_of(CELL) and changes[CELL]["by"] == "member"
    assert changes[CELL]["value"] == "31" and changes[CELL]["mine"] is False
    assert changes["narrative.problems"]["label"] == "存在的主要问题及改进情况"
    assert changes[OTHER]["mine"] is True
    assert data["version"] == since + 2 and "findings_html" in data
    assert data["computed"]["applications.granted.total"] == str(stored(report, "applications.granted.total"))
    nothing = feed(owner, data["version"]).json()
    assert nothing["changes"] == [] and "findings_html" not in nothing
    assert feed(owner, "abc").status_code == 400 and feed(owner, "abc").json()["message"] == "版本号须为整数。"
    assert feed(owner, "9" * 40).status_code == 400


def test_it_names_header_fields_by_their_form_names_and_labels(owner, member, report):
    since = report.version
    save(member, report, {"header.title": "新标题"}, step="basic")
    [change] = feed(owner, since, "basic").json()["changes"]
    assert (change["ref"], change["label"], change["value"]) == ("header.title", "标题", "新标题")


def test_it_shows_who_else_has_the_report_open_until_they_stop_polling(owner, member, report, monkeypatch):
    assert feed(owner, report.version).json()["editors"] == []
    feed(member, report.version, "problems")
    assert feed(owner, report.version).json()["editors"] == [{"name": "member", "step": "五、存在的主要问题及改进情况"}]
    assert feed(member, report.version).json()["editors"] == [
        {"name": "owner", "step": "三、收到和处理政府信息公开申请情况"}
    ]

    later = editing.time.time() + editing.PRESENCE_SECONDS + 1
    monkeypatch.setattr(editing.time, "time", lambda: later)
    assert feed(owner, report.version).json()["editors"] == []


def test_it_gives_outsiders_no_feed(report, office):
    outsider = make_clerk("outsider", Organization.objects.create(name="别的局", code="other-org", kind="department"))
    assert feed(outsider, 1).status_code == 404


# -- narrative length -------------------------------------------------------------------------


def test_it_refuses_a_part_over_its_length_limit_and_saves_the_rest(owner, report):
    too_long = "字" * (NARRATIVE_PART_MAX_CHARS + 1)
    before = stored(report, "narrative.problems")

    data = save(owner, report, {"narrative.problems": too_long, CELL: "3"}, step="problems").json()

    assert data["errors"] == {
        "narrative.problems": f"本部分不能超过{NARRATIVE_PART_MAX_CHARS}字，现有{NARRATIVE_PART_MAX_CHARS + 1}字。"
    }
    assert stored(report, "narrative.problems") == before and stored(report, CELL) == 3


def test_it_refuses_parts_that_would_take_the_report_over_its_total(owner, report):
    parts = [p.ref for p in report.spec.narrative if not p.has_amount]
    full = NARRATIVE_REPORT_MAX_CHARS // len(parts) + 1
    data = save(owner, report, {ref: "字" * full for ref in parts}, step="overview").json()
    assert set(data["errors"]) == set(parts)
    assert all(f"合计不能超过{NARRATIVE_REPORT_MAX_CHARS}字" in message for message in data["errors"].values())
    assert stored(report, parts[0]) != "字" * full


def test_it_lists_length_errors_for_importers():
    doc = balanced_document("2021", year=YEAR)
    assert narrative_length_errors(doc) == {}
    doc["narrative"]["problems"] = "字" * (NARRATIVE_PART_MAX_CHARS + 1)
    for key in doc["narrative"]["overview"]:
        doc["narrative"]["overview"][key] = "字" * NARRATIVE_PART_MAX_CHARS
    errors = narrative_length_errors(doc)
    assert (
        errors["narrative.problems"]
        == f"本部分不能超过{NARRATIVE_PART_MAX_CHARS}字，现有{NARRATIVE_PART_MAX_CHARS + 1}字。"
    )
    assert errors["narrative"].startswith(f"全部文字部分合计不能超过{NARRATIVE_REPORT_MAX_CHARS}字")


def test_it_shows_the_length_message_at_the_part_of_a_posted_step(owner, report):
    too_long = "字" * (NARRATIVE_PART_MAX_CHARS + 1)
    response = owner.post(step_url("problems"), {"version": report.version, "narrative.problems": too_long})
    assert response.status_code == 422
    message = f"本部分不能超过{NARRATIVE_PART_MAX_CHARS}字，现有{NARRATIVE_PART_MAX_CHARS + 1}字。"
    assert f'<div class="invalid-feedback d-block">{message}</div>' in response.content.decode()


def test_it_shows_a_header_error_at_its_field(owner, report):
    response = owner.post(step_url("basic"), {"version": report.version, "header.issued_on": "2027-13-45"})
    assert response.status_code == 422
    assert '<div class="invalid-feedback">成文日期格式应为' in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_it_lets_one_of_two_simultaneous_saves_on_one_base_win(office):
    import threading

    from django.db import connection

    report = import_document(balanced_document("2021", year=YEAR)).report
    loaded = shown(report)
    start = threading.Barrier(2)
    results = {}

    def clerk(value):
        try:
            start.wait()
            results[value] = save_edits(report, actor=None, bases=loaded, cells={CELL: value})
        finally:
            connection.close()

    threads = [threading.Thread(target=clerk, args=(value,)) for value in ("61", "62")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [value for value, result in results.items() if not result.conflicts]
    losers = [result.conflicts[CELL] for result in results.values() if result.conflicts]
    assert len(winners) == 1 and len(losers) == 1
    assert stored(report, CELL) == int(winners[0]) and losers[0].value == winners[0]
