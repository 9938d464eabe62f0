"""The rules registry: small named functions returning findings (spec §6)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .. import formats as reg
from ..formats import Format


class Severity(StrEnum):
    ERROR = "error"  # blocks submission
    WARNING = "warning"  # needs the clerk's written explanation
    INFO = "info"  # shown only


SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True)
class Finding:
    rule: str
    severity: Severity
    cells: tuple[str, ...]
    message: str

    @property
    def key(self) -> str:
        """Stable identity of a finding, for the clerk's explanation of a warning."""
        return f"{self.rule}:{','.join(self.cells)}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": str(self.severity),
            "rule": self.rule,
            "cells": list(self.cells),
            "message": self.message,
        }


@dataclass
class Context:
    """What a rule sees: the canonical document, its format, last year's.

    ``rollup`` is what the database knows beyond the document, handed in by
    the caller as plain data (rules.hierarchy.HierarchyInput): the roll-up of
    a government's subtree. Rules stay pure functions of their context; only
    those that need the roll-up are skipped without it.
    """

    doc: dict
    previous: dict | None = None
    rollup: Any = None
    fmt: Format = field(init=False)

    def __post_init__(self) -> None:
        self.fmt = reg.get_format(self.doc["format"])

    @property
    def apps(self) -> dict:
        return self.doc["applications"]

    @property
    def is_government(self) -> bool:
        return self.doc["organization"]["kind"] == "government"

    def label(self, ref: str) -> str:
        return self.fmt.label_of(ref)


# A rule yields (cells, message); the engine adds its name and severity.
Raw = tuple[Iterable[str], str]
RuleFunc = Callable[[Context], Iterable[Raw]]


@dataclass(frozen=True)
class Rule:
    code: str
    severity: Severity
    func: RuleFunc
    needs_previous: bool = False
    needs_rollup: bool = False

    def run(self, ctx: Context) -> list[Finding]:
        if self.needs_previous and ctx.previous is None:
            return []
        if self.needs_rollup and ctx.rollup is None:
            return []
        return [Finding(self.code, self.severity, tuple(cells), msg) for cells, msg in self.func(ctx)]


RULES: dict[str, Rule] = {}


def rule(
    code: str, severity: Severity, *, needs_previous: bool = False, needs_rollup: bool = False
) -> Callable[[RuleFunc], RuleFunc]:
    def register(func: RuleFunc) -> RuleFunc:
        if code in RULES:
            raise ValueError(f"rule {code} registered twice")
        RULES[code] = Rule(code, severity, func, needs_previous, needs_rollup)
        return func

    return register


def is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def known(*values: Any) -> bool:
    """True when every value is a usable whole number (others are other rules' business)."""
    return all(is_whole(v) for v in values)
