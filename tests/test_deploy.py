"""The example nginx site (docs/deploy/nginx.conf) in front of the application.

Runs Debian's nginx on the example as shipped, with only its paths, ports and
certificate swapped for the test's (a throwaway self-signed one), proxying to
the live server: published files go out through X-Accel-Redirect with the
application's headers, the internal location is not reachable from outside,
plain HTTP is sent to HTTPS, and unpublished reports stay 404.
"""

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

import pytest

from disclosure.models import Publication, Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import balanced_document, seed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "deploy" / "nginx.conf"
ACCEL_PREFIX = "/_published/"
# What nginx sets itself (or drops, hop by hop) on every response.
NGINX_OWN = {"date", "server", "connection", "content-length", "last-modified", "accept-ranges", "x-accel-redirect"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_config(example: str, *, upstream: str, http: int, https: int, media: Path, static: Path, cert: Path) -> str:
    """The example with the test's ports, paths and certificate."""
    site = (
        example.replace("listen 80;", f"listen 127.0.0.1:{http};")
        .replace("listen 443 ssl", f"listen 127.0.0.1:{https} ssl")
        .replace("server 127.0.0.1:8000;", f"server {upstream};")
        .replace("/srv/reportsite/media/", f"{media}/")
        .replace("/srv/reportsite/static/", f"{static}/")
        .replace("/etc/ssl/reportsite/fullchain.pem", str(cert / "cert.pem"))
        .replace("/etc/ssl/reportsite/privkey.pem", str(cert / "key.pem"))
    )
    directives = "\n".join(line.split("#", 1)[0] for line in site.splitlines())
    assert "/srv/" not in directives and "/etc/ssl/" not in directives and ":8000" not in directives
    return site


@pytest.fixture
def nginx(live_server, settings, tmp_path):
    """nginx with the example site, proxying to the live server; yields (http port, https port)."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(binary).exists(), "nginx is missing: `make test` installs it (Debian package nginx-light)"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLISHED_FILES_ACCEL_PREFIX = ACCEL_PREFIX
    (tmp_path / "static").mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost"]
        + ["-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")],
        check=True,
        capture_output=True,
    )
    http, https = _free_port(), _free_port()
    site = site_config(
        EXAMPLE.read_text(),
        upstream=live_server.url.removeprefix("http://"),
        http=http,
        https=https,
        media=settings.MEDIA_ROOT,
        static=tmp_path / "static",
        cert=tmp_path,
    )
    temp = "".join(
        f"{name}_temp_path {tmp_path / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    config = tmp_path / "nginx.conf"
    config.write_text(
        f"user root;\nworker_processes 1;\npid {tmp_path / 'nginx.pid'};\nerror_log {tmp_path / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        f"http {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{temp}{site}\n}}\n"
    )
    checked = subprocess.run([binary, "-t", "-c", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    subprocess.run([binary, "-c", str(config)], check=True, capture_output=True)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", https), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield http, https
    finally:
        subprocess.run([binary, "-c", str(config), "-s", "stop"], capture_output=True)


def stored(field) -> bytes:
    """A stored file's bytes, read through its storage."""
    with field.storage.open(field.name, "rb") as source:
        return source.read()


def get(port: int, path: str, *, tls: bool = True, **headers: str) -> tuple[int, dict, bytes]:
    """One request; headers come back lower-cased."""
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the test's own self-signed certificate
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def test_it_hands_published_files_to_nginx_with_the_applications_headers(nginx, live_server):
    _, https = nginx
    report = import_document(seed("002"), status=Report.Status.PUBLISHED).report
    publish_imported(report)
    pub = Publication.objects.get(report=report)

    status, headers, body = get(https, "/reports/lc-swj/2021.pdf")
    assert status == 200
    assert body == stored(pub.pdf)
    assert headers["etag"] == f'"{pub.pdf_sha256}"'
    assert headers["cache-control"] == "public, max-age=300"
    assert "filename*=UTF-8''" in headers["content-disposition"]
    assert "x-accel-redirect" not in headers

    # Every header the application set reaches the client unchanged, as
    # the application sends it behind a proxy that speaks HTTPS.
    upstream = live_server.url.removeprefix("http://")
    _, own, empty = get(
        int(upstream.rsplit(":", 1)[1]), "/reports/lc-swj/2021.pdf", tls=False, **{"X-Forwarded-Proto": "https"}
    )
    assert own["x-accel-redirect"].startswith(ACCEL_PREFIX) and empty == b""
    assert {"content-security-policy", "strict-transport-security", "x-frame-options"} <= set(own)
    for name, value in own.items():
        if name not in NGINX_OWN:
            assert headers.get(name) == value, name

    status, headers, body = get(https, "/reports/lc-swj/2021/r1.json")
    assert status == 200 and body == stored(pub.data)
    assert "immutable" in headers["cache-control"]

    assert get(https, "/reports/lc-swj/2021.pdf", **{"If-None-Match": f'"{pub.pdf_sha256}"'})[0] == 304
    # The files themselves are only reachable through the application.
    assert get(https, f"{ACCEL_PREFIX}{pub.pdf.name}")[0] == 404
    assert get(https, "/reports/lc-swj/2021/")[0] == 200


def test_it_sends_plain_http_to_https(nginx):
    http, _ = nginx
    status, headers, _ = get(http, "/reports/", tls=False, Host="reports.example.gov.cn")
    assert status == 301 and headers["location"] == "https://reports.example.gov.cn/reports/"


def test_it_keeps_unpublished_reports_hidden_behind_nginx(nginx):
    _, https = nginx
    import_document(balanced_document("2021", year=2021))
    assert get(https, "/reports/test-org/2021.pdf")[0] == 404
    assert get(https, "/reports/test-org/2021/")[0] == 404


def test_it_keeps_the_several_nodes_example_in_step_with_the_single_node_one():
    """nginx-cluster.conf is nginx.conf with an upstream of several nodes; nothing else differs."""
    cluster = (EXAMPLE.parent / "nginx-cluster.conf").read_text()
    single = EXAMPLE.read_text()
    assert cluster[cluster.index("\nserver {") :] == single[single.index("\nserver {") :]
    upstream = cluster[cluster.index("upstream reportsite_app {") : cluster.index("\nserver {")]
    assert upstream.count("    server ") >= 2
