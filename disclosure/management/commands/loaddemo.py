"""loaddemo: a demo jurisdiction with the five seed reports, demo users and drafts.

Idempotent: running it again resets the demo data to this state.
"""

import datetime as dt
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from disclosure.calendar import current_report_year
from disclosure.interchange import load_document
from disclosure.models import Membership, Organization, Report
from disclosure.services import create_report, import_document, record_event
from disclosure.workflow import publish_imported

SEEDS = Path(__file__).resolve().parents[2] / "fixtures" / "seeds"
DEMO_DRAFT = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "draft_demo-jyj.json"

# (code, name, kind, parent code); seed offices keep the names they print.
ORGANIZATIONS = [
    ("demo-city", "演示市人民政府", "government", None),
    ("wlcb-qyjj", "乌兰察布市区域经济合作局", "department", "demo-city"),
    ("demo-district", "演示区人民政府", "government", "demo-city"),
    ("xq-swj", "兴庆区商务和经济技术合作局", "department", "demo-district"),
    ("qu-swj", "区商务局", "department", "demo-district"),
    ("lc-swj", "老城区商务和工业信息化局", "department", "demo-district"),
    ("wch-zsj", "文昌湖区招商局", "department", "demo-district"),
    ("demo-jyj", "演示区教育局", "department", "demo-district"),
    ("demo-czj", "演示区财政局", "department", "demo-district"),
]

# (username, display name, organization, role)
USERS = [
    ("city-supervisor", "市政务公开办 审核人", "demo-city", Membership.Role.SUPERVISOR),
    ("district-supervisor", "区政务公开办 审核人", "demo-district", Membership.Role.SUPERVISOR),
    ("lc-reviewer", "老城区商务局 分管领导", "lc-swj", Membership.Role.REVIEWER),
    ("lc-clerk", "老城区商务局 填报人", "lc-swj", Membership.Role.CLERK),
    ("jyj-reviewer", "演示区教育局 分管领导", "demo-jyj", Membership.Role.REVIEWER),
    ("jyj-clerk", "演示区教育局 填报人", "demo-jyj", Membership.Role.CLERK),
    ("czj-clerk", "演示区财政局 填报人", "demo-czj", Membership.Role.CLERK),
    ("xq-clerk", "兴庆区商务局 填报人", "xq-swj", Membership.Role.CLERK),
]


class Command(BaseCommand):
    help = "载入演示数据：演示辖区、五份已发布的年度报告、各角色演示用户和本年度草稿。"

    def add_arguments(self, parser):
        parser.add_argument("--password", help="所有演示用户使用此密码（默认为每个用户随机生成并打印）")

    @transaction.atomic
    def handle(self, *args, **options):
        orgs: dict[str, Organization] = {}
        for code, name, kind, parent in ORGANIZATIONS:
            orgs[code], _ = Organization.objects.update_or_create(
                code=code, defaults={"name": name, "kind": kind, "parent": orgs.get(parent)}
            )

        for path in sorted(SEEDS.glob("*.json")):
            result = import_document(load_document(path), replace=True, status=Report.Status.PUBLISHED)
            publish_imported(result.report)
            errors = sum(1 for f in result.findings if f.severity == "error")
            self.stdout.write(
                f"已发布报告：{result.report.organization.name} {result.report.year}"
                f"（规则发现 {len(result.findings)} 项，其中错误 {errors} 项）"
            )

        year = current_report_year(timezone.localdate())
        Report.objects.filter(year=year, organization__code__in=["demo-jyj", "demo-czj", "xq-swj"]).delete()
        for code in ("demo-czj", "xq-swj"):
            create_report(orgs[code], year)
            self.stdout.write(f"本年度草稿：{orgs[code].name} {year}")
        # One draft half-written, to show findings: data from a fixture, retargeted to this year.
        doc = load_document(DEMO_DRAFT)
        doc["year"] = year
        doc["title"] = f"演示区教育局{year}年政府信息公开工作年度报告"
        import_document(doc, replace=True)
        self.stdout.write(f"本年度草稿（部分填写）：{orgs['demo-jyj'].name} {year}")

        User = get_user_model()
        self.stdout.write("\n演示用户（用户名 / 密码 / 角色）：")
        rows = []
        admin_password = options["password"] or secrets.token_urlsafe(9)
        admin, _ = User.objects.update_or_create(
            username="admin",
            defaults={"is_staff": True, "is_superuser": True, "first_name": "系统管理员"},
        )
        admin.set_password(admin_password)
        admin.save()
        rows.append(("admin", admin_password, "系统管理员"))
        for username, display, org_code, role in USERS:
            password = options["password"] or secrets.token_urlsafe(9)
            user, _ = User.objects.update_or_create(
                username=username, defaults={"first_name": display, "email": f"{username}@example.org"}
            )
            user.set_password(password)
            user.save()
            Membership.objects.filter(user=user).delete()
            Membership.objects.create(user=user, organization=orgs[org_code], role=role)
            rows.append((username, password, f"{Membership.Role(role).label} · {orgs[org_code].name}"))
        for username, password, role in rows:
            self.stdout.write(f"  {username:<20} {password:<16} {role}")
        record_event("demo.loaded", year=year, at=dt.datetime.now(dt.UTC).isoformat())
