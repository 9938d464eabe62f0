"""Derive the outlier checks' stored figures (``CellFigure``) again, without re-running
the rules: after a bulk load (``loadscale``) or on a database that predates them."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from disclosure.services.findings import refresh_figures


class Command(BaseCommand):
    help = "Derive the quality page's outlier figures of every report (or one year's) again."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--year", type=int, help="only this year's reports and next year's (they compare with it)")

    def handle(self, *args, **options) -> None:
        stored = refresh_figures(options["year"])
        self.stdout.write(f"{stored} outlier figures stored.")
