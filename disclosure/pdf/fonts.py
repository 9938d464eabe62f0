"""Fonts of the printed report and the checks that they (and the subsetter) exist.

report.css names one font stack per role (--report-face-<role>) that starts
with the official faces (licensed, used when the server has them) and falls
back to open faces. Most open faces are known to fontconfig; the Fandol faces
live in the TeX tree, outside fontconfig's directories, so they are declared
here as @font-face rules pointing at their files.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

# Where Debian's texlive-lang-chinese (and a few other layouts) put Fandol.
FANDOL_DIRS = (
    "/usr/share/texlive/texmf-dist/fonts/opentype/public/fandol",
    "/usr/share/texmf/fonts/opentype/public/fandol",
    "/usr/local/texlive/texmf-dist/fonts/opentype/public/fandol",
    "/opt/homebrew/share/texmf-dist/fonts/opentype/public/fandol",
)
# Extra directories (os.pathsep-separated) to look for them in.
FONT_DIRS_ENV = "REPORT_FONT_DIRS"


@dataclass(frozen=True)
class FontFile:
    family: str
    filename: str
    weight: int = 400


FANDOL_FACES = (
    FontFile("FandolFang", "FandolFang-Regular.otf"),
    FontFile("FandolKai", "FandolKai-Regular.otf"),
    FontFile("FandolHei", "FandolHei-Regular.otf"),
    FontFile("FandolHei", "FandolHei-Bold.otf", 700),
    FontFile("FandolSong", "FandolSong-Regular.otf"),
    FontFile("FandolSong", "FandolSong-Bold.otf", 700),
)

# What each role of report.css prints, for messages.
ROLES = {
    "fangsong": "正文（仿宋）",
    "xiaobiaosong": "标题（小标宋）",
    "heiti": "一级标题（黑体）",
    "kaiti": "二级标题（楷体）",
    "songti": "表格和页码（宋体）",
}
_STACK_RE = re.compile(r"--report-face-(\w+)\s*:\s*([^;]+);")


def stacks(css: str) -> dict[str, tuple[str, ...]]:
    """The font stacks declared in report.css (--report-face-<role>), official
    faces first, generic families left out."""
    out = {}
    for role, value in _STACK_RE.findall(css):
        families = tuple(f.strip().strip("\"'") for f in value.split(","))
        out[role] = tuple(f for f in families if f not in {"serif", "sans-serif", "monospace"})
    return out


def _search_dirs() -> list[Path]:
    extra = [d for d in os.environ.get(FONT_DIRS_ENV, "").split(os.pathsep) if d]
    return [Path(d) for d in (*extra, *FANDOL_DIRS)]


def find_font_files() -> dict[FontFile, Path]:
    """The open faces outside fontconfig that are present on this machine."""
    found = {}
    for face in FANDOL_FACES:
        for directory in _search_dirs():
            path = directory / face.filename
            if path.is_file():
                found[face] = path
                break
    return found


def font_face_css(files: dict[FontFile, Path] | None = None) -> str:
    """@font-face rules for the open faces found outside fontconfig."""
    files = find_font_files() if files is None else files
    rules = []
    for face, path in files.items():
        rules.append(
            f'@font-face {{ font-family: "{face.family}"; font-weight: {face.weight}; src: url("{path.as_uri()}"); }}'
        )
    return "\n".join(rules)


def fontconfig_families() -> set[str]:
    """Family names fontconfig knows (every language variant of their names)."""
    from weasyprint.text.ffi import ffi, fontconfig

    config = fontconfig.FcInitLoadConfigAndFonts()
    try:
        font_set = fontconfig.FcConfigGetFonts(config, fontconfig.FcSetSystem)
        families: set[str] = set()
        string = ffi.new("FcChar8 **")
        for i in range(font_set.nfont if font_set != ffi.NULL else 0):
            n = 0
            while fontconfig.FcPatternGetString(font_set.fonts[i], b"family", n, string) == 0:
                families.add(ffi.string(string[0]).decode("utf-8", "replace"))
                n += 1
        return families
    finally:
        fontconfig.FcConfigDestroy(config)


def resolved_faces(css: str) -> dict[str, str | None]:
    """For each role of report.css, the first family of its stack available here."""
    available = fontconfig_families() | {face.family for face in find_font_files()}
    return {role: next((f for f in stack if f in available), None) for role, stack in stacks(css).items()}


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with HarfBuzz when it can, else with fontTools,
    which takes ~15 s instead of ~0.5 s on a CJK report."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    return harfbuzz_subset is not None and bool(harfbuzz.hb_version_atleast(4, 1, 0))
