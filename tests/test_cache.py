"""The shared cache failing open: Redis down costs speed, never a page (issue 11, several nodes)."""

import pytest
from django.core.cache import cache
from django.urls import reverse

from disclosure.models import Report
from disclosure.services import import_document, mark_present, present_users

from .factories import seed
from .test_portal import published, urls  # noqa: F401  (the fixture and the URL list)

# Nothing listens on port 1: every connection is refused at once.
DOWN = {
    "default": {
        "BACKEND": "reportsite.cache.ForgivingRedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
    }
}


@pytest.fixture
def redis_down(settings, monkeypatch):
    monkeypatch.setattr("reportsite.cache._last_logged", -1e9)
    settings.CACHES = DOWN


def test_it_misses_and_drops_writes_when_redis_is_down(redis_down, caplog):
    assert cache.get("k", "default") == "default"
    assert cache.get_many(["a", "b"]) == {}
    assert cache.add("k", 1) is False
    assert cache.set("k", 1) is None
    assert cache.delete("k") is False
    # Logged, but once a minute at most: not once per request.
    assert sum("Cache unavailable" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.django_db
def test_it_serves_every_public_page_and_file_while_redis_is_down(redis_down, published, client):  # noqa: F811
    for url in [reverse("portal:list"), reverse("portal:stats"), *urls(published.organization.code, published.year)]:
        response = client.get(url)
        assert response.status_code == 200, url
        if url.endswith(".pdf"):
            assert b"".join(response.streaming_content).startswith(b"%PDF")


@pytest.mark.django_db
def test_it_keeps_the_editor_working_while_redis_is_down(redis_down, world):
    report = import_document(seed("004")).report
    mark_present(report, world.users["owner_clerk"], "basic")
    assert present_users(report) == []
    assert Report.objects.filter(pk=report.pk).exists()
