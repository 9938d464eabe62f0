"""loadscale: a province-sized tree with two years of reports in every state (issue 16).

    manage.py loadscale --orgs 10000 [--password P]

A province → cities → districts → offices (about 20 × 10 × 48 at 10,000). A
few reports go through the project's own services (import, publication,
which renders the official PDF); the rest are bulk copies of them, as the
services would have stored them: the same rows, findings columns, revisions
and publications (sharing the template's stored files, whose hashes they
carry). For benchmarks and trying the dashboard; never on a production site.
"""

from __future__ import annotations

import copy
import json
import random
import time
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from disclosure import formats as reg
from disclosure.calendar import current_report_year
from disclosure.models import (
    ActiveDisclosureRow,
    ApplicationRow,
    AuditEvent,
    Membership,
    NarrativePart,
    Organization,
    Publication,
    Report,
    ReviewRow,
    Revision,
    publication_figures,
)
from disclosure.selectors import report_queryset
from disclosure.services import import_document
from disclosure.workflow import publish_imported

SEED = Path(__file__).resolve().parents[2] / "fixtures" / "seeds" / "002_lc-swj_2021.json"
PREFIX = "scale"
BATCH = 2000
# This year's mix: (status or None for not created, weight).
THIS_YEAR = [(None, 15), ("draft", 30), ("submitted", 20), ("returned", 5), ("approved", 10), ("published", 20)]
ERROR_SHARE = 0.1
CONTENT_MODELS = [
    (ActiveDisclosureRow, "active_rows"),
    (ApplicationRow, "application_rows"),
    (ReviewRow, "review_rows"),
    (NarrativePart, "narrative_parts"),
]


def shape(orgs: int) -> tuple[int, int, int]:
    """(cities, districts per city, offices per district) for about ``orgs`` organizations."""
    cities = max(1, round(orgs / 500))
    districts = 10 if orgs >= 200 else 2
    offices = max(1, (orgs - 1 - cities - cities * districts) // (cities * districts))
    return cities, districts, offices


class Command(BaseCommand):
    help = "载入省级规模的测试数据（仅用于性能测试）：省—市—区—部门，两个年度的各状态报告。"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--orgs", type=int, default=1000, help="about this many organizations")
        parser.add_argument("--password", default="", help="password of the two supervisors (default: random)")
        parser.add_argument("--seed", type=int, default=16)

    def handle(self, *args, **options) -> None:
        if Organization.objects.filter(code=f"{PREFIX}-prov").exists():
            raise CommandError("Scale data is loaded already (organization scale-prov); use a fresh database.")
        started = time.monotonic()
        rng = random.Random(options["seed"])
        year = current_report_year(timezone.localdate())
        with transaction.atomic():
            province, offices = self._tree(options["orgs"])
        self.stdout.write(f"{Organization.objects.count()} organizations ({time.monotonic() - started:.0f} s)")
        for y, mix in ((year - 1, [("published", 1)]), (year, THIS_YEAR)):
            with transaction.atomic():
                n = self._reports(y, offices, mix, rng)
            self.stdout.write(f"{y}: {n} reports ({time.monotonic() - started:.0f} s)")
        # Reports are bulk-created: the quality page's stored figures (CellFigure) are derived here.
        call_command("refresh_outliers", stdout=self.stdout)
        self.stdout.write(f"outlier figures ({time.monotonic() - started:.0f} s)")
        password = self._users(province, options["password"])
        self.stdout.write(f"supervisors scale-province, scale-district / {password}")

    # -- the tree --------------------------------------------------------------------------

    def _tree(self, orgs: int) -> tuple[Organization, list[Organization]]:
        cities, districts, offices = shape(orgs)
        province = Organization.objects.create(name="示例省人民政府", code=f"{PREFIX}-prov", kind="government")
        level = [province]
        plan = [
            (cities, "government", lambda p, i: (f"{p.code}-c{i}", f"示例第{i + 1}市人民政府")),
            (districts, "government", lambda p, i: (f"{p.code}-d{i}", f"{p.name[:-4]}第{i + 1}区人民政府")),
            (offices, "department", lambda p, i: (f"{p.code}-o{i}", f"{p.name[:-4]}{_office_name(i)}")),
        ]
        for count, kind, name_of in plan:
            made = [
                Organization(name=name_of(parent, i)[1], code=name_of(parent, i)[0], kind=kind, parent=parent)
                for parent in level
                for i in range(count)
            ]
            Organization.objects.bulk_create(made, batch_size=BATCH)
            if made[0].pk is None:  # a database that returns no ids
                made = list(Organization.objects.filter(code__in=[o.code for o in made]).select_related("parent"))
            for org in made:
                org.path = f"{org.parent.path}{org.pk}/"
            Organization.objects.bulk_update(made, ["path"], batch_size=BATCH)
            level = made
        return province, level

    # -- reports ---------------------------------------------------------------------------

    def _template(self, office: Organization, year: int, status: str) -> Report:
        """One report through the services: import, and publication (rendered once)."""
        doc = _complete_document(year)
        doc.update(year=year, organization={"name": office.name, "code": office.code, "kind": office.kind})
        doc["title"] = ""
        report = import_document(doc, status=status).report
        if status == "published":
            publish_imported(report)
        return report_queryset().get(pk=report.pk)  # its rows fetched once for every copy

    def _reports(self, year: int, offices: list[Organization], mix, rng: random.Random) -> int:
        statuses, weights = zip(*mix, strict=True)
        chosen = [(org, rng.choices(statuses, weights)[0]) for org in offices]
        chosen = [(org, status) for org, status in chosen if status]
        templates: dict[str, Report] = {}
        rest = []
        for org, status in chosen:
            if status not in templates:
                templates[status] = self._template(org, year, status)
            else:
                rest.append((org, status))
        for start in range(0, len(rest), BATCH):
            self._copies(templates, rest[start : start + BATCH], rng)
        return len(chosen)

    def _copies(self, templates: dict[str, Report], batch, rng: random.Random) -> None:
        now = timezone.now()
        reports = []
        for org, status in batch:
            report = copy.copy(templates[status])
            report.pk = report.id = None
            report._prefetched_objects_cache = {}
            report.organization = org
            report.organization_name = org.name
            report.status = status
            if rng.random() < ERROR_SHARE:
                report.error_count = rng.randint(1, 4)
                report.finding_rules = ["applications.balance"]
            reports.append(report)
        Report.objects.bulk_create(reports, batch_size=BATCH)
        if reports[0].pk is None:
            by_org = dict(
                Report.objects.filter(
                    organization__in=[r.organization for r in reports], year=reports[0].year
                ).values_list("organization_id", "pk")
            )
            for report in reports:
                report.pk = report.id = by_org[report.organization_id]
        for model, related in CONTENT_MODELS:
            rows = []
            for report, (_org, status) in zip(reports, batch, strict=True):
                for row in getattr(templates[status], related).all():
                    clone = copy.copy(row)
                    clone.pk = clone.id = None
                    clone.report_id = report.pk
                    rows.append(clone)
            model.objects.bulk_create(rows, batch_size=BATCH)
        AuditEvent.objects.bulk_create(
            [
                AuditEvent(action="report.imported", report=r, organization=r.organization, data={"bulk": True})
                for r in reports
            ],
            batch_size=BATCH,
        )
        self._publications(templates, reports, now)

    def _publications(self, templates: dict[str, Report], reports: list[Report], now) -> None:
        template = templates.get("published")
        if template is None:
            return
        published = [r for r in reports if r.status == "published"]
        if not published:
            return
        source = template.publications.select_related("revision").get()
        revisions = []
        for report in published:
            doc = copy.deepcopy(source.revision.document)
            doc["organization"] = {
                **doc["organization"],
                "name": report.organization_name,
                "code": report.organization.code,
            }
            revisions.append(Revision(report=report, number=1, event="publication", document=doc))
        Revision.objects.bulk_create(revisions, batch_size=BATCH)
        if revisions[0].pk is None:
            ids = dict(Revision.objects.filter(report__in=published).values_list("report_id", "pk"))
            for rev in revisions:
                rev.pk = rev.id = ids[rev.report_id]
        figures = publication_figures(source.revision.document)  # bulk_create skips save()
        Publication.objects.bulk_create(
            [
                Publication(
                    report=rev.report,
                    number=1,
                    revision=rev,
                    pdf=source.pdf.name,
                    data=source.data.name,
                    pdf_sha256=source.pdf_sha256,
                    data_sha256=source.data_sha256,
                    **figures,
                )
                for rev in revisions
            ],
            batch_size=BATCH,
        )

    # -- people ----------------------------------------------------------------------------

    def _users(self, province: Organization, password: str) -> str:
        import secrets

        password = password or secrets.token_urlsafe(12)
        district = Organization.objects.filter(code=f"{province.code}-c0-d0").first() or province
        User = get_user_model()
        for username, org in (("scale-province", province), ("scale-district", district)):
            user, _ = User.objects.get_or_create(username=username)
            user.set_password(password)
            user.save()
            Membership.objects.get_or_create(user=user, organization=org, role=Membership.Role.SUPERVISOR)
        return password


def _complete_document(year: int) -> dict:
    """A complete, balanced report (the test suite's builder, when the checkout has it);
    else the seed transcription, whose blanks are errors."""
    try:
        from tests.factories import balanced_document
    except ImportError:
        doc = json.loads(SEED.read_text(encoding="utf-8"))
        # The seed's years in its text become this report's, as an office would write them.
        text = json.dumps(doc["narrative"], ensure_ascii=False).replace("2021", "\0").replace("2020", str(year - 1))
        doc["narrative"] = json.loads(text.replace("\0", str(year)))
        return doc
    return balanced_document(reg.format_for_year(year).code, year=year, rng=random.Random(year))


OFFICES = [
    "教育局",
    "财政局",
    "民政局",
    "司法局",
    "自然资源局",
    "生态环境局",
    "住房和城乡建设局",
    "交通运输局",
    "水务局",
    "农业农村局",
    "商务局",
    "文化和旅游局",
    "卫生健康委员会",
    "应急管理局",
    "审计局",
    "市场监督管理局",
]


def _office_name(i: int) -> str:
    base = OFFICES[i % len(OFFICES)]
    return base if i < len(OFFICES) else f"{base[:-1]}第{i // len(OFFICES) + 1}{base[-1]}"
