"""Passwords: change, reset by e-mail, and the forced change of a password an admin set (issue 12 item 9)."""

from __future__ import annotations

import json
import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.test import Client

from accounts.models import PasswordChangeRequired
from disclosure.models import AuditEvent, Job

pytestmark = pytest.mark.django_db

OLD, NEW = "old-password-123", "brand-new-pass-456"


@pytest.fixture
def clerk():
    return get_user_model().objects.create_user("czj-clerk", email="clerk@example.org", password=OLD)


@pytest.fixture
def admin_client():
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    client = Client()
    client.force_login(admin)
    return client


def test_it_lets_a_signed_in_user_change_their_password_from_the_header(clerk):
    client = Client()
    client.force_login(clerk)
    page = client.get("/workspace/")
    assert 'href="/accounts/password_change/"' in page.text and "修改密码" in page.text
    form = client.get("/accounts/password_change/")
    assert form.status_code == 200 and "修改密码" in form.text
    same = client.post("/accounts/password_change/", {"old_password": OLD, "new_password1": OLD, "new_password2": OLD})
    assert same.status_code == 200 and "不能与原密码相同" in same.text
    done = client.post(
        "/accounts/password_change/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW}, follow=True
    )
    assert "密码已修改" in done.text
    clerk.refresh_from_db()
    assert clerk.check_password(NEW)
    assert AuditEvent.objects.filter(action="account.password_change", actor=clerk).exists()


def test_it_resets_a_forgotten_password_by_chinese_e_mail(clerk, settings, django_capture_on_commit_callbacks):
    settings.SITE_URL = "https://reports.example.gov.cn"
    client = Client()
    assert "忘记密码" in client.get("/accounts/login/").text
    with django_capture_on_commit_callbacks(execute=True) as queued:
        response = client.post("/accounts/password_reset/", {"email": "clerk@example.org"}, follow=True)
        # The request answered before any mail was sent: the mail is a job.
        assert len(mail.outbox) == 0
    assert "请查收电子邮件" in response.text
    assert queued and len(mail.outbox) == 1
    # The link is a secret: the job keeps who was written to, not the message.
    job = Job.objects.get(kind=Job.Kind.MAIL)
    assert job.status == Job.Status.SUCCEEDED and "重设" not in json.dumps(job.result, ensure_ascii=False)
    message = mail.outbox[0]
    assert message.to == ["clerk@example.org"] and "重设密码" in message.subject
    link = re.search(r"https://reports\.example\.gov\.cn(/accounts/reset/\S+/)", message.body).group(1)
    form = client.get(link, follow=True)
    assert "设置新密码" in form.text
    done = client.post(form.redirect_chain[-1][0], {"new_password1": NEW, "new_password2": NEW}, follow=True)
    assert "密码已重设" in done.text
    clerk.refresh_from_db()
    assert clerk.check_password(NEW)
    # Unknown addresses get the same answer and no mail.
    client.post("/accounts/password_reset/", {"email": "nobody@example.org"})
    assert len(mail.outbox) == 1


def test_it_makes_a_user_change_a_password_an_admin_set(admin_client):
    response = admin_client.post(
        "/admin/auth/user/add/",
        {"username": "new-clerk", "password1": OLD, "password2": OLD, "usable_password": "true"},
    )
    assert response.status_code == 302
    user = get_user_model().objects.get(username="new-clerk")
    assert PasswordChangeRequired.objects.filter(user=user).exists()
    assert AuditEvent.objects.filter(action="account.password_set").exists()

    client = Client()
    assert client.post("/accounts/login/", {"username": "new-clerk", "password": OLD}).status_code == 302
    for url in ("/workspace/", "/review/", "/reports/", "/admin/"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"] == "/accounts/password_change/", url
    assert client.post("/workspace/test-org/2021/save/", {}).status_code == 302
    form = client.get("/accounts/password_change/")
    assert form.status_code == 200 and "请先设置您自己的新密码" in form.text
    client.post("/accounts/password_change/", {"old_password": OLD, "new_password1": NEW, "new_password2": NEW})
    assert not PasswordChangeRequired.objects.filter(user=user).exists()
    assert client.get("/workspace/").status_code == 200


def test_it_flags_a_password_an_admin_sets_on_the_users_page(admin_client, clerk):
    response = admin_client.post(
        f"/admin/auth/user/{clerk.pk}/password/", {"password1": NEW, "password2": NEW, "usable_password": "true"}
    )
    assert response.status_code == 302
    assert PasswordChangeRequired.objects.filter(user=clerk).exists()
    clerk.refresh_from_db()
    client = Client()
    client.force_login(clerk)
    assert client.get("/workspace/")["Location"] == "/accounts/password_change/"


LOCK_NOTICE = re.compile(r"同一账号连续(\d+)次登录失败后，将在本网络地址锁定(\d+)分钟")


@pytest.mark.parametrize(("limit", "hours"), [(None, None), (3, 0.5)])
def test_it_tells_on_the_login_page_when_an_account_is_locked_and_for_how_long(clerk, settings, limit, hours):
    """The notice states the settings in force (5 failures, 15 minutes by default), and they hold."""
    if limit is not None:
        settings.AXES_FAILURE_LIMIT, settings.AXES_COOLOFF_TIME = limit, hours
    client = Client(REMOTE_ADDR="192.0.2.7")
    notice = LOCK_NOTICE.search(client.get("/accounts/login/").text)
    assert notice, "the login page does not say when the account is locked"
    failures, minutes = int(notice[1]), int(notice[2])
    assert (failures, minutes) == (settings.AXES_FAILURE_LIMIT, round(settings.AXES_COOLOFF_TIME * 60))
    statuses = [
        client.post("/accounts/login/", {"username": "czj-clerk", "password": "wrong"}).status_code
        for _ in range(failures)
    ]
    assert statuses == [200] * (failures - 1) + [429]
    locked = client.post("/accounts/login/", {"username": "czj-clerk", "password": OLD})
    assert locked.status_code == 429 and f"锁定{minutes}分钟" in locked.text
