"""gunicorn settings for production and the load benchmark.

    gunicorn reportsite.wsgi -c reportsite/gunicorn_conf.py

Sync workers, one request at a time each, behind a buffering reverse proxy
(nginx) that holds slow clients and keep-alive connections (ADR 0008). Every
request is a new connection to gunicorn, so the kernel's accept queue spreads
the load evenly over the workers. Threaded workers with keep-alive pin each
client connection to one process; under 50 concurrent clients the unlucky
processes queued several times longer (PDF p99 160-260 ms against 26 ms).

Environment: GUNICORN_BIND (default 127.0.0.1:8000), WEB_CONCURRENCY (worker
processes, default two per usable core, at most 16), GUNICORN_TIMEOUT (seconds, default 60; no
request does heavy work since uploads, renders and mail became jobs, ADR 0009).
"""

import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
worker_class = "sync"
# The cores this process may run on (not every core of the host), two
# workers each, at most 16: each worker holds ~170 MB once it has rendered a
# PDF, and more workers than cores only queue (docs/benchmarks.md).
MAX_DEFAULT_WORKERS = 16
workers = int(os.environ.get("WEB_CONCURRENCY") or min(2 * len(os.sched_getaffinity(0)), MAX_DEFAULT_WORKERS))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Published files go out with sendfile() (gunicorn's default) unless the
# proxy sends them itself (PUBLISHED_FILES_ACCEL_PREFIX). Do not set
# `sendfile` here: gunicorn treats any value of it as --no-sendfile, which
# costs a third of the PDF throughput.
