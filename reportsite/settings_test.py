"""Settings for the test suite: production settings with test-only values."""

import os
from pathlib import Path

os.environ.setdefault("SECRET_KEY", "test-only-secret-key-never-used-in-production")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")

from .settings import *  # noqa: E402,F403

# Hashing cost is irrelevant to what the tests check; keep the suite fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tests render templates without running collectstatic first.
STORAGES = {**STORAGES, "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}  # noqa: F405
MEDIA_ROOT = BASE_DIR / "test-artifacts" / "media"  # noqa: F405
# WhiteNoise looks for collected files; tests serve static files from the finders.
STATIC_ROOT = BASE_DIR / "test-artifacts" / "static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The live server of the browser tests shares the test connection between threads.
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# One test database per run, so two pytest runs on one machine do not share it.
_RUN = os.environ.get("TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    # A file, not memory: the browser tests' live server threads then get
    # connections of their own instead of sharing the test's.
    DATABASES["default"]["TEST"] = {"NAME": str(BASE_DIR / "test-artifacts" / f"test-{_RUN}.sqlite3")}  # noqa: F405
else:
    DATABASES["default"]["TEST"] = {"NAME": f"test_reportsite_{_RUN}"}  # noqa: F405
# Jobs run in-process (when the test's transaction "commits": django_capture_on_commit_callbacks)
# unless a test starts a real worker (tests/test_jobs_worker.py). Queued jobs then go to a
# Redis database of their own, on a queue of this run's own, so that parallel runs and a
# developer's `make run` never take each other's jobs.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_BROKER_URL = os.environ.get("TEST_CELERY_BROKER_URL", "redis://127.0.0.1:6379/15")
CELERY_RESULT_BACKEND = CELERY_BROKER_URL
CELERY_TASK_DEFAULT_QUEUE = f"reportsite-test-{_RUN}"
if os.environ.get("REPORTSITE_TEST_WORKER"):
    # The worker that tests/test_jobs_worker.py starts: the test's database and files, no eager jobs.
    CELERY_TASK_ALWAYS_EAGER = False
    DATABASES["default"]["NAME"] = os.environ["REPORTSITE_TEST_WORKER_DB"]  # noqa: F405
    MEDIA_ROOT = Path(os.environ["REPORTSITE_TEST_WORKER_MEDIA"])
