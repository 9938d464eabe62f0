"""Derive every report's stored findings again (after a change of the rules, or once
on a database that predates the columns)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from disclosure.selectors import report_queryset
from disclosure.services.findings import store_findings


class Command(BaseCommand):
    help = "Re-run the rules on every report (or one year's) and store their error and warning counts."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, help="only the reports of this year")

    def handle(self, *args, **options) -> None:
        reports = report_queryset().order_by("pk")
        if options["year"]:
            reports = reports.filter(year=options["year"])
        changed = total = 0
        for report in reports.iterator(chunk_size=200):
            before = (report.error_count, report.warning_count, report.finding_rules)
            store_findings(report)
            total += 1
            changed += before != (report.error_count, report.warning_count, report.finding_rules)
        self.stdout.write(f"{total} reports checked, {changed} changed.")
