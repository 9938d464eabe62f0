"""The Celery application: jobs run by `celery -A reportsite worker` (ADR 0009)."""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings")

app = Celery("reportsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
