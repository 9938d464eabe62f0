"""Backup and restore (README): the database dump plus a copy of the storage.

The round trip restores into a fresh database and a fresh storage folder,
then every public URL must serve the very same bytes and verify_publications
must find every stored file intact. PostgreSQL: pg_dump -Fc / pg_restore, as
the README prescribes. SQLite: SQLite's online backup (what `sqlite3 DB
".backup FILE"` does).
"""

import hashlib
import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from disclosure.models import Publication, Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import seed


def public_urls() -> list[str]:
    """Every public URL of the portal for what is published now."""
    urls = [reverse("portal:list"), reverse("portal:data"), reverse("portal:stats")]
    for pub in Publication.objects.select_related("report__organization"):
        org, year = pub.report.organization.code, pub.report.year
        for ext in ("pdf", "json", "csv"):
            urls.append(reverse("portal:download_revision", args=[org, year, pub.number, ext]))
    for report in Report.objects.filter(publications__isnull=False).distinct().select_related("organization"):
        org, year = report.organization.code, report.year
        urls.append(reverse("portal:report", args=[org, year]))
        urls += [reverse("portal:download", args=[org, year, ext]) for ext in ("pdf", "json", "csv")]
    for year in Publication.objects.values_list("report__year", flat=True).distinct():
        urls.append(reverse("portal:year_zip", args=[year]))
    return sorted(urls)


def fingerprints(urls: list[str]) -> dict[str, str]:
    client = Client()
    found = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        body = b"".join(response.streaming_content) if response.streaming else response.content
        found[url] = hashlib.sha256(body).hexdigest()
    return found


def _pg_env() -> dict:
    env = {**os.environ}
    if connection.settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = connection.settings_dict["PASSWORD"]
    return env


def _pg_args() -> list[str]:
    s = connection.settings_dict
    return ["-h", s.get("HOST") or "127.0.0.1", "-p", str(s.get("PORT") or 5432), "-U", s.get("USER") or "postgres"]


def back_up(folder: Path) -> None:
    """The procedure of the README: a dump of the database, a copy of the storage."""
    from django.conf import settings

    if connection.vendor == "postgresql":
        subprocess.run(
            ["pg_dump", "-Fc", *_pg_args(), "-d", connection.settings_dict["NAME"], "-f", str(folder / "db.dump")],
            check=True,
            env=_pg_env(),
        )
    else:
        source = closing(sqlite3.connect(connection.settings_dict["NAME"]))
        with source as live, closing(sqlite3.connect(folder / "db.sqlite3")) as copy:
            live.backup(copy)
    shutil.copytree(settings.MEDIA_ROOT, folder / "media")


def restore(folder: Path, target: Path) -> str:
    """Into a fresh database and a fresh storage folder; returns the new database's name."""
    shutil.copytree(folder / "media", target / "media")
    if connection.vendor == "postgresql":
        name = f"{connection.settings_dict['NAME']}_restored"
        subprocess.run(["dropdb", "--if-exists", *_pg_args(), name], check=True, env=_pg_env())
        subprocess.run(["createdb", *_pg_args(), name], check=True, env=_pg_env())
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", *_pg_args(), "-d", name, str(folder / "db.dump")],
            check=True,
            env=_pg_env(),
        )
        return name
    shutil.copyfile(folder / "db.sqlite3", target / "db.sqlite3")
    return str(target / "db.sqlite3")


def _switch_database(name: str) -> str:
    """Point the default connection at another database; returns the one it used."""
    connection.close()
    old, connection.settings_dict["NAME"] = connection.settings_dict["NAME"], name
    return old


@pytest.mark.django_db(transaction=True)  # pg_dump sees only committed data
def test_it_restores_a_backup_that_serves_identical_bytes(settings, tmp_path):
    if connection.vendor == "postgresql":
        missing = [tool for tool in ("pg_dump", "pg_restore", "createdb", "dropdb") if not shutil.which(tool)]
        assert not missing, f"{missing} missing: `make test` installs postgresql-client"
    settings.MEDIA_ROOT = tmp_path / "media"
    for number in ("002", "004"):
        publish_imported(import_document(seed(number), status=Report.Status.PUBLISHED).report)
    corrected = seed("002")
    corrected["issued_on"] = "2022-01-30"
    publish_imported(import_document(corrected, status=Report.Status.PUBLISHED, replace=True).report)  # r2

    urls = public_urls()
    assert "/reports/lc-swj/2021/r2.pdf" in urls and "/data/2020.zip" in urls
    before = fingerprints(urls)

    (tmp_path / "backup").mkdir()
    back_up(tmp_path / "backup")
    shutil.rmtree(settings.MEDIA_ROOT)  # the machine is lost: only the backup remains
    (tmp_path / "new").mkdir()
    restored = restore(tmp_path / "backup", tmp_path / "new")

    original = _switch_database(restored)
    try:
        settings.MEDIA_ROOT = tmp_path / "new" / "media"
        cache.clear()  # the README's last step: the cache may hold pages newer than the backup
        call_command("verify_publications")  # clean: returns (exit 0); problems end with exit 1
        assert public_urls() == urls
        after = fingerprints(urls)
    finally:
        _switch_database(original)
        if connection.vendor == "postgresql":
            subprocess.run(["dropdb", "--if-exists", *_pg_args(), restored], check=True, env=_pg_env())
    assert after == before
