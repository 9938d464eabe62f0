"""jurisdiction_xlsx ORG_CODE YEAR -o FILE.xlsx"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from disclosure.models import Organization
from disclosure.office import JurisdictionRow, jurisdiction_xlsx
from disclosure.selectors import export_report, report_queryset


def subtree(root: Organization) -> list[Organization]:
    """The organization and everything under it (Organization.parent), depth first."""
    children: dict[int | None, list[Organization]] = {}
    for org in Organization.objects.order_by("code"):
        children.setdefault(org.parent_id, []).append(org)
    out, stack, seen = [], [root], set()
    while stack:
        org = stack.pop()
        if org.pk in seen:
            continue
        seen.add(org.pk)
        out.append(org)
        stack.extend(reversed(children.get(org.pk, [])))
    return out


class Command(BaseCommand):
    help = "导出一个机关及其下属机关某年度的全部报告：每张表一个工作表，每个机关一行。"

    def add_arguments(self, parser):
        parser.add_argument("org_code")
        parser.add_argument("year", type=int)
        parser.add_argument("-o", "--output", required=True, help="输出的 .xlsx 文件")

    def handle(self, *args, **options):
        root = Organization.objects.filter(code=options["org_code"]).first()
        if root is None:
            raise CommandError(f"没有找到机关“{options['org_code']}”。")
        orgs = subtree(root)
        reports = {r.organization_id: r for r in report_queryset().filter(organization__in=orgs, year=options["year"])}
        rows = []
        for org in orgs:
            report = reports.get(org.pk)
            if report is None:
                rows.append(JurisdictionRow(org.name, org.code, "未填报", None))
            else:
                rows.append(JurisdictionRow(org.name, org.code, report.get_status_display(), export_report(report)))
        title = f"{root.name}及所属机关{options['year']}年度政府信息公开工作年度报告数据"
        Path(options["output"]).write_bytes(jurisdiction_xlsx(options["year"], rows, title=title))
        done = sum(1 for r in rows if r.document is not None)
        self.stdout.write(f"已导出：{options['output']}（{len(rows)}个机关，{done}份报告）")
