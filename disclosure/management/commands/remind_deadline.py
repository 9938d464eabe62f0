"""remind_deadline --days N: e-mail clerks whose report is not yet submitted."""

from django.conf import settings
from django.core.mail import send_mass_mail
from django.core.management.base import BaseCommand
from django.utils import timezone

from disclosure.calendar import current_report_year, deadline
from disclosure.formats import REPORT_NAME
from disclosure.models import Membership, Organization, Report
from disclosure.services import record_event

NOT_SUBMITTED = {Report.Status.DRAFT, Report.Status.RETURNED}


class Command(BaseCommand):
    help = "提醒距截止日期不足N天（或已逾期）且报告尚未提交的机关的填报人。"

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="距截止日期不足多少天时提醒")
        parser.add_argument("--year", type=int, help="报告年度（默认为当前填报年度）")
        parser.add_argument("--dry-run", action="store_true", help="只列出，不发送")

    def handle(self, *args, **options):
        today = timezone.localdate()
        messages, offices = [], []
        orgs = Organization.objects.filter(memberships__role=Membership.Role.CLERK).distinct().order_by("code")
        for org in orgs:
            # Governments report until 31 March, departments until 31 January.
            year = options["year"] or current_report_year(today, government_level=org.is_government)
            report = Report.objects.filter(organization=org, year=year).first()
            if report is not None and report.status not in NOT_SUBMITTED:
                continue
            due = deadline(year, government_level=org.is_government)
            days_left = (due - today).days
            if days_left > options["days"]:
                continue
            emails = sorted(
                {
                    m.user.email
                    for m in org.memberships.filter(role=Membership.Role.CLERK).select_related("user")
                    if m.user.email
                }
            )
            when = f"还有{days_left}天" if days_left >= 0 else f"已逾期{-days_left}天"
            state = "尚未创建" if report is None else f"状态为“{report.get_status_display()}”"
            subject = f"【截止提醒】{org.name}{year}年度{REPORT_NAME}"
            body = (
                f"{org.name}{year}年度{REPORT_NAME}{state}。\n"
                f"截止日期为{due:%Y年%m月%d日}，{when}。请尽快完成填报并提交审核。\n"
            )
            messages += [(subject, body, settings.DEFAULT_FROM_EMAIL, [email]) for email in emails]
            offices.append(f"{org.code} {org.name}：{state}，{when}，{len(emails)}位填报人")
        for line in offices:
            self.stdout.write(line)
        if options["dry_run"]:
            self.stdout.write(f"（试运行）将发送{len(messages)}封提醒邮件。")
            return
        sent = send_mass_mail(messages) if messages else 0
        record_event("deadline.reminded", year=options["year"], days=options["days"], sent=sent, offices=len(offices))
        self.stdout.write(f"已发送{sent}封提醒邮件。")
