"""The jurisdiction's own numbers (issue 15): completeness and data-quality pages at
1,000 / 3,000 / 10,000 organizations, against the province issue's targets.

Reads the databases ``bench/scale.py`` builds (``reportsite_scale_<N>``, users
scale-province and scale-district) and changes nothing in them but the
``OutlierCheck`` rows it adds for one measurement and deletes again. The
quality page reads the stored outlier figures (``CellFigure``): a database
loaded before migration 0010, or by ``loadscale`` (which bulk-creates rows),
needs ``manage.py migrate`` and ``manage.py refresh_outliers`` first (about
50 s at 10,000 organizations); the bench refuses to time a page that would
read an empty table. Each size
is timed in a child process with Django's test client (DEBUG off, locmem
cache): median and p95 of --runs, with query counts, printed, never asserted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/quality.py [--orgs 1000 3000 10000] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from scale_common import db_url, print_table

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

TARGETS = {  # label: target in ms (issue 16: province pages p95 ≤ 300 ms, a district's ≤ 100 ms)
    "completeness, province": 300,
    "completeness, one city": 300,
    "completeness, district": 100,
    "completeness CSV, province": 300,
    "completeness Excel, province": 300,
    "quality, province (figures cached)": 300,
    "quality, province, cold": 300,
    "quality, province ?rule=": 300,
    "quality, province, 200 cells checked": 300,
    "quality, district (figures cached)": 100,
    "quality, district, cold": 100,
    "portal /stats/ compare, cold": 200,
    "portal /stats/ compare, cached": 20,
    "portal organization page, cold": 200,
}


def _time(client, url: str, params: dict, runs: int, *, before=None) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    times, queries, size = [], 0, 0
    for _ in range(runs):
        if before:
            before()
        with CaptureQueriesContext(connection) as ctx:
            start = time.perf_counter()
            response = client.get(url, params)
            content = b"".join(response.streaming_content) if response.streaming else response.content
            times.append(time.perf_counter() - start)
        assert response.status_code == 200, (url, params, response.status_code)
        queries, size = len(ctx.captured_queries), len(content)
    return {"times": times, "queries": queries, "bytes": size}


def measure(runs: int) -> dict:
    """Runs inside the size's database (a child process)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.test import Client

    from disclosure.jurisdiction import quality as qual
    from disclosure.models import CellFigure, Organization, OutlierCheck, Report

    User = get_user_model()
    province, district, public = Client(), Client(), Client()
    province.force_login(User.objects.get(username="scale-province"))
    district.force_login(User.objects.get(username="scale-district"))
    for client in (province, district):
        client.get("/review/completeness/")  # session, caches
    city = Organization.objects.get(code="scale-prov-c0")
    top = Organization.objects.get(code="scale-prov")
    year = Report.objects.order_by("-year").values_list("year", flat=True).first()
    rule = (
        Report.objects.filter(year=year).exclude(finding_rules=[]).values_list("finding_rules", flat=True).first()
        or ["applications.balance"]
    )[0]
    if not CellFigure.objects.filter(year=year).exists():
        sys.exit(f"{year}: no outlier figures stored; run manage.py migrate and manage.py refresh_outliers")
    out: dict = {"orgs": Organization.objects.count(), "year": year}
    pages = {
        "completeness, province": (province, "/review/completeness/", {}),
        "completeness, one city": (province, "/review/completeness/", {"org": city.code}),
        "completeness, district": (district, "/review/completeness/", {}),
        "completeness CSV, province": (province, "/review/completeness/", {"format": "csv"}),
        "completeness Excel, province": (province, "/review/completeness/", {"format": "xlsx"}),
        "quality, province (figures cached)": (province, "/review/quality/", {}),
        "quality, province ?rule=": (province, "/review/quality/", {"rule": rule}),
        "quality, district (figures cached)": (district, "/review/quality/", {}),
    }
    for label, (client, url, params) in pages.items():
        client.get(url, params)  # warm: templates, and the cached quality figures where that is the point
        out[label] = _time(client, url, params, runs)
    # Findings by rule and peer averages computed afresh each time (as once the few minutes are
    # over); the lists of flagged cells are read live on every request anyway.
    out["quality, province, cold"] = _time(province, "/review/quality/", {}, runs, before=qual.forget)
    out["quality, district, cold"] = _time(district, "/review/quality/", {}, runs, before=qual.forget)

    # 200 flagged cells marked 已核实 (rows added here and removed again).
    flagged = list(qual.history_outliers([top], year)[:200])
    existing = set(OutlierCheck.objects.values_list("pk", flat=True))
    made = OutlierCheck.objects.bulk_create(
        [
            OutlierCheck(
                organization_id=r["report__organization_id"],
                year=year,
                cell=qual.cell_ref(r["section"], r["key"]),
                value=r[qual.COLUMN],
                note="bench",
            )
            for r in flagged
        ],
        ignore_conflicts=True,
    )
    try:
        out["quality, province, 200 cells checked"] = _time(province, "/review/quality/", {}, runs, before=qual.forget)
    finally:
        OutlierCheck.objects.filter(year=year, note="bench").exclude(pk__in=existing).delete()
    out["checked cells"] = len(made)

    out["portal /stats/ compare, cold"] = _time(public, "/stats/", {"jurisdiction": top.code}, runs, before=cache.clear)
    out["portal /stats/ compare, cached"] = _time(public, "/stats/", {"jurisdiction": top.code}, runs)
    office = (
        Organization.objects.filter(kind="department", reports__publications__isnull=False)
        .values_list("code", flat=True)
        .first()
    )
    out["portal organization page, cold"] = _time(public, f"/reports/{office}/", {}, runs, before=cache.clear)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    results = {}
    for orgs in args.orgs:
        url = db_url(base, f"reportsite_scale_{orgs}")
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
        done = subprocess.run(
            [PY, __file__, "--measure", "--runs", str(args.runs)], env=env, check=True, capture_output=True, text=True
        )
        results[orgs] = json.loads(done.stdout.strip().splitlines()[-1])
        print(
            f"{results[orgs]['orgs']} organizations, year {results[orgs]['year']}, "
            f"{results[orgs]['checked cells']} cells marked for one run",
            flush=True,
        )
        print_table({orgs: results[orgs]}, TARGETS)
    print_table(results, TARGETS)


if __name__ == "__main__":
    main()
