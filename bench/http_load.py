"""HTTP load on the public portal: gunicorn + PostgreSQL on loopback, driven by wrk.

Creates a scratch PostgreSQL database, loads the demo data (five published
reports), serves the app with gunicorn on 127.0.0.1 in its production
configuration (reportsite/gunicorn_conf.py), and runs wrk with 50
concurrent connections for 30 s against a published PDF, then against a
report's HTML page. Prints requests/s, p50 and p99 latency and error counts.
Targets (2-core machine): PDF p99 <= 50 ms, HTML p99 <= 150 ms, no errors.

    .venv/bin/python bench/http_load.py [--duration 30] [--connections 50]

Needs Debian's wrk, a PostgreSQL at 127.0.0.1:5432 (trust auth) and Redis (database 13).
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CONFIG = ROOT / "reportsite" / "gunicorn_conf.py"
ADMIN_URL = os.environ.get("BENCH_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
DB_NAME = "reportsite_bench"
PORT = int(os.environ.get("BENCH_PORT", "8931"))
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
TARGETS = {"pdf": ("/reports/lc-swj/2021.pdf", 50.0), "html": ("/reports/lc-swj/2021/", 150.0)}


def run(*args: str, env: dict) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def recreate_database() -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{DB_NAME}"


def drop_database() -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def wait_until_up(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"server did not answer at {url}")


UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def to_ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * UNITS[unit]


def wrk(url: str, duration: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s", url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    latency = dict(re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", out, re.M))
    errors = 0
    socket = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket:
        errors += sum(int(n) for n in socket.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),
        "p50_ms": to_ms(latency["50"]),
        "p99_ms": to_ms(latency["99"]),
        "errors": errors,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--workers", type=int, default=0, help="worker processes (default: the config's)")
    parser.add_argument(
        "--threads", type=int, default=0, help="compare: threaded workers with keep-alive instead of the config's sync"
    )
    parser.add_argument("--hold", type=int, default=0, help="keep the server up N seconds after setup (profiling)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")

    scratch = Path(tempfile.mkdtemp(prefix="reportsite-bench-"))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "reportsite.settings",
        "DJANGO_DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": recreate_database(),
        "MEDIA_ROOT": str(scratch / "media"),
        # The page cache in Redis (as in production), a database of the benchmark's own.
        "REDIS_URL": REDIS_URL,
        "STATIC_ROOT": str(scratch / "static"),
        "LOG_LEVEL": "WARNING",
    }
    server = None
    flush_redis()
    try:
        run("migrate", "--noinput", env=env)
        run("loaddemo", "--password", secrets.token_urlsafe(12), env=env)
        run("collectstatic", "--noinput", env=env)
        # The production configuration (reportsite/gunicorn_conf.py), bound to the bench port.
        command = [PY, "-m", "gunicorn", "reportsite.wsgi", "-c", str(CONFIG), "--bind", f"127.0.0.1:{PORT}"]
        command += ["--log-level", "warning"]
        if args.workers:
            command += ["--workers", str(args.workers)]
        if args.threads:
            command += ["--worker-class", "gthread", "--threads", str(args.threads), "--keep-alive", "5"]
        server = subprocess.Popen(command, cwd=ROOT, env=env, start_new_session=True)
        base = f"http://127.0.0.1:{PORT}"
        for path, _ in TARGETS.values():
            wait_until_up(base + path)
        if args.hold:
            print(f"serving on {base} for {args.hold} s", flush=True)
            time.sleep(args.hold)
        workers = args.workers or "default"
        layout = f"gthread {workers}x{args.threads} keep-alive" if args.threads else f"sync x{workers}"
        print(
            f"gunicorn {layout} ({CONFIG.relative_to(ROOT)}), PostgreSQL, wrk -t2 -c{args.connections} "
            f"-d{args.duration}s, {os.cpu_count()} cores"
        )
        ok = True
        for name, (path, target) in TARGETS.items():
            result = wrk(base + path, args.duration, args.connections)
            met = result["p99_ms"] <= target and result["errors"] == 0
            ok &= met
            print(
                f"{name:<5} {path:<28} rps={result['rps']:.0f} requests={result['requests']} "
                f"p50_ms={result['p50_ms']:.1f} p99_ms={result['p99_ms']:.1f} errors={result['errors']} "
                f"(target p99 <= {target:.0f} ms: {'met' if met else 'MISSED'})"
            )
        print(f"targets_met={ok}")
        return 0
    finally:
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        drop_database()
        flush_redis()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
