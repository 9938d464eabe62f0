"""The clerk's steps through a report, in statutory order, from the registry."""

from __future__ import annotations

from dataclasses import dataclass

from .formats import Format, NarrativePart

BASIC = "basic"
PREVIEW = "preview"
SUBMIT = "submit"


@dataclass(frozen=True)
class Step:
    code: str
    title: str
    section: str = ""  # registry section code, for section steps

    @property
    def is_table(self) -> bool:
        return self.section in {"active_disclosure", "applications", "reviews"}


def steps(fmt: Format) -> list[Step]:
    return [
        Step(BASIC, "基本信息"),
        *(Step(s.code, s.title, section=s.code) for s in fmt.sections),
        Step(PREVIEW, "预览与校验"),
        Step(SUBMIT, "提交"),
    ]


def step_parts(fmt: Format, step: Step) -> list[NarrativePart]:
    """The narrative parts written on a step (the preamble goes with 一)."""
    if not step.section:
        return []
    return [
        p
        for p in fmt.narrative
        if p.path.split(".")[0] == step.section or (step.section == "overview" and p.path == "preamble")
    ]


def step_of_ref(fmt: Format, ref: str) -> str:
    """The step where a finding's cell or part is edited."""
    head = ref.split(".")[0]
    if any(section.code == ref for section in fmt.sections):
        return ref
    if head == "narrative":
        path = ref.removeprefix("narrative.")
        return "overview" if path == "preamble" else path.split(".")[0]
    if head in {"active_disclosure", "applications", "reviews"}:
        return head
    return BASIC
