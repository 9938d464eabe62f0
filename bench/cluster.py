"""Several web nodes and a worker on one machine, as a deployment runs them (ADR 0012).

Used by tests/test_nodes.py and bench/publish.py. ``Cluster`` creates a
scratch PostgreSQL database, seeds it with the project's own commands
(`migrate`, `loaddemo`, then reports built by tests/factories.py through the
services and the workflow), and starts, each in its own process group:

- N gunicorn nodes in the production configuration (reportsite/gunicorn_conf.py,
  DJANGO_DEBUG off), each on its own loopback port;
- one Celery worker (`celery -A reportsite worker --concurrency 1`);
- nginx with docs/deploy/nginx-cluster.conf (ports, paths and a throwaway
  certificate swapped), its upstream listing every node.

They share only PostgreSQL, Redis (a dedicated database number, flushed at
start and stop) and the storage (one MEDIA_ROOT folder, the shared volume).
``Browser`` is a cookie-keeping HTTP client that logs in like a person.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
CONFIG = ROOT / "reportsite" / "gunicorn_conf.py"
EXAMPLE = ROOT / "docs" / "deploy" / "nginx-cluster.conf"
ADMIN_URL = os.environ.get("CLUSTER_ADMIN_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
ACCEL_PREFIX = "/_published/"
EXAMPLE_NODES = ["10.0.0.11:8000", "10.0.0.12:8000"]

# Reports seeded for the cluster: org codes node-000, node-001, … (year 2021).
YEAR = 2021
SEED = """
import os
from django.contrib.auth import get_user_model
from disclosure.models import Membership, Organization
from disclosure.services import import_document
from disclosure.workflow import Action, transition
from tests.factories import balanced_document

drafts, approved = int(os.environ["SEED_DRAFTS"]), int(os.environ["SEED_APPROVED"])
password = os.environ["SEED_PASSWORD"]
User = get_user_model()
clerk = User.objects.create_user("node-clerk", password=password, first_name="测试填报人")
reviewer = User.objects.create_user("node-reviewer", password=password, first_name="测试审核人")
district = Organization.objects.get(code="demo-district")
for i in range(drafts + approved):
    code = f"node-{i:03d}"
    doc = balanced_document("2021", year=2021, org_code=code)
    doc["organization"]["name"] = f"测试局{i:03d}"
    doc["title"] = f"测试局{i:03d}2021年政府信息公开工作年度报告"
    report = import_document(doc).report
    Organization.objects.filter(pk=report.organization_id).update(parent=district)
    Membership.objects.create(user=clerk, organization=report.organization, role=Membership.Role.CLERK)
    Membership.objects.create(user=reviewer, organization=report.organization, role=Membership.Role.REVIEWER)
    if i >= drafts:  # fresh users: memberships are cached on the user object
        transition(report, Action.SUBMIT, actor=User.objects.get(pk=clerk.pk))
        transition(report, Action.APPROVE, actor=User.objects.get(pk=reviewer.pk))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def postgres_reachable() -> bool:
    try:
        import psycopg

        with psycopg.connect(ADMIN_URL, connect_timeout=2):
            return True
    except Exception:
        return False


def redis_reachable(url: str = "redis://127.0.0.1:6379/0") -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except Exception:
        return False


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self):
        return json.loads(self.body)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class Browser:
    """One person's HTTP client: cookies kept across every node (sessions live in the database).

    Plain HTTP to a node is sent as nginx would forward it (X-Forwarded-Proto:
    https), so secure cookies and the CSRF referer check behave as in production.
    """

    cookies: dict[str, str] = field(default_factory=dict)
    timeout: float = 60

    def request(self, base: str, method: str, path: str, *, body: bytes | None = None, headers=None) -> Response:
        url = urlsplit(base)
        if url.scheme == "https":
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE  # the harness's own self-signed certificate
            conn = http.client.HTTPSConnection(url.hostname, url.port, timeout=self.timeout, context=context)
        else:
            conn = http.client.HTTPConnection(url.hostname, url.port, timeout=self.timeout)
        sent = {"Referer": f"https://{url.netloc}{path}", **(headers or {})}
        if url.scheme == "http":
            sent["X-Forwarded-Proto"] = "https"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            for header in raw.headers.get_all("Set-Cookie") or []:
                for name, morsel in SimpleCookie(header).items():
                    self.cookies[name] = morsel.value
            return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, raw.read())
        finally:
            conn.close()

    def get(self, base: str, path: str, **headers: str) -> Response:
        return self.request(base, "GET", path, headers=headers)

    def post(self, base: str, path: str, data: dict | None = None) -> Response:
        self._ensure_csrf(base)
        form = {"csrfmiddlewaretoken": self.cookies["csrftoken"], **(data or {})}
        return self.request(
            base,
            "POST",
            path,
            body=urlencode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )

    def post_json(self, base: str, path: str, payload: dict) -> Response:
        self._ensure_csrf(base)
        return self.request(
            base,
            "POST",
            path,
            body=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json", "X-CSRFToken": self.cookies["csrftoken"]},
        )

    def _ensure_csrf(self, base: str) -> None:
        if "csrftoken" not in self.cookies:
            self.get(base, "/accounts/login/")

    def log_in(self, base: str, username: str, password: str) -> None:
        self.get(base, "/accounts/login/")
        response = self.post(base, "/accounts/login/", {"username": username, "password": password})
        assert response.status == 302, f"login of {username} failed: {response.status}"


class Cluster:
    """N web nodes, one worker, nginx; shared PostgreSQL, Redis and storage. A context manager."""

    def __init__(
        self,
        *,
        nodes: int = 2,
        drafts: int = 1,
        approved: int = 0,
        redis_db: int = 11,
        web_concurrency: int = 2,
        worker: bool = True,
        worker_nice: int = 0,
        quiet: bool = True,
    ) -> None:
        self.node_count, self.drafts, self.approved = nodes, drafts, approved
        self.redis_db, self.web_concurrency, self.with_worker, self.quiet = redis_db, web_concurrency, worker, quiet
        self.worker_nice = worker_nice
        self.password = secrets.token_urlsafe(12)
        self._secret = secrets.token_urlsafe(50)
        self.database = f"reportsite_nodes_{os.getpid()}"
        self.scratch = Path(tempfile.mkdtemp(prefix="reportsite-nodes-"))
        self.media = self.scratch / "shared-media"  # the shared volume
        self.node_ports = [free_port() for _ in range(nodes)]
        self.http_port, self.https_port = free_port(), free_port()
        self.processes: list[subprocess.Popen] = []
        self.nginx_config: Path | None = None

    # -- addresses -------------------------------------------------------------------

    @property
    def nodes(self) -> list[str]:
        return [f"http://127.0.0.1:{port}" for port in self.node_ports]

    @property
    def front(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    # -- life cycle ------------------------------------------------------------------

    @property
    def env(self) -> dict[str, str]:
        redis_url = f"redis://127.0.0.1:6379/{self.redis_db}"
        return {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "reportsite.settings",
            "DJANGO_DEBUG": "0",
            "SECRET_KEY": self._secret,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            # nginx redirects plain HTTP; the nodes sit behind it.
            "SECURE_SSL_REDIRECT": "0",
            "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{self.https_port}",
            "DATABASE_URL": ADMIN_URL.rsplit("/", 1)[0] + f"/{self.database}",
            "REDIS_URL": redis_url,
            "CACHE_URL": redis_url,
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "CELERY_TASK_ALWAYS_EAGER": "0",
            "CACHE_KEY_PREFIX": f"nodes-{os.getpid()}",
            "STORAGE_BACKEND": "django.core.files.storage.FileSystemStorage",  # the shared volume
            "MEDIA_ROOT": str(self.media),
            "STATIC_ROOT": str(self.scratch / "static"),
            "PUBLISHED_FILES_ACCEL_PREFIX": ACCEL_PREFIX,
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "LOG_LEVEL": "WARNING",
            # 0: the production default of reportsite/gunicorn_conf.py.
            **({"WEB_CONCURRENCY": str(self.web_concurrency)} if self.web_concurrency else {}),
        }

    def __enter__(self) -> Cluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def manage(self, *args: str, check: bool = True, **env: str) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [PY, "manage.py", *args], cwd=ROOT, env={**self.env, **env}, capture_output=True, text=True
        )
        if check and done.returncode:
            raise RuntimeError(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    def _flush_redis(self) -> None:
        import redis

        redis.Redis.from_url(self.env["REDIS_URL"]).flushdb()

    def start(self) -> None:
        import psycopg

        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {self.database}")
        self._flush_redis()
        self.media.mkdir()
        self.manage("migrate", "--noinput")
        self.manage("loaddemo", "--password", self.password)
        seeded = {"SEED_DRAFTS": str(self.drafts), "SEED_APPROVED": str(self.approved), "SEED_PASSWORD": self.password}
        self.manage("shell", "-c", SEED, **seeded)
        self.manage("collectstatic", "--noinput")
        output = None if not self.quiet else subprocess.DEVNULL
        for port in self.node_ports:
            command = [PY, "-m", "gunicorn", "reportsite.wsgi", "-c", str(CONFIG), "--bind", f"127.0.0.1:{port}"]
            self._spawn(command + ["--log-level", "warning"], output)
        if self.with_worker:
            worker = [PY, "-m", "celery", "-A", "reportsite", "worker", "-l", "warning", "--concurrency", "1"]
            if self.worker_nice:  # renders yield the CPU to web requests (systemd: Nice=)
                worker = ["nice", "-n", str(self.worker_nice), *worker]
            self._spawn(worker + ["--hostname", f"nodes-{os.getpid()}@%h"], output)
        self._start_nginx()
        for base in [*self.nodes, self.front]:
            self._wait_until_up(base)

    def _spawn(self, command: list[str], output) -> None:
        self.processes.append(
            subprocess.Popen(command, cwd=ROOT, env=self.env, start_new_session=True, stdout=output, stderr=output)
        )

    def _start_nginx(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
            + ["-keyout", str(self.scratch / "key.pem"), "-out", str(self.scratch / "cert.pem")],
            check=True,
            capture_output=True,
        )
        site = nginx_site(
            EXAMPLE.read_text(),
            nodes=[f"127.0.0.1:{port}" for port in self.node_ports],
            http=self.http_port,
            https=self.https_port,
            media=self.media,
            static=self.scratch / "static",
            cert=self.scratch,
        )
        temps = ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        temp = "".join(f"{name}_temp_path {self.scratch / name};\n" for name in temps)
        self.nginx_config = self.scratch / "nginx.conf"
        self.nginx_config.write_text(
            f"user root;\nworker_processes 1;\npid {self.scratch / 'nginx.pid'};\n"
            f"error_log {self.scratch / 'nginx-error.log'};\nevents {{ worker_connections 256; }}\n"
            f"http {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{temp}{site}\n}}\n"
        )
        subprocess.run([binary, "-c", str(self.nginx_config)], check=True, capture_output=True)

    def _wait_until_up(self, base: str, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        browser = Browser(timeout=5)
        while time.monotonic() < deadline:
            try:
                if browser.get(base, "/reports/").status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{base} did not answer within {seconds} s")

    def stop(self) -> None:
        if self.nginx_config is not None:
            binary = shutil.which("nginx") or "/usr/sbin/nginx"
            subprocess.run([binary, "-c", str(self.nginx_config), "-s", "stop"], capture_output=True)
            self.nginx_config = None
        for process in self.processes:
            try:
                os.killpg(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.processes.clear()
        try:
            import psycopg

            with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {self.database} WITH (FORCE)")
        except Exception:
            pass
        try:
            self._flush_redis()
        except Exception:
            pass
        shutil.rmtree(self.scratch, ignore_errors=True)

    # -- people ----------------------------------------------------------------------

    def browser(self, username: str, via: str) -> Browser:
        browser = Browser()
        browser.log_in(via, username, self.password)
        return browser


def nginx_site(example: str, *, nodes: list[str], http: int, https: int, media: Path, static: Path, cert: Path) -> str:
    """The cluster example with the harness's nodes, ports, paths and certificate."""
    first, second = (f"server {address}" for address in EXAMPLE_NODES)
    lines = []
    for line in example.splitlines():
        stripped = line.strip()
        if stripped.startswith(first):  # one line per node, with the example's options
            indent = line[: len(line) - len(line.lstrip())]
            options = stripped.removeprefix(first).split("#", 1)[0].strip()
            lines += [f"{indent}server {node} {options}" for node in nodes]
        elif not stripped.startswith(second):
            lines.append(line)
    site = (
        "\n".join(lines)
        .replace("listen 80;", f"listen 127.0.0.1:{http};")
        .replace("listen 443 ssl", f"listen 127.0.0.1:{https} ssl")
        .replace("/srv/reportsite/media/", f"{media}/")
        .replace("/srv/reportsite/static/", f"{static}/")
        .replace("/etc/ssl/reportsite/fullchain.pem", str(cert / "cert.pem"))
        .replace("/etc/ssl/reportsite/privkey.pem", str(cert / "key.pem"))
    )
    directives = "\n".join(line.split("#", 1)[0] for line in site.splitlines())
    assert "/srv/" not in directives and "/etc/ssl/" not in directives and "10.0.0." not in directives
    return site


def wait_for(check, seconds: float = 90, interval: float = 0.05):
    """Poll ``check`` until it returns something truthy; bounded."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(interval)
    raise TimeoutError(f"not within {seconds} s")
