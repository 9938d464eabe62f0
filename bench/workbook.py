"""The province's jurisdiction workbook, built as the export job builds it (issue 16).

Needs a database filled by `manage.py loadscale` (bench/scale.py leaves
reportsite_scale_<N> databases on the PostgreSQL at 127.0.0.1:5432). Prints
the build time, the file size and the process's peak RSS against the
targets (≤ 30 s, ≤ 300 MB).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reportsite_scale_10000 .venv/bin/python bench/workbook.py
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_DEBUG", "1")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings")

import django  # noqa: E402

django.setup()

from django.db.models import Count  # noqa: E402

from disclosure import permissions  # noqa: E402
from disclosure.jobs.exports import workbook_rows  # noqa: E402
from disclosure.models import Organization, Report  # noqa: E402
from disclosure.office import jurisdiction_xlsx  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--year", type=int, help="default: the year with the most reports (the fullest workbook)")
    args = parser.parse_args()
    year = (
        args.year
        or (
            Report.objects.values("year")
            .annotate(n=Count("pk"))
            .order_by("-n", "-year")
            .values_list("year", flat=True)[0]
        )
    )
    root = Organization.objects.filter(parent=None).order_by("id").first()
    if year is None or root is None:
        sys.exit("No reports: fill the database with `manage.py loadscale --orgs N` first.")
    start, cpu = time.perf_counter(), time.process_time()
    orgs = permissions.tree_order([root])
    with tempfile.TemporaryFile() as out:
        jurisdiction_xlsx(year, workbook_rows(orgs, year), title="bench", out=out)
        size = out.tell()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{len(orgs)} organizations, {year}: {seconds:.1f} s (target ≤ 30 s), {size / 1e6:.1f} MB")
    # CPU seconds tell a slow build from a busy machine (the database's share is not in them).
    print(f"cpu {cpu:.1f} s, load average {os.getloadavg()[0]:.1f}")
    print(f"peak RSS {rss:.0f} MB (target ≤ 300 MB)")


if __name__ == "__main__":
    main()
