"""remind_deadline --days N: e-mail clerks whose report is not yet submitted.

The same job as the daily one celery beat starts (``disclosure.jobs.remind_deadline``),
run here in this process.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from disclosure.jobs.tasks import remind
from disclosure.models import Job
from disclosure.notifications import deadline_reminders


class Command(BaseCommand):
    help = "提醒距截止日期不足N天（或已逾期）且报告尚未提交的机关的填报人。"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="距截止日期不足多少天时提醒")
        parser.add_argument("--year", type=int, help="报告年度（默认为当前填报年度）")
        parser.add_argument("--dry-run", action="store_true", help="只列出，不发送")

    def handle(self, *args, **options):
        today = timezone.localdate()
        reminders = deadline_reminders(days=options["days"], year=options["year"], today=today)
        for line in reminders.offices:
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write(f"（试运行）将发送{len(reminders.messages)}封提醒邮件。")
            return
        job = Job.objects.create(
            kind=Job.Kind.REMIND,
            params={"days": options["days"], "year": options["year"], "today": today.isoformat()},
            result={"messages": [list(m) for m in reminders.messages], "offices": reminders.offices, "sent": []},
        )
        remind.apply(args=[str(job.pk)])
        job.refresh_from_db()
        if job.status != Job.Status.SUCCEEDED:
            raise CommandError(job.error or "截止提醒邮件未能全部发出。")
        self.stdout.write(f"已发送{job.result['delivered']}封提醒邮件。")
