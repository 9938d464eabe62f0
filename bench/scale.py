"""A province on one deployment (issue 16): the supervisor's pages at 1,000 / 3,000 / 10,000 organizations.

For each size: a fresh PostgreSQL database, ``migrate``, ``loadscale --orgs N``
(two years of reports in every state), then the pages timed in-process with
Django's test client (no HTTP server; DEBUG off, locmem cache), median and p95
of --runs, with their query counts, printed against the issue's targets.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/scale.py [--orgs 1000 3000 10000] [--runs 5]

Also the year's data package ``/data/<year>.zip`` (first visitor, the job
that builds it, the stored file's first byte) and each page's peak resident
set (VmHWM, reset before each page) against the 300 MB a worker may use.

Targets are printed, never asserted. The databases ``reportsite_scale_<N>`` are
left for a browser walk (users scale-province and scale-district, password
bench-scale-1) and dropped and created again by the next run; ``--reuse``
measures the ones already there instead.
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
from urllib.parse import urlsplit

from scale_common import db_url, p95

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
    "/data/<year>.zip first visitor (building)": 300,
    "/data/<year>.zip first byte (built)": 300,
    "/data/<year>.zip whole (built)": None,
    "year zip job (worker)": None,
}
RSS_TARGET_MB = 300  # a worker's resident set, on every page


def _reset_peak_rss() -> None:
    """Start a new peak: Linux resets VmHWM to the current RSS on "5"."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def _peak_rss_mb() -> float:
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def _recreate(base: str, name: str) -> None:
    import psycopg

    with psycopg.connect(db_url(base, urlsplit(base).path.strip("/") or "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


def _exists(base: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(db_url(base, urlsplit(base).path.strip("/") or "postgres"), autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def build(base: str, orgs: int) -> tuple[str, float]:
    name = f"reportsite_scale_{orgs}"
    _recreate(base, name)
    env = {**os.environ, "DATABASE_URL": db_url(base, name), "DJANGO_SETTINGS_MODULE": "reportsite.settings_test"}
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
        _reset_peak_rss()
        for _ in range(runs):
            with CaptureQueriesContext(connection) as ctx:
                start = time.perf_counter()
                response = client.get(url, params)
                times.append(time.perf_counter() - start)
            assert response.status_code == 200, (label, response.status_code)
            queries, size = len(ctx.captured_queries), len(response.content)
        out[label] = {"times": times, "queries": queries, "bytes": size, "rss": _peak_rss_mb()}
    first, whole, lines = [], [], 0
    _reset_peak_rss()
    for _ in range(runs):
        start = time.perf_counter()
        response = province.get("/review/", {"format": "csv"})
        stream = iter(response.streaming_content)
        body = [next(stream)]
        first.append(time.perf_counter() - start)
        body.extend(stream)
        whole.append(time.perf_counter() - start)
        lines = b"".join(body).count(b"\n")
    rss = _peak_rss_mb()
    out["province CSV first byte"] = {"times": first, "queries": None, "bytes": None, "rss": rss}
    out["province CSV whole"] = {"times": whole, "queries": None, "bytes": lines, "rss": rss}
    anonymous = Client()
    cold, warm = [], []
    _reset_peak_rss()
    for _ in range(runs):
        cache.clear()
        start = time.perf_counter()
        assert anonymous.get("/stats/").status_code == 200
        cold.append(time.perf_counter() - start)
        start = time.perf_counter()
        anonymous.get("/stats/")
        warm.append(time.perf_counter() - start)
    rss = _peak_rss_mb()
    out["/stats/ cold"] = {"times": cold, "queries": None, "bytes": None, "rss": rss}
    out["/stats/ cached"] = {"times": warm, "queries": None, "bytes": None, "rss": rss}
    out.update(measure_year_zip(anonymous, runs))
    return out


def measure_year_zip(anonymous, runs: int) -> dict:
    """/data/<year>.zip of the year with the most publications, as a visitor meets it.

    Above REPORT_YEAR_ZIP_INLINE_MAX publications the package is built by a
    worker: the first visitor gets the 503 "being built" page while the job is
    queued (the broker is left out here: the job is recorded, not sent), the
    job is then run in this process as a worker runs it, and later visitors
    get the stored file. Each first visit starts from no package at all.
    """
    from unittest import mock

    from django.db.models import Count

    from disclosure.jobs import core
    from disclosure.jobs.tasks import TASKS
    from disclosure.models import Job, Publication

    year = Publication.objects.values("report__year").annotate(n=Count("pk")).order_by("-n")[0]["report__year"]
    url = f"/data/{year}.zip"

    def forget_packages() -> None:
        for job in Job.objects.filter(kind=Job.Kind.YEAR_ZIP, key__startswith=f"year_zip:{year}:"):
            if job.result_file:
                job.result_file.delete(save=False)
            job.delete()

    out: dict = {}
    visits = []
    _reset_peak_rss()
    for _ in range(runs):
        forget_packages()
        with mock.patch.object(core, "send"):
            start = time.perf_counter()
            response = anonymous.get(url)
            visits.append(time.perf_counter() - start)
        assert response.status_code == 503, response.status_code
    out["/data/<year>.zip first visitor (building)"] = {
        "times": visits,
        "queries": None,
        "bytes": None,
        "rss": _peak_rss_mb(),
    }
    job = Job.objects.get(kind=Job.Kind.YEAR_ZIP, key__startswith=f"year_zip:{year}:")
    _reset_peak_rss()
    start = time.perf_counter()
    TASKS[Job.Kind.YEAR_ZIP].apply(args=[str(job.pk)])
    built = time.perf_counter() - start
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, (job.status, job.result)
    out["year zip job (worker)"] = {
        "times": [built],
        "queries": None,
        "bytes": job.result.get("size"),
        "rss": _peak_rss_mb(),
    }
    first, whole = [], []
    _reset_peak_rss()
    for _ in range(runs):
        start = time.perf_counter()
        response = anonymous.get(url)
        assert response.status_code == 200, response.status_code
        stream = iter(response.streaming_content)
        next(stream)
        first.append(time.perf_counter() - start)
        size = sum(len(chunk) for chunk in stream)
        whole.append(time.perf_counter() - start)
        response.close()
    rss = _peak_rss_mb()
    out["/data/<year>.zip first byte (built)"] = {"times": first, "queries": None, "bytes": None, "rss": rss}
    out["/data/<year>.zip whole (built)"] = {"times": whole, "queries": None, "bytes": size, "rss": rss}
    out["zip year"] = year
    out["zip publications"] = job.result.get("publications")
    return out


def report(results: dict[int, dict]) -> None:
    sizes = sorted(results)
    print()
    print("| page | target | " + " | ".join(f"{results[n]['orgs']} orgs median / p95 (queries)" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for label, target in TARGETS.items():
        cells = []
        for n in sizes:
            r = results[n].get(label)
            if r is None:
                cells.append("—")
                continue
            med, high = statistics.median(r["times"]) * 1000, p95(r["times"]) * 1000
            mark = "" if target is None or high <= target else " **missed**"
            q = f" ({r['queries']})" if r["queries"] is not None else ""
            cells.append(f"{med:.0f} / {high:.0f} ms{q}{mark}")
        print(f"| {label} | {'—' if target is None else f'≤ {target} ms'} | " + " | ".join(cells) + " |")
    print()
    print("| page | target | " + " | ".join(f"{results[n]['orgs']} orgs peak RSS" for n in sizes) + " |")
    print("|---|---|" + "---|" * len(sizes))
    for label in TARGETS:
        cells = []
        for n in sizes:
            r = results[n].get(label)
            rss = r.get("rss") if r else None
            mark = "" if rss is None or rss < RSS_TARGET_MB else " **missed**"
            cells.append("—" if rss is None else f"{rss:.0f} MB{mark}")
        print(f"| {label} | < {RSS_TARGET_MB} MB | " + " | ".join(cells) + " |")
    for n in sizes:
        if "zip year" in results[n]:
            print(
                f"{results[n]['orgs']} orgs: year zip of {results[n]['zip year']}, "
                f"{results[n]['zip publications']} publications"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, nargs="+", default=[1000, 3000, 10000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--reuse", action="store_true", help="measure the reportsite_scale_<N> databases already built, if present"
    )
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
        if args.reuse and _exists(base, f"reportsite_scale_{orgs}"):
            url = db_url(base, f"reportsite_scale_{orgs}")
            print(f"{orgs} organizations: reusing {url}", flush=True)
        else:
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
