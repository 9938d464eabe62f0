"""The district 政务公开办 clerk fills the government's report from its departments' roll-up and submits it."""

from __future__ import annotations

import random

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from disclosure import formats as reg
from disclosure.jurisdiction.rollup import build_rollup
from disclosure.models import AuditEvent, Membership, Organization, Report
from disclosure.selectors import export_report
from disclosure.services.core import import_document

from ..factories import balanced_document

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "gkb-pass-2026"
YEAR = 2025


@pytest.fixture
def district(db):
    city = Organization.objects.create(name="演示市人民政府", code="ys", kind="government")
    district = Organization.objects.create(
        name="甲区人民政府", code="jq", kind="government", parent=city, report_scope="rollup"
    )
    rng = random.Random(15)
    for code, name, status in (("jq-jyj", "甲区教育局", "approved"), ("jq-czj", "甲区财政局", "published")):
        Organization.objects.create(name=name, code=code, kind="department", parent=district)
        import_document(balanced_document("2021", year=YEAR, rng=rng, org_code=code), status=status)
    # The government's report: its texts written, its tables still blank.
    doc = balanced_document("2021", year=YEAR, rng=rng, org_code="jq", kind="government")
    doc["organization"]["name"] = district.name
    doc["title"] = f"甲区人民政府{YEAR}年政府信息公开工作年度报告"
    doc["issued_on"] = f"{YEAR + 1}-03-20"
    fmt = reg.get_format("2021")
    for spec in fmt.cells():
        section = doc[spec.section]
        row = section[spec.subtable][spec.row] if spec.subtable else section[spec.row]
        row[spec.column] = None
    import_document(doc)
    user = get_user_model().objects.create_user("jq-gkb", password=PASSWORD, first_name="区政务公开办 填报人")
    Membership.objects.create(user=user, organization=district, role=Membership.Role.CLERK)
    return district


def test_it_fills_the_government_report_from_the_roll_up_and_submits_it(sign_in, live_server, district, shots):
    fmt = reg.get_format("2021")
    page = sign_in("jq-gkb", PASSWORD, f"/workspace/jq/{YEAR}/applications/")
    expect(page.locator("h2.h5")).to_have_text(fmt.section("applications").title)
    shots(page, "report-blank")

    # 从下级汇总填入 (the step page links here: review:rollup_fill).
    page.goto(f"{live_server.url}/review/rollup/jq/{YEAR}/fill/")
    expect(page.get_by_role("heading", name="从下级汇总填入")).to_be_visible()
    expect(page.locator("#coverage")).to_contain_text("计入2份报告")
    rollup = build_rollup(district, YEAR, lists=False)
    ref = "applications.new_received.natural_person"
    expect(page.locator(f'td[data-ref="{ref}"] .rollup-value')).to_have_text(rollup.display(ref))
    shots(page, "suggestions")
    # Nothing is written until the clerk accepts.
    assert (
        export_report(Report.objects.get(organization=district, year=YEAR))["applications"]["new_received"][
            "natural_person"
        ]
        is None
    )

    for section in ("active_disclosure", "applications", "reviews"):
        page.locator(f'button[data-accept-table="{section}"]').click()
        expect(page.locator(".alert-success")).to_contain_text("已采用")
        expect(page.locator(f'button[data-accept-table="{section}"]')).to_have_count(0)
    shots(page, "accepted")
    report = Report.objects.get(organization=district, year=YEAR)
    stored = export_report(report)
    for spec in fmt.cells():
        section = stored[spec.section]
        row = section[spec.subtable][spec.row] if spec.subtable else section[spec.row]
        assert rollup.display(spec.ref) == ("" if row[spec.column] is None else str(row[spec.column])), spec.ref
    assert AuditEvent.objects.filter(report=report, action="report.rollup_accepted").count() == 3

    page.get_by_role("link", name="返回填报").click()
    page.get_by_role("button", name="提交").first.click()
    page.get_by_role("button", name="提交审核").click()
    expect(page.locator(".alert-success")).to_contain_text("已提交")
    shots(page, "submitted")
    assert Report.objects.get(pk=report.pk).status == Report.Status.SUBMITTED
