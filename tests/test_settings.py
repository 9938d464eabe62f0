"""Configuration comes from the environment and fails loudly."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # Only the basics of a shell: nothing a test run set up leaks into "production".
    clean = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "LC_ALL", "TMPDIR"}}
    clean["DJANGO_SETTINGS_MODULE"] = "reportsite.settings"
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_it_refuses_to_start_without_a_secret_key_in_production():
    result = manage("check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_it_refuses_to_start_without_allowed_hosts_in_production():
    result = manage("check", SECRET_KEY="x" * 60)
    assert result.returncode != 0 and "ALLOWED_HOSTS must be set" in result.stderr


def test_it_passes_the_deployment_checklist_with_production_settings():
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        SECRET_KEY="k7#Qv9!pX2m@L4z^R8t&W1y*E6u(I3o)P0a-S5d_F7g+H9j=K2l",
        ALLOWED_HOSTS="reports.example.gov.cn",
    )
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def _gunicorn_config(monkeypatch, **env: str):
    from gunicorn.config import Config

    for name in ("WEB_CONCURRENCY", "GUNICORN_BIND", "GUNICORN_TIMEOUT", "SENDFILE"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    cfg = Config()
    namespace = {"__file__": str(ROOT / "reportsite" / "gunicorn_conf.py")}
    exec((ROOT / "reportsite" / "gunicorn_conf.py").read_text(), namespace)
    for key, value in namespace.items():
        if key in cfg.settings:
            cfg.set(key, value)
    return cfg


def test_it_serves_with_sync_workers_and_sendfile(monkeypatch):
    cfg = _gunicorn_config(monkeypatch)
    assert cfg.worker_class_str == "sync"
    assert cfg.workers == min(2 * len(os.sched_getaffinity(0)), 16)
    assert cfg.address == [("127.0.0.1", 8000)]
    # Any value of gunicorn's `sendfile` setting means --no-sendfile.
    assert cfg.sendfile is True


def test_it_takes_the_server_layout_from_the_environment(monkeypatch):
    cfg = _gunicorn_config(monkeypatch, WEB_CONCURRENCY="7", GUNICORN_BIND="0.0.0.0:9000", GUNICORN_TIMEOUT="120")
    assert (cfg.workers, cfg.address, cfg.timeout) == (7, [("0.0.0.0", 9000)], 120)
