"""The supervisor's pages at province scale over HTTP: gunicorn in its production
configuration, production settings, PostgreSQL and Redis, as issue 16 measured them.

bench/scale.py times the same pages in-process (Django's test client); this
script serves them with gunicorn (reportsite/gunicorn_conf.py, sync workers,
two per core) from a scale database that `manage.py loadscale` built (bench/scale.py
builds them as reportsite_scale_<N>), and times whole HTTP requests:

- each page alone, ``--runs`` times, median and p95 (the first request of each
  page is a warm-up, except where the cold figure is the point);
- four province supervisors opening the dashboard at once, ``--rounds`` times,
  while an anonymous visitor reads a public page (issue 16: four at once got
  every worker killed at 60 s and the public site did not answer for a minute);
- the peak resident set (VmHWM) of every gunicorn worker afterwards.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/reportsite_scale_10000 .venv/bin/python bench/http_scale.py

Needs a scale database (bench/scale.py), Redis at 127.0.0.1:6379 (database 12
is flushed for the page cache) and PostgreSQL.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import quote

from scale_common import p95

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CONFIG = ROOT / "reportsite" / "gunicorn_conf.py"
PORT = int(os.environ.get("BENCH_PORT", "8933"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
PROVINCE, CITY = "scale-prov", "scale-prov-c0"

# Sessions for the two supervisors, made in the database the server reads, and the year shown.
SETUP = """
import json, django
django.setup()
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone
from disclosure.calendar import current_report_year
keys = {}
for name in ("scale-province", "scale-district"):
    client = Client()
    client.force_login(get_user_model().objects.get(username=name))
    keys[name] = client.cookies[settings.SESSION_COOKIE_NAME].value
print(json.dumps({"cookie": settings.SESSION_COOKIE_NAME, "keys": keys,
                  "year": current_report_year(timezone.localdate())}))
"""


def pages(year: int) -> list[tuple[str, str, str, float]]:
    """(label, who, path, target p95 in ms)."""
    q = quote("教育局")
    return [
        ("province /review/", "scale-province", "/review/", 300),
        ("province ?status=submitted", "scale-province", "/review/?status=submitted", 300),
        ("province ?problem=errors", "scale-province", "/review/?problem=errors", 300),
        ("province ?q=教育局", "scale-province", f"/review/?q={q}", 300),
        ("province, one city", "scale-province", f"/review/?org={CITY}", 300),
        ("district /review/", "scale-district", "/review/", 100),
        ("province roll-up", "scale-province", f"/review/rollup/{PROVINCE}/{year}/", 300),
        ("province completeness", "scale-province", f"/review/completeness/?year={year}&org={PROVINCE}", 300),
        ("province quality", "scale-province", f"/review/quality/?year={year}&org={PROVINCE}", 300),
        ("/stats/", "", "/stats/", 20),
    ]


def get(path: str, cookie: str = "", *, stream: bool = False) -> tuple[int, float, float, int]:
    """(status, first byte ms, whole ms, bytes) of one request on a new connection."""
    conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=120)
    headers = {"Host": "127.0.0.1", "Cookie": cookie} if cookie else {"Host": "127.0.0.1"}
    start = time.perf_counter()
    conn.request("GET", path, headers=headers)
    response = conn.getresponse()
    first = (time.perf_counter() - start) * 1000
    size = 0
    while chunk := response.read(65536):
        size += len(chunk)
    whole = (time.perf_counter() - start) * 1000
    conn.close()
    return response.status, first, whole, size


def worker_peaks(master: int) -> list[float]:
    """VmHWM (MB) of each gunicorn worker: the children of the master process."""
    peaks = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            text = status.read_text()
        except OSError:
            continue
        fields = dict(line.split(":\t", 1) for line in text.splitlines() if ":\t" in line)
        if fields.get("PPid", "").strip() == str(master) and "VmHWM" in fields:
            peaks.append(int(fields["VmHWM"].split()[0]) / 1024)
    return peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5, help="rounds of four supervisors at once")
    args = parser.parse_args()
    database = os.environ.get("DATABASE_URL", "")
    if "reportsite_scale_" not in database:
        raise SystemExit("DATABASE_URL must name a scale database (bench/scale.py builds reportsite_scale_<N>)")

    scratch = Path(tempfile.mkdtemp(prefix="reportsite-http-scale-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reportsite.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "MEDIA_ROOT": str(scratch / "media"),
        "STATIC_ROOT": str(scratch / "static"),
        "REDIS_URL": REDIS_URL,
        "LOG_LEVEL": "WARNING",
    }
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    for step in (["migrate", "--noinput"], ["collectstatic", "--noinput"]):
        subprocess.run([PY, "manage.py", *step], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    setup = json.loads(subprocess.run([PY, "-c", SETUP], cwd=ROOT, env=env, check=True, capture_output=True).stdout)
    cookies = {name: f"{setup['cookie']}={key}" for name, key in setup["keys"].items()} | {"": ""}
    year = setup["year"]

    command = [PY, "-m", "gunicorn", "reportsite.wsgi", "-c", str(CONFIG), "--bind", f"127.0.0.1:{PORT}"]
    server = subprocess.Popen([*command, "--log-level", "warning"], cwd=ROOT, env=env, start_new_session=True)
    ok = True
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get("/reports/")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("gunicorn did not answer")
            time.sleep(0.3)
        print(
            f"gunicorn ({CONFIG.relative_to(ROOT)}), production settings, {database.rsplit('/', 1)[-1]}, "
            f"year {year}, {args.runs} runs, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}"
        )

        # Every worker past its first request (templates, URL resolver), then
        # /stats/ cold: the first request after the page cache was flushed, 3 times.
        for _ in range(16):
            get("/stats/")
        colds = []
        for _ in range(3):
            redis.Redis.from_url(REDIS_URL).flushdb()
            status, _, cold, _ = get("/stats/")
            colds.append(cold if status == 200 else float("inf"))
        cold = statistics.median(colds)
        print(f"{'/stats/ cold':<30} {cold:7.0f} ms (target 200 ms: {'met' if cold <= 200 else 'MISSED'})")
        ok &= cold <= 200

        for label, who, path, target in pages(year):
            status, *_ = get(path, cookies[who])  # warm-up: the worker's imports, the cached figures
            if status != 200:
                raise SystemExit(f"{label}: HTTP {status} for {path}")
            times = [get(path, cookies[who])[2] for _ in range(args.runs)]
            met = p95(times) <= target
            ok &= met
            print(
                f"{label:<30} {statistics.median(times):7.0f} / {p95(times):5.0f} ms "
                f"(target p95 {target:.0f} ms: {'met' if met else 'MISSED'})"
            )

        csv = [get("/review/?format=csv", cookies["scale-province"]) for _ in range(max(3, args.runs // 2))]
        first, whole = [c[1] for c in csv], [c[2] for c in csv]
        met = p95(first) <= 300 and p95(whole) <= 3000
        ok &= met
        print(
            f"{'province CSV first byte/whole':<30} {statistics.median(first):7.0f} / "
            f"{statistics.median(whole):5.0f} ms, {csv[-1][3] / 1e6:.1f} MB "
            f"(targets 300 ms / 3 s: {'met' if met else 'MISSED'})"
        )

        # Four province supervisors at once, and the public meanwhile.
        dashboard, public, stop = [], [], threading.Event()

        def supervisor() -> None:
            for _ in range(args.rounds):
                status, _, whole, _ = get("/review/", cookies["scale-province"])
                dashboard.append(whole if status == 200 else float("inf"))

        def visitor() -> None:
            while not stop.is_set():
                status, _, whole, _ = get("/reports/")
                public.append(whole if status == 200 else float("inf"))

        reader = threading.Thread(target=visitor)
        reader.start()
        crowd = [threading.Thread(target=supervisor) for _ in range(4)]
        for t in crowd:
            t.start()
        for t in crowd:
            t.join()
        stop.set()
        reader.join()
        # Four sync workers all busy: a public request waits for one, so the target is
        # that it is answered within a second and nothing times out (issue 16: a minute).
        met = p95(dashboard) <= 1000 and p95(public) <= 1000
        print(
            f"{'4 supervisors at once':<30} {statistics.median(dashboard):7.0f} / {p95(dashboard):5.0f} ms each; "
            f"public /reports/ meanwhile {statistics.median(public):.0f} / {p95(public):.0f} ms "
            f"({len(public)} requests; targets 1 s each, no timeouts: {'met' if met else 'MISSED'})"
        )
        ok &= met

        peaks = worker_peaks(server.pid)
        met = bool(peaks) and max(peaks) < 300
        ok &= met
        print(
            f"{'worker peak RSS (VmHWM)':<30} {', '.join(f'{p:.0f}' for p in sorted(peaks))} MB "
            f"(target < 300 MB: {'met' if met else 'MISSED'})"
        )
        print(f"targets_met={ok}")
        return 0
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=15)
        redis.Redis.from_url(REDIS_URL).flushdb()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
