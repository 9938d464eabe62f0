"""Publishing on two nodes and a worker: click to downloadable PDF, and the portal meanwhile.

Starts the cluster of bench/cluster.py (two gunicorn nodes in the production
configuration, one Celery worker, nginx with docs/deploy/nginx-cluster.conf,
a scratch PostgreSQL database, Redis database 12, a shared storage folder)
with approved reports seeded through the services and the workflow. Then:

1. For 20 reports, one after another: a reviewer clicks 发布 (a POST through
   nginx, signed in over HTTP) and the public URL of the PDF is polled through
   nginx until it answers 200. Prints the median and p95 of click → downloadable,
   and of the click's own response time (publishing inside the request or as a job).
2. The portal under load, loopback only and bounded in time: client threads
   request a report page and a published PDF through nginx (keep-alive),
   first alone, then while eight more reports are published at once (eight
   renders). Prints p50/p99/max of the portal requests in each phase
   (target: p99 < 150 ms while the renders run).

    .venv/bin/python bench/publish.py [--reports 20] [--renders 8] [--clients 4] [--worker-nice 10]

Needs PostgreSQL at 127.0.0.1:5432 (trust auth), Redis at 127.0.0.1:6379 and nginx.
"""

from __future__ import annotations

import argparse
import http.client
import os
import ssl
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.cluster import YEAR, Browser, Cluster, wait_for  # noqa: E402

PORTAL_PATHS = ["/reports/lc-swj/2021/", "/reports/lc-swj/2021.pdf"]
TARGET_P99_MS = 150.0


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def publish_and_wait(reviewer: Browser, front: str, org: str, public: Browser) -> tuple[float, float]:
    """Seconds from the click to its answer, and from the click to a downloadable PDF."""
    start = time.perf_counter()
    answer = reviewer.post(front, f"/review/{org}/{YEAR}/actions/publish/")
    clicked = time.perf_counter() - start
    assert answer.status == 302, answer.status
    wait_for(lambda: public.get(front, f"/reports/{org}/{YEAR}.pdf").status == 200, seconds=90, interval=0.01)
    return clicked, time.perf_counter() - start


class PortalLoad:
    """Client threads on keep-alive HTTPS connections to nginx, recording each request's latency."""

    def __init__(self, port: int, clients: int) -> None:
        self.port, self.clients = port, clients
        self.latencies: list[float] = []
        self.errors = 0
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _connect(self) -> http.client.HTTPSConnection:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the harness's own certificate
        return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=30, context=context)

    def _run(self, offset: int) -> None:
        conn, i = self._connect(), offset
        while not self._stop.is_set():
            path = PORTAL_PATHS[i % len(PORTAL_PATHS)]
            i += 1
            start = time.perf_counter()
            try:
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                if response.status != 200:
                    self.errors += 1
                    continue
                self.latencies.append((time.perf_counter() - start) * 1000)
            except (OSError, http.client.HTTPException):
                self.errors += 1
                conn.close()
                conn = self._connect()
        conn.close()

    def __enter__(self) -> PortalLoad:
        self._threads = [threading.Thread(target=self._run, args=(n,)) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)

    def summary(self) -> str:
        if not self.latencies:
            return f"requests=0 errors={self.errors}"
        return (
            f"requests={len(self.latencies)} p50_ms={percentile(self.latencies, 0.5):.1f} "
            f"p99_ms={percentile(self.latencies, 0.99):.1f} max_ms={max(self.latencies):.1f} errors={self.errors}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=20, help="publications timed one after another")
    parser.add_argument("--renders", type=int, default=8, help="publications at once under portal load")
    parser.add_argument("--clients", type=int, default=4, help="portal client threads")
    parser.add_argument("--baseline", type=float, default=5.0, help="seconds of portal load without renders")
    parser.add_argument("--worker-nice", type=int, default=0, help="run the worker at this niceness (e.g. 10)")
    args = parser.parse_args()

    approved = args.reports + args.renders
    with Cluster(nodes=2, drafts=0, approved=approved, redis_db=12, worker_nice=args.worker_nice) as cluster:
        print(
            f"cluster: 2 gunicorn nodes (sync, reportsite/gunicorn_conf.py, WEB_CONCURRENCY="
            f"{cluster.web_concurrency} each), 1 Celery worker (concurrency 1, nice {args.worker_nice}), "
            "nginx (nginx-cluster.conf), "
            f"PostgreSQL, Redis, shared storage; {os.cpu_count()} cores",
            flush=True,
        )
        reviewer = cluster.browser("node-reviewer", cluster.front)
        public = Browser()

        clicks, ready = [], []
        for i in range(args.reports):
            clicked, downloadable = publish_and_wait(reviewer, cluster.front, f"node-{i:03d}", public)
            clicks.append(clicked)
            ready.append(downloadable)
        print(
            f"publish ({args.reports} reports, one at a time): click->downloadable PDF "
            f"median={statistics.median(ready):.2f}s p95={percentile(ready, 0.95):.2f}s max={max(ready):.2f}s; "
            f"click answered median={statistics.median(clicks):.2f}s p95={percentile(clicks, 0.95):.2f}s",
            flush=True,
        )

        with PortalLoad(cluster.https_port, args.clients) as alone:
            time.sleep(args.baseline)
        print(f"portal alone ({args.clients} clients, {args.baseline:.0f}s): {alone.summary()}", flush=True)

        orgs = [f"node-{i:03d}" for i in range(args.reports, args.reports + args.renders)]
        reviewers = [cluster.browser("node-reviewer", cluster.front) for _ in orgs]
        results: list[tuple[float, float]] = []
        with PortalLoad(cluster.https_port, args.clients) as loaded:
            start = time.perf_counter()
            threads = [
                threading.Thread(
                    target=lambda r=r, o=o: results.append(publish_and_wait(r, cluster.front, o, Browser()))
                )
                for r, o in zip(reviewers, orgs, strict=True)
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=180)
            window = time.perf_counter() - start
        met = bool(loaded.latencies) and percentile(loaded.latencies, 0.99) < TARGET_P99_MS and not loaded.errors
        print(
            f"portal during {args.renders} renders ({window:.1f}s until all {len(results)} PDFs downloadable): "
            f"{loaded.summary()} (target p99 < {TARGET_P99_MS:.0f} ms: {'met' if met else 'MISSED'})",
            flush=True,
        )
        if results:
            print(
                f"the {len(results)} concurrent publications: click answered max={max(c for c, _ in results):.2f}s, "
                f"downloadable max={max(d for _, d in results):.2f}s"
            )
        verified = cluster.manage("verify_publications", check=False)
        print(f"verify_publications: {verified.stdout.strip().splitlines()[-1]}")
        print(f"targets_met={met}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
