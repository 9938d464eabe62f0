"""Two web nodes and one worker behind nginx, sharing only PostgreSQL, Redis and the storage.

Real processes in the production configuration (bench/cluster.py): gunicorn
nodes with DJANGO_DEBUG off, a Celery worker, nginx with
docs/deploy/nginx-cluster.conf. People sign in over HTTP and move between
nodes with one session. Publishing may finish within the request or later in
the worker: the test polls the public URL (bounded) either way.

Runs in the PostgreSQL pass of the suite (about a minute): the nodes share a
PostgreSQL database of their own, which SQLite cannot stand in for.
"""

import hashlib
import html
import re

import pytest
from django.db import connection

from bench.cluster import YEAR, Browser, Cluster, postgres_reachable, redis_reachable, wait_for

pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="several nodes share PostgreSQL: this test runs in the suite's PostgreSQL pass (DATABASE_URL=postgres…)",
    ),
    pytest.mark.skipif(not postgres_reachable(), reason="PostgreSQL at 127.0.0.1:5432 does not answer"),
    pytest.mark.skipif(not redis_reachable(), reason="Redis at 127.0.0.1:6379 does not answer"),
]

ORG = "node-000"
STEP = f"/workspace/{ORG}/{YEAR}/overview/"
PLATFORM = "narrative.overview.platform"


@pytest.fixture(scope="module")
def cluster():
    with Cluster(nodes=2, drafts=1, approved=0, redis_db=11) as running:
        yield running


def save_platform(clerk, node: str, text: str) -> None:
    """What the editor does: the new text, sent with the text it replaces (its base)."""
    page = clerk.get(node, STEP)
    assert page.status == 200
    version = int(re.search(r'name="version" value="(\d+)"', page.text).group(1))
    shown = re.search(rf'<textarea[^>]*name="{re.escape(PLATFORM)}"[^>]*>(.*?)</textarea>', page.text, re.S)
    payload = {"version": version, "step": "overview", "values": {PLATFORM: text}}
    payload["bases"] = {PLATFORM: html.unescape(shown.group(1))}
    saved = clerk.post_json(node, f"/workspace/{ORG}/{YEAR}/save/", payload)
    assert saved.status == 200 and saved.json()["ok"] and PLATFORM in saved.json()["values"], saved.text


def review_and_publish(clerk, reviewer, *, submit_via: str, publish_via: str) -> None:
    assert clerk.post(submit_via, f"/workspace/{ORG}/{YEAR}/submission/").status == 302
    for action in ("approve", "publish"):
        answer = reviewer.post(publish_via, f"/review/{ORG}/{YEAR}/actions/{action}/")
        assert answer.status == 302, (action, answer.status)


def test_it_runs_on_two_nodes_and_a_worker_behind_nginx(cluster):
    node1, node2 = cluster.nodes
    public = Browser()  # the portal needs no login

    # A clerk saves through node 1 and reads it back through node 2 (one session, in the database).
    clerk = cluster.browser("node-clerk", node1)
    save_platform(clerk, node1, "第一节点保存的平台建设情况。")
    assert "第一节点保存的平台建设情况。" in clerk.get(node2, STEP).text
    assert public.get(node1, f"/reports/{ORG}/{YEAR}/").status == 404  # nothing published yet

    # A reviewer publishes through node 2; the public downloads through node 1 and through nginx.
    reviewer = cluster.browser("node-reviewer", node2)
    review_and_publish(clerk, reviewer, submit_via=node1, publish_via=node2)
    first = wait_for(lambda: (r := public.get(node1, f"/reports/{ORG}/{YEAR}.json")).status == 200 and r)
    # The nodes hand files to nginx by their storage name, the same on every node.
    assert first.headers["x-accel-redirect"] == f"/_published/published/{ORG}/{YEAR}/r1.json"
    data = public.get(cluster.front, f"/reports/{ORG}/{YEAR}.json")
    assert data.headers["etag"] == first.headers["etag"] == f'"{data.sha256}"'
    assert "第一节点保存的平台建设情况。" in data.json()["narrative"]["overview"]["platform"]
    via_nginx = public.get(cluster.front, f"/reports/{ORG}/{YEAR}.pdf")
    assert via_nginx.status == 200 and via_nginx.body.startswith(b"%PDF")
    on_node1 = public.get(node1, f"/reports/{ORG}/{YEAR}.pdf")
    assert via_nginx.headers["etag"] == on_node1.headers["etag"] == f'"{via_nginx.sha256}"'
    assert public.get(cluster.front, f"/reports/{ORG}/{YEAR}/r1.json").body == data.body

    # Both nodes have the newest version cached now (pages, download entries).
    for node in (node1, node2):
        assert "第一节点保存的平台建设情况。" in public.get(node, f"/reports/{ORG}/{YEAR}/").text
        assert public.get(node, f"/reports/{ORG}/{YEAR}.json").headers["etag"] == first.headers["etag"]

    # A correction, published through node 1: both nodes serve the new revision at once.
    assert clerk.post(node2, f"/review/{ORG}/{YEAR}/actions/correct/").status == 302
    save_platform(clerk, node2, "更正后的平台建设情况。")
    review_and_publish(clerk, reviewer, submit_via=node2, publish_via=node1)
    wait_for(lambda: public.get(node2, f"/reports/{ORG}/{YEAR}.json").headers.get("etag") != first.headers["etag"])
    newest_json = public.get(cluster.front, f"/reports/{ORG}/{YEAR}.json")
    assert "更正后的平台建设情况。" in newest_json.json()["narrative"]["overview"]["platform"]
    for base in (node1, node2):
        json_file = public.get(base, f"/reports/{ORG}/{YEAR}.json")
        assert json_file.headers["x-accel-redirect"].endswith("/r2.json"), base
        assert json_file.headers["etag"] == newest_json.headers["etag"], base
        assert public.get(base, f"/reports/{ORG}/{YEAR}.pdf").headers["x-accel-redirect"].endswith("/r2.pdf"), base
        assert "更正后的平台建设情况。" in public.get(base, f"/reports/{ORG}/{YEAR}/").text, base
    newest = public.get(cluster.front, f"/reports/{ORG}/{YEAR}.pdf")
    assert newest.headers["etag"] == f'"{hashlib.sha256(newest.body).hexdigest()}"' != via_nginx.headers["etag"]
    # The first version stays public, unchanged, from every node.
    assert public.get(cluster.front, f"/reports/{ORG}/{YEAR}/r1.pdf").body == via_nginx.body

    # Every stored file, written by whichever process published it, is intact in the shared storage.
    verified = cluster.manage("verify_publications", check=False)
    assert verified.returncode == 0, verified.stdout
    assert verified.stdout.strip().endswith("7 publications, 14 files checked, 0 problems")
