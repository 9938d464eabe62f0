"""The example nginx site (docs/deploy/nginx.conf) in front of the application.

Runs Debian's nginx with the example's server block, its TLS and paths
swapped for the test's, proxying to the live server: published files go out
through X-Accel-Redirect with the application's headers, the internal
location is not reachable from outside, and unpublished reports stay 404.
"""

import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from disclosure.models import Publication, Report
from disclosure.services import import_document
from disclosure.workflow import publish_imported

from .factories import balanced_document, seed

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "docs" / "deploy" / "nginx.conf"
ACCEL_PREFIX = "/_published/"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def site_config(upstream: str, port: int, media: Path, static: Path, workdir: Path) -> str:
    """The example's HTTPS server block, served over plain HTTP on a test port."""
    example = EXAMPLE.read_text()
    servers = re.findall(r"^server \{.*?^\}", example, flags=re.M | re.S)
    site = next(s for s in servers if "listen 443" in s)
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{port};").replace("    http2 on;\n", "")
    site = re.sub(r"^\s*ssl_certificate.*\n", "", site, flags=re.M)
    site = site.replace("/srv/reportsite/media/", f"{media}/").replace("/srv/reportsite/static/", f"{static}/")
    upstream_block = re.search(r"^upstream reportsite_app \{.*?^\}", example, flags=re.M | re.S).group(0)
    upstream_block = re.sub(r"server 127\.0\.0\.1:8000;", f"server {upstream};", upstream_block)
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        site = f"{name}_temp_path {workdir / name};\n" + site
    return (
        f"user root;\nworker_processes 1;\npid {workdir / 'nginx.pid'};\nerror_log {workdir / 'error.log'};\n"
        "events { worker_connections 64; }\n"
        f"http {{\ninclude /etc/nginx/mime.types;\naccess_log off;\n{upstream_block}\n{site}\n}}\n"
    )


@pytest.fixture
def nginx(live_server, settings, tmp_path):
    """nginx with the example site, proxying to the live server."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    assert Path(binary).exists(), "nginx is missing: `make test` installs it (Debian package nginx-light)"
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PUBLISHED_FILES_ACCEL_PREFIX = ACCEL_PREFIX
    (tmp_path / "static").mkdir()
    port = _free_port()
    config = tmp_path / "nginx.conf"
    upstream = live_server.url.removeprefix("http://")
    config.write_text(site_config(upstream, port, settings.MEDIA_ROOT, tmp_path / "static", tmp_path))
    subprocess.run([binary, "-t", "-q", "-c", str(config)], check=True, capture_output=True)
    subprocess.run([binary, "-c", str(config)], check=True, capture_output=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        subprocess.run([binary, "-c", str(config), "-s", "stop"], capture_output=True)


def get(url: str, **headers: str):
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_it_hands_published_files_to_nginx_with_the_applications_headers(nginx):
    report = import_document(seed("002"), status=Report.Status.PUBLISHED).report
    publish_imported(report)
    pub = Publication.objects.get(report=report)

    status, headers, body = get(f"{nginx}/reports/lc-swj/2021.pdf")
    assert status == 200
    assert body == Path(pub.pdf.path).read_bytes()
    assert headers["Content-Type"] == "application/pdf"
    assert headers["ETag"] == f'"{pub.pdf_sha256}"'
    assert headers["Cache-Control"] == "public, max-age=300"
    assert "filename*=UTF-8''" in headers["Content-Disposition"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in headers

    status, headers, body = get(f"{nginx}/reports/lc-swj/2021/r1.json")
    assert status == 200 and body == Path(pub.data.path).read_bytes()
    assert "immutable" in headers["Cache-Control"]

    assert get(f"{nginx}/reports/lc-swj/2021.pdf", **{"If-None-Match": f'"{pub.pdf_sha256}"'})[0] == 304
    # The files themselves are only reachable through the application.
    relative = Path(pub.pdf.path).relative_to(Path(pub.pdf.storage.location))
    assert get(f"{nginx}{ACCEL_PREFIX}{relative}")[0] == 404
    assert get(f"{nginx}/reports/lc-swj/2021/")[0] == 200


def test_it_keeps_unpublished_reports_hidden_behind_nginx(nginx):
    import_document(balanced_document("2021", year=2021))
    assert get(f"{nginx}/reports/test-org/2021.pdf")[0] == 404
    assert get(f"{nginx}/reports/test-org/2021/")[0] == 404
