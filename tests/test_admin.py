"""The admin: the demo jurisdiction, reports with read-only computed cells."""

import pytest
from django.contrib.auth import get_user_model

from disclosure.models import ApplicationRow, AuditEvent, Report
from disclosure.services import import_document

from .factories import balanced_document

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    user = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    client.force_login(user)
    return client


def test_it_lists_the_demo_jurisdiction(admin_client):
    from io import StringIO

    from django.core.management import call_command

    call_command("loaddemo", "--password", "x-demo-pass-1", stdout=StringIO())
    page = admin_client.get("/admin/disclosure/organization/")
    assert page.status_code == 200
    assert "演示区人民政府" in page.text and "老城区商务和工业信息化局" in page.text
    reports = admin_client.get("/admin/disclosure/report/")
    assert "文昌湖区招商局" in reports.text


def test_it_shows_computed_cells_read_only(admin_client):
    report = import_document(balanced_document("2021")).report
    page = admin_client.get(f"/admin/disclosure/report/{report.pk}/change/")
    assert page.status_code == 200
    assert 'name="application_rows-0-natural_person"' in page.text
    assert 'name="application_rows-0-total"' not in page.text
    assert "（七）总计" in page.text


def _change_form_data(admin_client, report) -> dict:
    """What the admin's change form posts back unchanged."""
    page = admin_client.get(f"/admin/disclosure/report/{report.pk}/change/")
    form = page.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None}
    data.update(
        title=report.title,
        organization_name=report.organization_name,
        status=report.status,
        procurement_unit=report.procurement_unit,
        issued_on="",
    )
    for formset in page.context["inline_admin_formsets"]:
        fs = formset.formset
        data.update({f"{fs.prefix}-{k}": v for k, v in fs.management_form.initial.items()})
        for i, f in enumerate(fs.forms):
            for name in f.fields:
                value = f.initial.get(name)
                if name == "id":
                    value = f.instance.pk
                if name == "report":
                    value = report.pk
                data[f"{fs.prefix}-{i}-{name}"] = "" if value is None else value
    return data


def test_it_rederives_totals_and_audits_an_admin_edit(admin_client):
    report = import_document(balanced_document("2021")).report
    page = admin_client.get(f"/admin/disclosure/report/{report.pk}/change/")
    data = _change_form_data(admin_client, report)
    granted_index = next(
        i for i, f in enumerate(page.context["inline_admin_formsets"][2].formset.forms) if f.instance.row == "granted"
    )
    before = ApplicationRow.objects.get(report=report, row="granted")
    data[f"application_rows-{granted_index}-natural_person"] = before.natural_person + 4

    response = admin_client.post(f"/admin/disclosure/report/{report.pk}/change/", data)

    assert response.status_code == 302, response.context and response.context["errors"]
    after = ApplicationRow.objects.get(report=report, row="granted")
    assert after.natural_person == before.natural_person + 4
    assert after.total == before.total + 4
    outcome = ApplicationRow.objects.get(report=report, row="outcome_total")
    assert outcome.natural_person == sum(
        r.natural_person
        for r in ApplicationRow.objects.filter(report=report).exclude(
            row__in=["new_received", "carried_over", "outcome_total", "carried_forward"]
        )
    )
    event = AuditEvent.objects.get(action="report.admin_edited")
    assert event.data["changes"]["applications.granted.natural_person"] == [
        before.natural_person,
        before.natural_person + 4,
    ]
    assert Report.objects.get(pk=report.pk).version == report.version + 1


def test_it_creates_a_report_with_its_rows_from_the_admin(admin_client, department):
    response = admin_client.post("/admin/disclosure/report/add/", {"organization": department.pk, "year": 2021})
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.format == "2021" and report.application_rows.count() == 25


@pytest.mark.parametrize("status", ["submitted", "approved", "published"])
def test_it_keeps_report_content_read_only_in_the_admin_outside_drafts(admin_client, status):
    """An approved report edited in the admin stayed approved and was published unreviewed."""
    report = import_document(balanced_document("2021")).report
    data = _change_form_data(admin_client, report)
    page = admin_client.get(f"/admin/disclosure/report/{report.pk}/change/")
    granted = next(
        i for i, f in enumerate(page.context["inline_admin_formsets"][2].formset.forms) if f.instance.row == "granted"
    )
    data[f"application_rows-{granted}-natural_person"] = int(data[f"application_rows-{granted}-natural_person"]) + 4
    data["title"] = "管理员改过的标题"
    Report.objects.filter(pk=report.pk).update(status=status)
    before = Report.objects.get(pk=report.pk)

    page = admin_client.get(f"/admin/disclosure/report/{report.pk}/change/")
    assert 'name="application_rows-0-natural_person"' not in page.text and 'name="title"' not in page.text
    assert "只读" in page.text
    response = admin_client.post(f"/admin/disclosure/report/{report.pk}/change/", data)

    assert response.status_code == 302
    after = Report.objects.get(pk=report.pk)
    assert (after.status, after.version, after.title) == (status, before.version, before.title)
    assert (
        ApplicationRow.objects.get(report=report, row="granted").natural_person
        == int(data[f"application_rows-{granted}-natural_person"]) - 4
    )
    assert not AuditEvent.objects.filter(action="report.admin_edited").exists()


def test_it_refuses_an_admin_edit_service_call_on_a_submitted_report(admin_client):
    from disclosure.selectors import export_report
    from disclosure.services import NotEditable, finish_admin_edit

    report = import_document(balanced_document("2021")).report
    Report.objects.filter(pk=report.pk).update(status="approved")
    with pytest.raises(NotEditable):
        finish_admin_edit(report, export_report(report), actor=None)
    assert not AuditEvent.objects.filter(action="report.admin_edited").exists()


@pytest.mark.django_db
def test_it_shows_jobs_to_admins_without_letting_them_change_one(admin_client):
    from disclosure.models import Job

    job = Job.objects.create(kind=Job.Kind.MAIL, status=Job.Status.FAILED, error="邮件服务器无响应")
    listing = admin_client.get("/admin/disclosure/job/?status=failed")
    assert listing.status_code == 200 and "邮件服务器无响应" in listing.text
    page = admin_client.get(f"/admin/disclosure/job/{job.pk}/change/")
    assert page.status_code == 200 and 'name="_save"' not in page.text
    assert admin_client.post(f"/admin/disclosure/job/{job.pk}/delete/", {"post": "yes"}).status_code == 403
    assert Job.objects.filter(pk=job.pk).exists()


@pytest.mark.parametrize("status, deletable", [("draft", True), ("submitted", False), ("approved", False)])
def test_it_lets_the_admin_delete_only_a_draft_report(admin_client, status, deletable):
    report = import_document(balanced_document("2021")).report
    Report.objects.filter(pk=report.pk).update(status=status)
    response = admin_client.post(f"/admin/disclosure/report/{report.pk}/delete/", {"post": "yes"})
    assert response.status_code == (302 if deletable else 403)
    assert Report.objects.filter(pk=report.pk).exists() is not deletable
