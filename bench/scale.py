"""A province on one deployment (issue 16): the supervisor's pages at 1,000 / 3,000 / 10,000 organizations.

For each size: a fresh PostgreSQL database, ``migrate``, ``loadscale --orgs N``
(two years of reports in every state), then the pages timed in-process with
Django's test client (no HTTP server; DEBUG off, locmem cache), median and p95
of --runs, with their query counts, printed against the issue's targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/scale.py [--orgs 1000 3000 10000] [--runs 5]

Targets are printed, never asserted. The databases ``reportsite_scale_<N>`` are
left for a browser walk (users scale-province and scale-district, password
bench-scale-1) and dropped and created again by the next run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable

TARGETS = {  # label: (target in ms, what is timed)
    "province dashboard": 300,
    "province ?status=submitted": 300,
    "province ?problem=errors": 300,
    "province ?q=教育局": 300,
    "province, one city (drill-down)": 300,
    "district dashboard": 100,
    "province CSV first byte": 300,
    "province CSV whole": 3000,
    "/stats/ cold": 200,
    "/stats/ cached": 20,
}


def _db_url(base: str, name: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{name}"))


def _recreate(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(_db_url(base, urlsplit(base).path.strip("/") or "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def build(base: str, orgs: int) -> tuple[str, float]:
    name = f"reportsite_scale_{orgs}"
    _recreate(base, name)
    env = {**os.environ, "DATABASE_URL": _db_url(base, name), "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
    subprocess.run([PY, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    start = time.perf_counter()
    subprocess.run(
        [PY, "manage.py", "loadscale", "--orgs", str(orgs), "--password", "bench-scale-1"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    built = time.perf_counter() - start
    import psycopg

    # A bulk load leaves the planner's statistics behind until autovacuum comes by.
    with psycopg.connect(env["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("ANALYZE")
    return env["DATABASE_URL"], built


def measure(runs: int) -> dict:
    """Runs inside the size's database (a child process): every page, ``runs`` times."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.cache import cache
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from disclosure.models import Organization

    User = get_user_model()
    province, district = Client(), Client()
    province.force_login(User.objects.get(username="scale-province"))
    province.get("/review/")
    district.force_login(User.objects.get(username="scale-district"))
    district.get("/review/")
    city = Organization.objects.get(code="scale-prov-c0").code
    pages = {
        "province dashboard": (province, "/review/", {}),
        "province ?status=submitted": (province, "/review/", {"status": "submitted"}),
        "province ?problem=errors": (province, "/review/", {"problem": "errors"}),
        "province ?q=教育局": (province, "/review/", {"q": "教育局"}),
        "province, one city (drill-down)": (province, "/review/", {"org": city}),
        "district dashboard": (district, "/review/", {}),
    }
    out: dict = {"orgs": Organization.objects.count()}
    for label, (client, url, params) in pages.items():
        times, queries, size = [], 0, 0
        for _ in range(runs):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(url, params)
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, (label, response.status_code)
            queries, size = len(ctx.captured_queries), len(response.content)
        out[label] = {"times": times, "queries": queries, "bytes": size}
    first, whole, lines = [], [], 0
    for _ in range(runs):
        start = time.perf_counter()
        response = province.get("/review/", {"format": "csv"})
        stream = iter(response.streaming_content)
        body = [next(stream)]
        first.append(time.perf_counter() - start)
        body.extend(stream)
        whole.append(time.perf_counter() - start)
        lines = b"".join(body).count(b"\n")
    out["province CSV first byte"] = {"times": first, "queries": None, "bytes": None}
    out["province CSV whole"] = {"times": whole, "queries": None, "bytes": lines}
    anonymous = Client()
    cold, warm = [], []
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        assert anonymous.get("/stats/").status_code == 200
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        anonymous.get("/stats/")
        warm.append(time.perf_counter() - start)
    out["/stats/ cold"] = {"times": cold, "queries": None, "bytes": None}
    out["/stats/ cached"] = {"times": warm, "queries": None, "bytes": None}
    return out


def _p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def report(results: dict[int, dict]) -> None:
    sizes = sorted(results)
    print()
    print("| page | target | " + " | ".join(f"{results[n]['orgs']} orgs median / p95 (queries)" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for label, target in TARGETS.items():
        cells = []
        for n in sizes:
            r = results[n][label]
            med, p95 = statistics.median(r["times"]) * 1000, _p95(r["times"]) * 1000
            mark = "" if p95 <= target else " **missed**"
            q = f" ({r['queries']})" if r["queries"] is not None else ""
            cells.append(f"{med:.0f} / {p95:.0f} ms{q}{mark}")
        print(f"| {label} | ≤ {target} ms | " + " | ".join(cells) + " |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.runs)))
        return
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL server, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    results = {}
    for orgs in args.orgs:
        url, built = build(base, orgs)
        print(f"{orgs} organizations: loadscale {built:.0f} s", flush=True)
        env = {**os.environ, "DATABASE_URL": url, "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
        done = subprocess.run(
            [PY, __file__, "--measure", "--runs", str(args.runs)], env=env, check=True, capture_output=True, text=True
        )
        results[orgs] = json.loads(done.stdout.strip().splitlines()[-1])
        report({orgs: results[orgs]})
    report(results)


if __name__ == "__main__":
    main()
