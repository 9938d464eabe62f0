"""Login throttling behind the documented nginx (issue 12 item 4, ADR 0013).

nginx sets X-Forwarded-For with $proxy_add_x_forwarded_for: whatever the
client sent, then the address nginx saw. With TRUSTED_PROXY_COUNT=1 the
right-most entry is the client's; the left-most is the client's own claim.
Clients here connect from different loopback addresses (127.0.0.x) so nginx
sees them as different machines.
"""

from __future__ import annotations

import http.client
import re
import ssl
from http.cookies import SimpleCookie
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, RequestFactory

from accounts.throttling import client_ip

from .test_deploy import nginx  # noqa: F401  (the fixture: the example site in front of the live server)

PASSWORD = "right-pass-123"


class Browser:
    """One client machine talking to nginx over HTTPS from its own source address."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source = port, source
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str = "", **headers: str) -> tuple[int, str]:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        conn = http.client.HTTPSConnection(
            "127.0.0.1", self.port, timeout=20, context=context, source_address=(self.source, 0)
        )
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body.encode() or None, headers=headers)
            response = conn.getresponse()
            for value in response.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(value).items():
                    self.cookies[name] = morsel.value
            return response.status, response.read().decode("utf-8", "replace")
        finally:
            conn.close()

    def login(self, username: str, password: str, forwarded_for: str = "") -> tuple[int, str]:
        _, page = self.request("GET", "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "Origin": "https://127.0.0.1",
            "Referer": "https://127.0.0.1/accounts/login/",
        }
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        body = urlencode({"csrfmiddlewaretoken": token, "username": username, "password": password})
        status, text = self.request("POST", "/accounts/login/", body, **headers)
        self.cookies.pop("sessionid", None)
        return status, text


@pytest.fixture
def users(transactional_db):
    User = get_user_model()
    return [User.objects.create_user(f"user{i}", password=PASSWORD) for i in range(8)]


@pytest.fixture
def behind_nginx(nginx, settings):  # noqa: F811
    settings.TRUSTED_PROXY_COUNT = 1
    return nginx[1]


def test_it_locks_out_the_attacker_not_the_real_user_behind_nginx(behind_nginx, users):
    attacker, real = Browser(behind_nginx, "127.0.0.2"), Browser(behind_nginx, "127.0.0.3")
    # A forged left-most X-Forwarded-For changes nothing: nginx's own entry counts.
    statuses = [attacker.login("user0", "wrong", forwarded_for=f"198.51.100.{i}")[0] for i in range(5)]
    assert statuses == [200] * 4 + [429]  # the fifth failure locks
    status, page = attacker.login("user0", PASSWORD, forwarded_for="127.0.0.3")
    assert status == 429 and "锁定15分钟" in page
    status, _ = real.login("user0", PASSWORD)
    assert status == 302


def test_it_limits_one_address_across_user_names_behind_nginx(behind_nginx, users):
    sprayer, real = Browser(behind_nginx, "127.0.0.4"), Browser(behind_nginx, "127.0.0.5")
    statuses = [sprayer.login(f"user{i % 8}", f"guess-{i}")[0] for i in range(20)]
    # At most three tries per name: no name reaches its own limit, the address does.
    assert statuses == [200] * 19 + [429]
    status, page = sprayer.login("user7", PASSWORD)
    assert status == 429 and "登录已暂时锁定" in page
    assert real.login("user7", PASSWORD)[0] == 302


# -- the client address ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "count, remote, forwarded, expected",
    [
        (0, "127.0.0.1", "203.0.113.5", "127.0.0.1"),
        (1, "127.0.0.1", "203.0.113.5", "203.0.113.5"),
        (1, "127.0.0.1", "6.6.6.6, 203.0.113.5", "203.0.113.5"),
        (1, "127.0.0.1", "", "127.0.0.1"),
        (1, "127.0.0.1", "not-an-address", "127.0.0.1"),
        (2, "127.0.0.1", "6.6.6.6, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "127.0.0.1", "10.0.0.2", "10.0.0.2"),
    ],
)
def test_it_takes_the_client_address_from_the_trusted_proxies_only(settings, count, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


@pytest.mark.django_db
def test_it_does_not_let_another_address_lock_out_the_user_without_a_proxy():
    get_user_model().objects.create_user("czj-clerk", password=PASSWORD)
    attacker, real = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2")
    for _ in range(5):
        attacker.post("/accounts/login/", {"username": "czj-clerk", "password": "wrong"})
    assert attacker.post("/accounts/login/", {"username": "czj-clerk", "password": PASSWORD}).status_code == 429
    assert real.post("/accounts/login/", {"username": "czj-clerk", "password": PASSWORD}).status_code == 302


@pytest.mark.django_db
def test_it_does_not_let_another_address_lock_out_the_admin():
    get_user_model().objects.create_superuser("admin", "admin@example.org", PASSWORD)
    attacker, real = Client(REMOTE_ADDR="192.0.2.1"), Client(REMOTE_ADDR="192.0.2.2")
    for _ in range(5):
        attacker.post("/admin/login/", {"username": "admin", "password": "wrong"})
    locked = attacker.post("/admin/login/", {"username": "admin", "password": PASSWORD})
    assert locked.status_code == 429 and "锁定15分钟" in locked.text
    assert real.post("/admin/login/", {"username": "admin", "password": PASSWORD}).status_code == 302


def test_it_warns_once_when_a_proxy_forwards_but_is_not_trusted(settings, monkeypatch, caplog):
    import accounts.throttling

    settings.TRUSTED_PROXY_COUNT = 0
    monkeypatch.setattr(accounts.throttling, "_warned", False)
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.5")
    with caplog.at_level("WARNING", logger="accounts.throttling"):
        assert client_ip(request) == client_ip(request) == "127.0.0.1"
    assert [r.getMessage() for r in caplog.records].count(
        "X-Forwarded-For received with TRUSTED_PROXY_COUNT=0: set it to the number of proxies."
    ) == 1
