"""The roll-up (issue 15): its pages timed at 1,000 / 3,000 / 10,000 organizations.

Reads the databases ``reportsite_scale_<N>`` that ``bench/scale.py`` builds
(``loadscale``: a province, cities, districts, offices, two years of reports in
every state, the supervisor ``scale-province``) and changes nothing in them.
Each page is timed in-process with Django's test client (DEBUG off), median
and p95 of --runs, with its query count, once summing afresh (the cache
cleared: as after any report of the subtree changed) and once with its sums
kept, against issue 16's targets (a
province page p95 ≤ 300 ms, a district page ≤ 100 ms). Printed, never asserted.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python bench/rollup.py [--orgs 1000 3000 10000] [--runs 7]

A size whose database is missing is reported as such (run bench/scale.py to build it).
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

PAGES = {  # label: target p95 in ms
    "province roll-up, cities": 300,
    "province roll-up, whole subtree": 300,
    "province roll-up, whole subtree with drafts": 300,
    "city roll-up, districts": 300,
    "district roll-up, offices": 100,
}
# Each page twice: summed afresh (nothing cached, as after a report changed), and with its sums kept.
TARGETS = {
    **{f"{label} (summed afresh)": target for label, target in PAGES.items()},
    **{f"{label} (sums kept)": target for label, target in PAGES.items()},
    "province as a 汇总 government: its report's inputs (summed afresh)": 300,
    "province as a 汇总 government: hierarchy input": 300,
    "province roll-up CSV first byte": 300,
    "province roll-up CSV whole": 3000,
    "province roll-up Excel": 3000,
}


def _exists(url: str) -> bool:
    import psycopg

    try:
        with psycopg.connect(url, connect_timeout=5):
            return True
    except psycopg.OperationalError:
        return False


def measure(runs: int) -> dict:
    """Runs inside the size's database (a child process)."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.db.models import Max
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from disclosure.models import Organization, Report

    User = get_user_model()
    client = Client()
    client.force_login(User.objects.get(username="scale-province"))
    year = Report.objects.aggregate(y=Max("year"))["y"]
    province = Organization.objects.filter(parent__isnull=True).order_by("pk").first()
    city = Organization.objects.filter(parent=province, kind="government").order_by("code").first()
    district = Organization.objects.filter(parent=city, kind="government").order_by("code").first()

    def url(org, suffix="/"):
        return f"/review/rollup/{org.code}/{year}{suffix}"

    pages = {
        "province roll-up, cities": (url(province), {}),
        "province roll-up, whole subtree": (url(province), {"scope": "subtree"}),
        "province roll-up, whole subtree with drafts": (url(province), {"scope": "subtree", "drafts": "1"}),
        "city roll-up, districts": (url(city), {}),
        "district roll-up, offices": (url(district), {}),
    }
    out: dict = {"orgs": Organization.objects.count(), "year": year}
    client.get(url(province))  # session, caches
    for (label, (path, params)), fresh in [(page, fresh) for fresh in (True, False) for page in pages.items()]:
        label = f"{label} ({'summed afresh' if fresh else 'sums kept'})"
        times, queries, size = [], 0, 0
        client.get(path, params)
        for _ in range(runs):
            if fresh:
                cache.clear()
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(path, params)
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, (label, response.status_code)
            queries, size = len(ctx.captured_queries), len(response.content)
        out[label] = {"times": times, "queries": queries, "bytes": size}
    first, whole, lines = [], [], 0
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        response = client.get(url(province, ".csv"), {"scope": "subtree", "drafts": "1"})
        stream = iter(response.streaming_content)
        body = [next(stream)]
        first.append(time.perf_counter() - start)
        body.extend(stream)
        whole.append(time.perf_counter() - start)
        lines = b"".join(body).count(b"\n")
    out["province roll-up CSV first byte"] = {"times": first, "queries": None, "bytes": None}
    out["province roll-up CSV whole"] = {"times": whole, "queries": None, "bytes": lines}
    times = []
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        response = client.get(url(province, ".xlsx"), {"scope": "subtree"})
        assert response.status_code == 200
        times.append(time.perf_counter() - start)
    out["province roll-up Excel"] = {"times": times, "queries": None, "bytes": len(response.content)}
    out |= _as_rollup_government(client, province, year, url(province), runs)
    return out


def _as_rollup_government(client, province, year: int, path: str, runs: int) -> dict:
    """The province's government reporting for its jurisdiction (汇总) with every lower
    government on 本级: its inputs are walked down the whole tree (ADR 0016). The scope
    is set inside a transaction rolled back: the database is left as it was."""
    from django.core.cache import cache
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from disclosure.jurisdiction.rollup import hierarchy_input
    from disclosure.models import Organization, Report

    out = {}
    with transaction.atomic():
        Organization.objects.filter(pk=province.pk).update(report_scope="rollup")
        report = Report.objects.filter(organization=province, year=year).select_related("organization").first()
        if report is None:
            from disclosure.services.core import create_report

            report = create_report(Organization.objects.get(pk=province.pk), year)
        calls = {
            "province as a 汇总 government: its report's inputs (summed afresh)": lambda: client.get(path),
            "province as a 汇总 government: hierarchy input": lambda: hierarchy_input(report),
        }
        for label, call in calls.items():
            times, queries = [], 0
            call()
            for _ in range(runs):
                cache.clear()
                with CaptureQueriesContext(connection) as ctx:
                    start = time.perf_counter()
                    call()
                    times.append(time.perf_counter() - start)
                queries = len(ctx.captured_queries)
            out[label] = {"times": times, "queries": queries, "bytes": None}
        transaction.set_rollback(True)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--runs", type=int, default=7)
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
        if not _exists(url):
            print(f"{orgs} organizations: no database reportsite_scale_{orgs} (build it with bench/scale.py)")
            continue
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
        done = subprocess.run(
            [PY, __file__, "--measure", "--runs", str(args.runs)], env=env, check=True, capture_output=True, text=True
        )
        results[orgs] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{orgs} organizations ({results[orgs]['orgs']} in the database, year {results[orgs]['year']})")
        print_table({orgs: results[orgs]}, TARGETS)
    if len(results) > 1:
        print_table(results, TARGETS)


if __name__ == "__main__":
    main()
