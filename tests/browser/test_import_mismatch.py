"""Issue 13 item 1 in the browser: 演示区财政局's clerk uploads 文昌湖区招商局's report. The
preview says so at its top and 确认导入 does nothing until the clerk chooses 使用本机关名称;
then the draft carries this office's name. The preview's choices (a split, zeros) are
keyboard-reachable form controls and the page has no serious accessibility violation."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure.models import Membership, Organization, PendingImport, Report
from disclosure.selectors import export_report

from ..factories import balanced_document
from ..test_parse import render_text

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "mismatch-pass-2026"


@pytest.fixture
def clerk(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    office = Organization.objects.create(name="演示区财政局", code="demo-czj", kind="department")
    user = get_user_model().objects.create_user("clerk", password=PASSWORD, first_name="clerk")
    Membership.objects.create(user=user, organization=office, role=Membership.Role.CLERK)
    return user


def test_another_offices_report_needs_use_this_offices_name(sign_in, live_server, clerk, shots, axe, tmp_path):
    doc = balanced_document("2021", year=2021, rng=random.Random(3))
    path = tmp_path / "2021年报.txt"
    path.write_text(render_text(doc, random.Random(3)).replace("测试局", "文昌湖区招商局"), encoding="utf-8")
    page = sign_in("clerk", PASSWORD)
    page.goto(live_server.url + "/workspace/")
    page.get_by_text("从已发布的报告文件导入").click()
    page.locator('input[type="file"][name="file"]').set_input_files(str(path))
    page.get_by_role("button", name="读取并预览").click()  # jobs run eagerly in tests
    pending = PendingImport.objects.get()
    expect(page).to_have_url(f"{live_server.url}/workspace/demo-czj/import/{pending.pk}/", timeout=15000)
    mismatch = page.locator("#mismatch")
    expect(mismatch).to_contain_text("文件署名为“文昌湖区招商局”")
    # At the top: above the preview of the report itself.
    assert mismatch.bounding_box()["y"] < page.locator("#import-preview").bounding_box()["y"]
    shots(page, "mismatch")
    axe(page, "import preview with a mismatch")
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator("#mismatch")).to_be_visible()  # the browser holds the form: a choice is required
    assert not Report.objects.exists()
    page.get_by_label("使用本机关名称").check()
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator(".alert-success")).to_contain_text("已导入2021年度报告")
    report = Report.objects.get()
    assert export_report(report)["organization"]["name"] == "演示区财政局"
    assert export_report(report)["title"].startswith("演示区财政局")


def test_the_clerk_picks_a_split_in_the_preview(sign_in, live_server, clerk, shots, axe, tmp_path):
    from ..test_import_choices import ambiguous_text
    from ..test_parse_real import GRANTED_SPLITS, _balance, _set_row

    doc = balanced_document("2021", rng=random.Random(7))
    _set_row(doc, "applications", "new_received", [217, 1, 0, 0, 0, 0, 218])
    _set_row(doc, "applications", "granted", [1, 0, 3, 0, 12, 12, 28])
    _balance(doc)
    for block in doc["reviews"].values():
        for code in block:
            block[code] = 0
    path = tmp_path / "dump.txt"
    path.write_bytes(ambiguous_text(doc))
    page = sign_in("clerk", PASSWORD)
    page.goto(live_server.url + "/workspace/")
    page.get_by_text("从已发布的报告文件导入").click()
    page.locator('input[type="file"][name="file"]').set_input_files(str(path))
    page.get_by_role("button", name="读取并预览").click()
    splits = page.locator("#splits")
    expect(splits).to_contain_text("表三“（一）予以公开”行")
    shots(page, "splits")
    axe(page, "import preview with a split to choose")
    # By keyboard: focus the blank choice, arrow to the second candidate.
    page.locator("#splits input[type=radio]").first.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    expect(page.locator("#splits input[type=radio]").nth(2)).to_be_checked()
    page.get_by_role("button", name="确认导入").click()
    expect(page.locator(".alert-success")).to_contain_text("已导入")
    granted = export_report(Report.objects.get())["applications"]["granted"]
    assert tuple(granted.values()) == GRANTED_SPLITS[1]
