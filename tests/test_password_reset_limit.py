"""Reset mails are limited per address and per client, and a refusal looks like a sent mail (ADR 0013)."""

from __future__ import annotations

import logging
import re
import time
import uuid

import pytest
import redis
from django.core.cache import cache
from django.test import Client

from disclosure.models import Job

pytestmark = pytest.mark.django_db

URL = "/accounts/password_reset/"
CLERK = "owner_clerk@example.org"  # tests/personas.py
OTHER = "sibling_clerk@example.org"
LOGGER = "accounts.throttling"


@pytest.fixture
def limits(settings):
    settings.PASSWORD_RESET_MAX_PER_EMAIL = 2
    settings.PASSWORD_RESET_MAX_PER_CLIENT = 5
    settings.PASSWORD_RESET_WINDOW_SECONDS = 3600
    return settings


def _mails() -> int:
    return Job.objects.filter(kind=Job.Kind.MAIL).count()


def _ask(email: str, address: str = "198.51.100.7", **headers) -> object:
    return Client(REMOTE_ADDR=address, **headers).post(URL, {"email": email})


def _answer(email: str, address: str = "198.51.100.7") -> tuple:
    """Everything a requester sees: status, where it goes, the page there and its templates."""
    client = Client(REMOTE_ADDR=address)
    response = client.post(URL, {"email": email}, follow=True)
    body = re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", response.content.decode())
    templates = [t.name for t in response.templates]
    return response.redirect_chain, response.status_code, templates, body


def test_it_queues_no_mail_beyond_the_limit_for_one_address_and_logs_it(world, limits, caplog):
    for _ in range(2):
        assert _ask(CLERK).status_code == 302
    assert _mails() == 2
    with caplog.at_level(logging.INFO, logger=LOGGER):
        refused = _ask(CLERK)
    assert refused.status_code == 302 and refused["Location"] == "/accounts/password_reset/done/"
    assert _mails() == 2
    [line] = [r for r in caplog.records if r.name == LOGGER]
    assert line.levelno == logging.WARNING
    assert "email limit 2" in line.getMessage() and CLERK in line.getMessage()
    # The address is counted however it is written: Django finds users case-blind.
    _ask(CLERK.upper())
    assert _mails() == 2
    # Another address from the same client still gets its mail.
    _ask(OTHER)
    assert _mails() == 3


def test_it_counts_addresses_without_an_account_too(world, limits):
    # Counting only known addresses would make the limit an oracle of which exist.
    for _ in range(2):
        _ask("nobody@example.org")
    assert cache.get(_email_key("nobody@example.org")) == 2
    assert _mails() == 0


def _email_key(address: str) -> str:
    from accounts.throttling import _reset_key

    return _reset_key("email", address)


def test_it_limits_requests_from_one_client_across_addresses(world, limits, caplog):
    limits.TRUSTED_PROXY_COUNT = 1
    # The proxy appended 203.0.113.9; the left-most entries are the client's own claims.
    for n in range(5):
        _ask(f"someone{n}@example.org", address="127.0.0.1", HTTP_X_FORWARDED_FOR=f"10.0.0.{n}, 203.0.113.9")
    with caplog.at_level(logging.INFO, logger=LOGGER):
        _ask(CLERK, address="127.0.0.1", HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9")
    assert _mails() == 0
    assert any("client limit 5" in r.getMessage() and "203.0.113.9" in r.getMessage() for r in caplog.records)
    # Another client asking for the same address is not held back.
    _ask(CLERK, address="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.10")
    assert _mails() == 1


def test_it_counts_an_ipv6_client_by_its_64_prefix(world, limits):
    for n in range(5):
        _ask(f"someone{n}@example.org", address=f"2001:db8:1:2::{n + 1}")
    _ask(CLERK, address="2001:db8:1:2:ffff::1")
    assert _mails() == 0
    _ask(CLERK, address="2001:db8:1:3::1")
    assert _mails() == 1


def test_it_forgets_the_counts_when_the_window_ends(world, limits, monkeypatch):
    for _ in range(3):
        _ask(CLERK)
    assert _mails() == 2
    # The cache's own expiry, run an hour on: the local-memory cache reads time.time().
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 3601)
    _ask(CLERK)
    assert _mails() == 3


def test_it_keeps_the_window_from_the_first_request(world, limits, monkeypatch):
    # Later requests do not push the expiry on: a steady trickle is still cut off at the window's end.
    start = time.time()
    _ask(CLERK)
    monkeypatch.setattr(time, "time", lambda: start + 3000)
    _ask(CLERK)
    _ask(CLERK)
    assert _mails() == 2
    monkeypatch.setattr(time, "time", lambda: start + 3601)
    _ask(CLERK)
    assert _mails() == 3


def test_it_answers_a_refused_request_exactly_like_a_sent_or_unknown_one(world, limits):
    sent = _answer(CLERK)
    _answer(CLERK)
    assert _mails() == 2
    refused = _answer(CLERK)
    assert _mails() == 2
    unknown = _answer("nobody@example.org")
    assert sent == refused == unknown
    chain, status, templates, body = refused
    assert chain == [("/accounts/password_reset/done/", 302)] and status == 200
    assert "registration/password_reset_done.html" in templates and "请查收电子邮件" in body


def test_it_counts_in_redis_with_the_window_as_expiry(world, limits):
    prefix = f"test-reset-{uuid.uuid4().hex}"
    limits.CACHES = {
        "default": {
            "BACKEND": "reportsite.cache.ForgivingRedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
            "KEY_PREFIX": prefix,
        }
    }
    raw = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        for _ in range(3):
            _ask(CLERK)
        assert _mails() == 2
        [key] = [k for k in raw.scan_iter(f"{prefix}:*pwreset:email:*")]
        assert int(raw.get(key)) == 3 and 3500 < raw.ttl(key) <= 3600
    finally:
        for key in raw.scan_iter(f"{prefix}:*"):
            raw.delete(key)


def test_it_sends_nothing_while_the_cache_is_down_and_still_answers(world, limits, caplog):
    limits.CACHES = {
        "default": {
            "BACKEND": "reportsite.cache.ForgivingRedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there: connection refused
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        chain, status, templates, body = _answer(CLERK)
    assert chain == [("/accounts/password_reset/done/", 302)] and status == 200 and "请查收电子邮件" in body
    assert _mails() == 0
    assert any("cache unavailable" in r.getMessage() for r in caplog.records)
