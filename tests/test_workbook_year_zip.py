"""The other large export built as a job (issue 16): the year's data package
(/data/<year>.zip) reads the snapshot documents a batch at a time, so a
province's 10,000 never sit in a worker's memory together, and the package is
the same bytes as the one zipped in a request."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from disclosure.models import Job, Report
from disclosure.portal import published as portal
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import balanced_document, seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_it_builds_the_year_zip_with_documents_read_a_batch_at_a_time(
    client, settings, monkeypatch, django_capture_on_commit_callbacks
):
    publish_imported(import_document(seed("002"), status=Report.Status.PUBLISHED).report)
    for i in range(2):
        doc = balanced_document("2021", year=2021, org_code=f"org-{i}")
        publish_imported(import_document(doc, status=Report.Status.PUBLISHED).report)
    url = reverse("portal:year_zip", args=[2021])
    inline = b"".join(client.get(url).streaming_content)

    settings.REPORT_YEAR_ZIP_INLINE_MAX = 0
    monkeypatch.setattr(portal, "YEAR_ZIP_BATCH", 2)
    with django_capture_on_commit_callbacks(execute=False) as queued:
        assert client.get(url).status_code == 503
    with CaptureQueriesContext(connection) as ctx:
        queued[0]()  # the worker's turn
    assert Job.objects.get(kind=Job.Kind.YEAR_ZIP).status == Job.Status.SUCCEEDED
    revisions = [q["sql"] for q in ctx.captured_queries if '"disclosure_revision"."document"' in q["sql"]]
    # The publications are listed without documents; these come two at a time (3 publications: 2 reads).
    assert len(revisions) == 2 and all('FROM "disclosure_revision"' in sql.split(" WHERE ")[0] for sql in revisions)
    assert b"".join(client.get(url).streaming_content) == inline
