"""verify_publications: re-hash every stored publication file against its recorded SHA-256.

One line per problem (MISSING or ALTERED, the publication and the stored
name), then a summary line. Exit 0 when every file is there and intact, 1
otherwise. Reads through the configured storage (STORAGES["default"]), so it
checks what every node serves: a shared volume or an object store.
"""

import hashlib
import sys

from django.core.management.base import BaseCommand

from disclosure.models import Publication

CHUNK = 1024 * 1024


def stored_sha256(field) -> str | None:
    """The SHA-256 of a stored file, or None when the storage does not have it."""
    digest = hashlib.sha256()
    # Asked first: an object store's file fails only once read, and not with FileNotFoundError.
    if not field.storage.exists(field.name):
        return None
    try:
        with field.storage.open(field.name, "rb") as stored:
            for chunk in iter(lambda: stored.read(CHUNK), b""):
                digest.update(chunk)
    except FileNotFoundError:
        return None
    return digest.hexdigest()


class Command(BaseCommand):
    help = "逐一重新计算已发布版本的PDF和JSON文件的SHA-256，报告缺失或被改动的文件。"
    requires_system_checks = []

    def handle(self, *args, **options):
        publications = files = 0
        problems = 0
        queryset = Publication.objects.select_related("report__organization").order_by("pk")
        for pub in queryset.iterator(chunk_size=200):
            publications += 1
            label = f"{pub.report.organization.code} {pub.report.year} r{pub.number}"
            for field, recorded in ((pub.pdf, pub.pdf_sha256), (pub.data, pub.data_sha256)):
                files += 1
                actual = stored_sha256(field)
                if actual is None:
                    problems += 1
                    self.stdout.write(f"MISSING {label} {field.name}")
                elif actual != recorded:
                    problems += 1
                    self.stdout.write(f"ALTERED {label} {field.name} recorded={recorded} stored={actual}")
        verdict = "OK" if not problems else "FAILED"
        self.stdout.write(f"{verdict}: {publications} publications, {files} files checked, {problems} problems")
        if problems:
            sys.exit(1)
