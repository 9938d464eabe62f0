"""Derive every report's stored findings again (after a change of the rules, or once
on a database that predates the columns), and the outlier figures with them."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db.models import Value
from django.db.models.functions import Length, Replace

from disclosure.selectors import report_queryset
from disclosure.services.findings import parent_checks_once, refresh_figures, store_findings


class Command(BaseCommand):
    help = "Re-run the rules on every report (or one year's) and store their error and warning counts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, help="only the reports of this year")

    def handle(self, *args, **options) -> None:
        path = "organization__path"
        # Deepest organizations first: a 汇总 government comes after its children,
        # so its own check sees them stored and it is checked once.
        depth = Length(path) - Length(Replace(path, Value("/"), Value("")))
        reports = report_queryset().annotate(depth=depth).order_by("-depth", "pk")
        if options["year"]:
            reports = reports.filter(year=options["year"])
        changed = total = 0
        with parent_checks_once():
            for report in reports.iterator(chunk_size=200):
                before = (report.error_count, report.warning_count, report.finding_rules)
                store_findings(report, figures=False)
                total += 1
                changed += before != (report.error_count, report.warning_count, report.finding_rules)
        figures = refresh_figures(options["year"])
        self.stdout.write(f"{total} reports checked, {changed} changed; {figures} outlier figures stored.")
