"""The Celery application: jobs run by `celery -A reportsite worker` (ADR 0009).

`celery -A reportsite beat` starts the periodic jobs below; the tasks live in
``disclosure.jobs.tasks``.
"""

import os

from celery import Celery
from celery.schedules import crontab

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings")

app = Celery("reportsite")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks(["disclosure.jobs"])

app.conf.beat_schedule = {
    # Every morning: clerks whose report is not submitted two weeks before the
    # deadline or later (the same job as `manage.py remind_deadline --days 14`).
    "remind-deadline": {
        "task": "disclosure.jobs.remind_deadline",
        "schedule": crontab(hour=8, minute=30),
        "kwargs": {"days": 14},
    },
    # Jobs whose message was lost are sent again, jobs whose worker died fail visibly.
    "sweep-jobs": {"task": "disclosure.jobs.sweep", "schedule": 300.0},
}
