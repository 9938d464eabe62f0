"""Validation rules (spec §6): each a small named function in ``RULES``.

``check_document`` runs them on a canonical interchange document, so the
command line, the web pages and the workflow share one engine.
"""

from __future__ import annotations

from typing import Any

from . import cross_year, hierarchy, narrative, tables  # noqa: F401  (registers the rules)
from .engine import RULES, SEVERITY_ORDER, Context, Finding, Rule, Severity


def check_document(doc: dict, previous: dict | None = None, rollup: Any = None) -> list[Finding]:
    """All findings for a canonical document; ``previous`` is last year's, if known;
    ``rollup`` the roll-up of a government's subtree (hierarchy.HierarchyInput) when
    its report covers its departments (jurisdiction.rollup.hierarchy_input)."""
    if previous is not None and (
        previous["organization"]["code"] != doc["organization"]["code"] or previous["year"] != doc["year"] - 1
    ):
        previous = None  # cross-year rules compare with the same office's last year only
    ctx = Context(doc, previous, rollup)
    findings: list[Finding] = []
    for item in RULES.values():
        findings.extend(item.run(ctx))
    order = list(RULES)
    return sorted(findings, key=lambda f: (SEVERITY_ORDER[f.severity], order.index(f.rule)))


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == Severity.ERROR for f in findings)


__all__ = ["RULES", "Context", "Finding", "Rule", "Severity", "check_document", "has_errors"]
