"""Hostile input to every form, JSON and query endpoint, for every persona (issue 12 items 8–9).

Hypothesis posts generated values — NUL bytes, lone surrogates, huge strings,
odd digits, huge numbers, control and bidi characters, non-integers where
integers are expected — and checks two things: never a 5xx, and the report
either holds the whole accepted change (every changed value accounted for by
an audit event) or none of it (a refused request writes nothing; a form
answered 409/422 keeps what parsed, accounted for like any other change).
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass, field
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from django.urls import get_resolver
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disclosure.models import AuditEvent, Report
from disclosure.selectors import export_report
from disclosure.services import diff_documents

from .personas import PERSONAS

pytestmark = pytest.mark.django_db

HOSTILE_STRINGS = [
    "\x00",
    "a\x00b",
    "\ud800",
    "12\udfff",
    "x" * 200_000,
    "9" * 5000,
    "١٢",
    "१२",
    "１２",
    "2147483647",
    "-2147483648",
    "99999999999999999999999",
    "1e9",
    "1.5",
    "NaN",
    "-1",
    "",
    " ",
    "\u202e12",
    "\u200b",
    "\x07\x1b[31m",
    "\r\n",
    '=HYPERLINK("http://evil.example/")',
    "<script>alert(1)</script>",
    "../../etc/passwd",
    "null",
]
hostile = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=40), st.integers().map(str))
# HOSTILE_SCALE=10 searches ten times as long (by hand, or a nightly run).
SCALE = int(os.environ.get("HOSTILE_SCALE", "1"))
VERSION = object()  # replaced by the report's current version when the request is sent
versions = st.one_of(st.just(VERSION), hostile)

CELL = "applications.new_received.natural_person"
NARRATIVE = "narrative.overview.platform"
HEADER = "header.title"


@dataclass
class Endpoint:
    name: str
    path: str
    method: str = "POST"  # POST form, JSON, UPLOAD (multipart), ADMIN_FORM, or GET with a query string
    params: dict = field(default_factory=dict)  # name -> strategy
    examples: int = 3


ORG, YEAR = "test-org", 2021
DISTRICT = "district-a"  # the owner's parent, a government: the parent supervisor's jurisdiction
R = f"/workspace/{ORG}/{YEAR}"
V = f"/review/{ORG}/{YEAR}"
UUID = str(uuid.uuid4())

ENDPOINTS = [
    Endpoint("login", "/accounts/login/", params={"username": hostile, "password": hostile, "next": hostile}),
    Endpoint("logout", "/accounts/logout/", params={"next": hostile}, examples=2),
    Endpoint(
        "password_change",
        "/accounts/password_change/",
        params={"old_password": hostile, "new_password1": hostile, "new_password2": hostile},
    ),
    Endpoint("password_reset", "/accounts/password_reset/", params={"email": hostile}),
    Endpoint(
        "password_reset_confirm", "/accounts/reset/MQ/set-password/", params={"new_password1": hostile}, examples=3
    ),
    Endpoint("workspace:dashboard", "/workspace/", "GET", {"year": hostile}, examples=3),
    Endpoint("workspace:create", f"/workspace/{ORG}/new/", params={"year": hostile}),
    Endpoint("workspace:upload", f"/workspace/{ORG}/import/", "UPLOAD", {"year": hostile, "file": hostile}),
    Endpoint("workspace:import_job", f"/workspace/{ORG}/import/jobs/{UUID}/", "GET", {"x": hostile}, examples=2),
    Endpoint("workspace:import_job_status", f"/workspace/{ORG}/import/jobs/{UUID}/status/", "GET", {"x": hostile}, 2),
    Endpoint("workspace:pending", f"/workspace/{ORG}/import/{UUID}/", params={"replace": hostile}, examples=2),
    Endpoint(
        "workspace:confirm_import",
        f"/workspace/{ORG}/import/{UUID}/confirm/",
        params={
            "replace": hostile,
            "candidate-0": hostile,
            "zero": hostile,
            "organization_choice": hostile,
            "year_choice": hostile,
        },
    ),
    Endpoint("workspace:discard_import", f"/workspace/{ORG}/import/{UUID}/discard/", params={"x": hostile}),
    Endpoint(
        "workspace:autosave",
        f"{R}/save/",
        "JSON",
        {
            "version": versions,
            "values": st.dictionaries(st.sampled_from([CELL, NARRATIVE, HEADER, "x.y", "\x00"]), hostile, max_size=3),
            "bases": st.dictionaries(st.sampled_from([CELL, NARRATIVE, HEADER]), hostile, max_size=3),
            "step": st.one_of(st.just("applications"), hostile),
        },
        examples=8,
    ),
    Endpoint("workspace:autosave GET", f"{R}/save/", "GET", {"since": hostile, "step": hostile}),
    Endpoint("workspace:no_applications", f"{R}/no-applications/", params={"version": versions}),
    Endpoint("workspace:explain", f"{R}/explain/", params={"key": hostile, "text": hostile, "next": hostile}),
    Endpoint("workspace:submit", f"{R}/submission/", params={"x": hostile}, examples=3),
    Endpoint(
        "workspace:step",
        f"{R}/applications/",
        params={"version": versions, CELL: hostile, NARRATIVE: hostile, HEADER: hostile, "goto": hostile},
        examples=8,
    ),
    Endpoint(
        "review:dashboard",
        "/review/",
        "GET",
        {"year": hostile, "status": hostile, "problem": hostile, "q": hostile, "format": st.just("csv")},
    ),
    Endpoint("review:export_jurisdiction", "/review/export.xlsx", params={"year": hostile}, examples=3),
    Endpoint("review:export_status", f"/review/exports/{UUID}/status/", "GET", {"x": hostile}, examples=2),
    Endpoint("review:export_download", f"/review/exports/{UUID}.xlsx", "GET", {"x": hostile}, examples=2),
    Endpoint("review:export", f"/review/{ORG}/{YEAR}.xlsx", "GET", {"x": hostile}, examples=2),
    Endpoint("review:report", f"{V}/", "GET", {"x": hostile}, examples=2),
    Endpoint(
        "review:action",
        f"{V}/actions/return/",
        params={"comment": hostile, "anchor": hostile, "next": hostile},
    ),
    Endpoint("review:comment", f"{V}/comments/", params={"body": hostile, "anchor": hostile, "parent": hostile}),
    Endpoint("review:resolve", f"{V}/comments/1/resolve/", params={"next": hostile}, examples=3),
    Endpoint("review:diff", f"{V}/diff/", "GET", {"from": hostile, "to": hostile}),
    Endpoint("review:job_status", f"{V}/jobs/{UUID}/", "GET", {"x": hostile}, examples=2),
    Endpoint(
        "portal:list",
        "/reports/",
        "GET",
        {"q": hostile, "jurisdiction": hostile, "organization": hostile, "year": hostile, "page": hostile},
    ),
    Endpoint("portal:report", f"/reports/{ORG}/{YEAR}/", "GET", {"x": hostile}, examples=2),
    Endpoint("portal:download", f"/reports/{ORG}/{YEAR}.csv", "GET", {"x": hostile}, examples=2),
    Endpoint("portal:download_revision", f"/reports/{ORG}/{YEAR}/r1.json", "GET", {"x": hostile}, examples=2),
    Endpoint("portal:data", "/data/", "GET", {"x": hostile}, examples=2),
    Endpoint("portal:year_zip", f"/data/{YEAR}.zip", "GET", {"x": hostile}, examples=2),
    Endpoint("portal:stats", "/stats/", "GET", {"jurisdiction": hostile, "year": hostile}),
    Endpoint("portal:organization", f"/reports/{ORG}/", "GET", {"x": hostile}, examples=2),
    # The jurisdiction's pages (issue 15) and the archive import (issue 14).
    Endpoint("review:rollup", f"/review/rollup/{DISTRICT}/{YEAR}/", "GET", {"scope": hostile, "drafts": hostile}),
    Endpoint("review:rollup_export", f"/review/rollup/{DISTRICT}/{YEAR}.csv", "GET", {"scope": hostile}, examples=2),
    Endpoint(
        "review:rollup_fill",
        f"/review/rollup/{DISTRICT}/{YEAR}/fill/",
        params={
            "drafts": hostile,
            "table": hostile,
            "cell": hostile,
            f"shown:{CELL}": hostile,
            f"base:{CELL}": hostile,
        },
    ),
    Endpoint(
        "review:rollup_scope", f"/review/rollup/{DISTRICT}/scope/", params={"report_scope": hostile, "year": hostile}
    ),
    Endpoint(
        "review:completeness",
        "/review/completeness/",
        "GET",
        {"year": hostile, "org": hostile, "format": hostile},
    ),
    Endpoint(
        "review:quality",
        "/review/quality/",
        "GET",
        {"year": hostile, "org": hostile, "rule": hostile, "page": hostile, "hpage": hostile, "ppage": hostile},
    ),
    Endpoint(
        "review:outlier_check",
        "/review/quality/outliers/check/",
        params={"year": hostile, "organization": hostile, "cell": hostile, "note": hostile, "value": hostile},
    ),
    Endpoint("review:archive", f"/review/archive/{DISTRICT}/", "GET", {"x": hostile}, examples=2),
    Endpoint(
        "review:archive_upload",
        f"/review/archive/{DISTRICT}/upload/",
        "UPLOAD",
        {"file": hostile, "mapping": hostile, "drafts": hostile},
    ),
    Endpoint("review:archive_job", f"/review/archive/{DISTRICT}/jobs/{UUID}/", "GET", {"x": hostile}, examples=2),
    Endpoint("review:archive_job_status", f"/review/archive/{DISTRICT}/jobs/{UUID}/status/", "GET", {"x": hostile}, 2),
    # The admin's own forms and lists (the admin persona gets in; the rest are sent to sign in).
    Endpoint(
        "admin:report changelist", "/admin/disclosure/report/", "GET", {"q": hostile, "year": hostile, "p": hostile}
    ),
    Endpoint(
        "admin:report change",
        "/admin/disclosure/report/{report}/change/",
        "ADMIN_FORM",
        {"title": hostile, "organization_name": hostile, "issued_on": hostile, "procurement_unit": hostile},
    ),
    Endpoint(
        "admin:user add",
        "/admin/auth/user/add/",
        params={"username": hostile, "password1": hostile, "password2": hostile, "usable_password": hostile},
    ),
    Endpoint("admin:audit changelist", "/admin/disclosure/auditevent/", "GET", {"q": hostile, "action": hostile}),
]
# Pages without input of their own (confirmation pages); they still pass the middleware.
WITHOUT_INPUT = {"password_change_done", "password_reset_done", "password_reset_complete"}


def _encode(data: dict) -> str:
    # Lone surrogates go out as their UTF-8-ish bytes, as a hostile client would send them.
    return urlencode(data, doseq=True, encoding="utf-8", errors="surrogatepass")


def _send(client: Client, endpoint: Endpoint, data: dict, report: Report):
    data = {k: (str(report.version) if v is VERSION else v) for k, v in data.items()}
    path = endpoint.path.replace("{report}", str(report.pk))
    if endpoint.method == "GET":
        return client.get(path, QUERY_STRING=_encode(data))
    if endpoint.method == "JSON":
        return client.post(path, json.dumps(data), content_type="application/json")
    if endpoint.method == "ADMIN_FORM":
        # The whole change form as the admin page sends it, with hostile values in some fields.
        from .test_admin import _change_form_data

        admin = Client()
        admin.force_login(get_user_model().objects.get(username="root"))
        form = {k: v for k, v in _change_form_data(admin, report).items() if v is not None}
        return client.post(path, _encode(form | data), content_type="application/x-www-form-urlencoded")
    if endpoint.method == "UPLOAD":
        from django.core.files.uploadedfile import SimpleUploadedFile

        content = data.pop("file", "").encode("utf-8", "surrogatepass")
        upload = SimpleUploadedFile("报告.txt", content, content_type="text/plain")
        year = data.get("year", "").encode("utf-8", "surrogatepass")
        return client.post(path, {"year": year, "file": upload})
    return client.post(path, _encode(data), content_type="application/x-www-form-urlencoded")


def _accounted_for(before: dict, after: dict, events: list[AuditEvent]) -> None:
    """Every value that changed is the new value of an audit event: no half-written change."""
    changed = diff_documents(before, after)
    recorded: dict = {}
    for event in events:
        for ref, (_old, new) in (event.data.get("changes") or {}).items():
            recorded[ref] = new
    for ref, (_old, new) in changed.items():
        assert ref in recorded and recorded[ref] == new, ref


@pytest.fixture
def world_with_admin(world):
    admin = get_user_model().objects.create_superuser("root", "root@example.org", "a-long-password-1")
    world.users["admin"] = admin
    return world


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=[e.name for e in ENDPOINTS])
def test_it_answers_hostile_input_without_a_5xx_or_half_a_write(world_with_admin, report, endpoint):
    world = world_with_admin

    @settings(
        max_examples=endpoint.examples * SCALE,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
        database=None,
    )
    @given(data=st.fixed_dictionaries(endpoint.params))
    def attempt(data):
        for persona in [*PERSONAS, "admin"]:  # every persona gets every generated value
            cache.clear()
            client = Client(raise_request_exception=False, REMOTE_ADDR="192.0.2.1")
            if persona != "anonymous":
                client.force_login(world.users[persona])
            stored = Report.objects.get(pk=report.pk)
            before = export_report(stored)
            last = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first()
            response = _send(client, endpoint, dict(data), stored)
            assert response.status_code < 500, (persona, data)
            after = export_report(Report.objects.get(pk=report.pk))
            events = list(AuditEvent.objects.filter(id__gt=last or 0, report_id=report.pk).order_by("id"))
            # A refusal writes nothing. 409/422 answer per field (a form saves what parses
            # and names the rest at its cell); what they wrote is checked like a success.
            if response.status_code >= 400 and response.status_code not in (409, 422):
                assert after == before, (persona, response.status_code)
            _accounted_for(before, after, events)

    attempt()


def test_it_covers_every_url_that_takes_input():
    """A new URL is added here (or to WITHOUT_INPUT), so it cannot escape the hostile-input test."""
    names = set()

    def walk(resolver, namespace=None):
        for pattern in resolver.url_patterns:
            if hasattr(pattern, "url_patterns"):
                if pattern.namespace == "admin":
                    continue
                walk(pattern, pattern.namespace or namespace)
            elif pattern.name:
                names.add(f"{namespace}:{pattern.name}" if namespace else pattern.name)

    walk(get_resolver())
    covered = {e.name for e in ENDPOINTS} | WITHOUT_INPUT
    assert names - covered == set()


LONG = "9" * 5000


@pytest.mark.parametrize(
    "persona, method, path, data",
    [
        ("owner_clerk", "POST", f"{R}/no-applications/", {"version": LONG}),
        ("owner_clerk", "POST", f"{R}/applications/", {"version": LONG, CELL: "1"}),
        ("owner_clerk", "JSON", f"{R}/save/", {"version": LONG, "values": {}, "bases": {}}),
        ("owner_clerk", "GET", f"{R}/save/", {"since": LONG}),
        ("office_reviewer", "GET", "/review/", {"year": LONG}),
        ("office_reviewer", "POST", "/review/export.xlsx", {"year": LONG}),
        ("office_reviewer", "GET", f"{V}/diff/", {"from": LONG}),
        ("office_reviewer", "POST", f"{V}/comments/", {"parent": LONG, "body": "同意。"}),
        ("office_reviewer", "POST", f"{V}/comments/", {"parent": "²", "body": "同意。"}),
    ],
    ids=[
        "no_applications",
        "step",
        "autosave",
        "autosave GET",
        "review dashboard",
        "review export",
        "review diff",
        "comment parent",
        "comment parent superscript",
    ],
)
def test_it_answers_a_five_thousand_digit_number_without_a_500(world, report, persona, method, path, data):
    """More than 4300 digits make int() raise ValueError: found by the test above in
    the workspace's version, the review's years and the diff's revision numbers."""
    client = world.client(persona)
    client.raise_request_exception = False
    if method == "GET":
        response = client.get(path, data)
    elif method == "JSON":
        response = client.post(path, json.dumps(data), content_type="application/json")
    else:
        response = client.post(path, data)
    assert response.status_code < 500
