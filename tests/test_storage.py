"""Published files through Django's storage API only: any node, any storage, and a clear answer when one is lost."""

import hashlib
import io
import logging
import shutil
import zipfile

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.urls import reverse

from disclosure.models import Publication, Report
from disclosure.portal import published as portal
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import seed

pytestmark = pytest.mark.django_db

IN_MEMORY = "django.core.files.storage.InMemoryStorage"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "node-1"


def publish(number: str = "002") -> Publication:
    report = import_document(seed(number), status=Report.Status.PUBLISHED).report
    return publish_imported(report)


def body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def test_it_streams_files_from_a_storage_that_has_no_local_paths(client, settings):
    """An object store (S3 and the like) has no .path: the bytes go through Django, never X-Accel-Redirect."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": IN_MEMORY}}
    settings.PUBLISHED_FILES_ACCEL_PREFIX = "/_published/"  # only meaningful for a filesystem storage
    pub = publish()
    for url, digest in [
        (reverse("portal:download", args=["lc-swj", 2021, "pdf"]), pub.pdf_sha256),
        (reverse("portal:download_revision", args=["lc-swj", 2021, 1, "json"]), pub.data_sha256),
    ]:
        response = client.get(url)
        assert response.status_code == 200 and "X-Accel-Redirect" not in response
        assert hashlib.sha256(body(response)).hexdigest() == digest
        assert response["ETag"] == f'"{digest}"'
    archive = zipfile.ZipFile(io.BytesIO(body(client.get(reverse("portal:year_zip", args=[2021])))))
    assert hashlib.sha256(archive.read("2021/lc-swj-2021-r1.json")).hexdigest() == pub.data_sha256


@pytest.mark.parametrize("accel", ["", "/_published/"])
def test_it_serves_a_cached_download_on_a_node_that_mounts_the_storage_elsewhere(client, settings, tmp_path, accel):
    """The cache is shared by every node: what it holds must not be one node's local path."""
    settings.PUBLISHED_FILES_ACCEL_PREFIX = accel
    pub = publish()
    url = reverse("portal:download", args=["lc-swj", 2021, "json"])
    assert client.get(url).status_code == 200  # node 1 caches what the download needs
    # Node 2 mounts the same shared volume at another path; node 1's mount is gone.
    shutil.move(tmp_path / "node-1", tmp_path / "node-2")
    settings.MEDIA_ROOT = tmp_path / "node-2"
    response = client.get(url)
    assert response.status_code == 200
    if accel:
        assert response["X-Accel-Redirect"] == f"/_published/{pub.data.name}"
    else:
        assert hashlib.sha256(body(response)).hexdigest() == pub.data_sha256


def test_it_reads_again_a_cached_entry_of_an_earlier_release_that_held_a_local_path(client, settings):
    """Numbered revisions are cached for good: an entry written before storage names must not break them."""
    settings.PUBLISHED_FILES_ACCEL_PREFIX = "/_published/"
    pub = publish()
    old = {"pk": pub.pk, "number": 1, "org_code": "lc-swj", "year": 2021, "name": "老城区商务和工业信息化局"}
    old.update(pdf=str(settings.MEDIA_ROOT / pub.pdf.name), data=str(settings.MEDIA_ROOT / pub.data.name))
    old.update(pdf_sha256=pub.pdf_sha256, data_sha256=pub.data_sha256, published=pub.published_at.timestamp())
    cache.set(portal.meta_key("lc-swj", 2021, 1), old, None)
    response = client.get(reverse("portal:download_revision", args=["lc-swj", 2021, 1, "pdf"]))
    assert response.status_code == 200 and response["X-Accel-Redirect"] == f"/_published/{pub.pdf.name}"


@pytest.mark.parametrize("accel", ["", "/_published/"])
def test_it_answers_a_lost_stored_file_with_a_503_page_and_an_error_log(client, settings, caplog, accel):
    settings.PUBLISHED_FILES_ACCEL_PREFIX = accel
    pub = publish()
    pub.pdf.storage.delete(pub.pdf.name)
    pub.data.storage.delete(pub.data.name)
    with caplog.at_level(logging.ERROR, logger="disclosure.portal.views"):
        for url in [
            reverse("portal:download", args=["lc-swj", 2021, "pdf"]),
            reverse("portal:download_revision", args=["lc-swj", 2021, 1, "json"]),
            reverse("portal:year_zip", args=[2021]),
        ]:
            response = client.get(url)
            assert response.status_code == 503, url
            assert "正式文本暂时无法提供" in response.text
            assert response["Cache-Control"] == "no-store" and "X-Accel-Redirect" not in response
    logged = [r.getMessage() for r in caplog.records if r.name == "disclosure.portal.views"]
    assert len(logged) == 3 and pub.pdf.name in logged[0] and pub.data.name in logged[2]
    # The page and the CSV come from the database: still served.
    assert client.get(reverse("portal:report", args=["lc-swj", 2021])).status_code == 200
    assert client.get(reverse("portal:download", args=["lc-swj", 2021, "csv"])).status_code == 200


def test_it_verifies_every_stored_file_against_its_recorded_hash(capsys):
    first, second = publish("002"), publish("004")
    call_command("verify_publications")  # clean: returns, exit status 0
    assert capsys.readouterr().out.strip().splitlines() == ["OK: 2 publications, 4 files checked, 0 problems"]

    storage = first.pdf.storage
    storage.delete(first.pdf.name)
    storage.delete(second.data.name)
    assert storage.save(second.data.name, ContentFile(b'{"altered": true}')) == second.data.name
    with pytest.raises(SystemExit) as exit:
        call_command("verify_publications")
    assert exit.value.code == 1
    lines = capsys.readouterr().out.strip().splitlines()
    altered = hashlib.sha256(b'{"altered": true}').hexdigest()
    assert lines == [
        f"MISSING lc-swj 2021 r1 {first.pdf.name}",
        f"ALTERED wch-zsj 2020 r1 {second.data.name} recorded={second.data_sha256} stored={altered}",
        "FAILED: 2 publications, 4 files checked, 2 problems",
    ]
