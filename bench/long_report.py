"""The largest report the editor allows, rendered once as a PDF (issue 11: bounded work).

Every narrative part is filled up to NARRATIVE_PART_MAX_CHARS until the parts
together hold NARRATIVE_REPORT_MAX_CHARS; the render must stay well under the
publish job's time limit. Prints seconds, pages and peak RSS.

    .venv/bin/python bench/long_report.py [--part N] [--total N]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings_test")

import django  # noqa: E402

django.setup()

from disclosure import formats as reg  # noqa: E402
from disclosure.formats.common import NARRATIVE_PART_MAX_CHARS, NARRATIVE_REPORT_MAX_CHARS  # noqa: E402
from disclosure.interchange import get_path, set_path  # noqa: E402
from disclosure.pdf import render_pdf  # noqa: E402
from tests.factories import balanced_document  # noqa: E402

PARAGRAPH = "本机关坚持以公开为常态、不公开为例外，推进政务公开标准化规范化建设，及时回应社会关切。" * 3 + "\n"


def long_document(part_chars: int, total_chars: int) -> tuple[dict, int]:
    doc = balanced_document("2021", year=2021)
    left = total_chars
    for part in reg.get_format("2021").narrative:
        n = min(part_chars, left)
        left -= n
        text = (PARAGRAPH * (n // len(PARAGRAPH) + 1))[:n]
        node = get_path(doc["narrative"], part.path)
        if isinstance(node, dict):
            node["text"] = text
        else:
            set_path(doc["narrative"], part.path, text)
    return doc, total_chars - left


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", type=int, default=NARRATIVE_PART_MAX_CHARS)
    parser.add_argument("--total", type=int, default=NARRATIVE_REPORT_MAX_CHARS)
    args = parser.parse_args()
    doc, chars = long_document(args.part, args.total)
    start = time.perf_counter()
    pdf = render_pdf(doc)
    seconds = time.perf_counter() - start
    with tempfile.NamedTemporaryFile(suffix=".pdf") as out:
        out.write(pdf)
        out.flush()
        info = subprocess.run(["pdfinfo", out.name], capture_output=True, text=True).stdout
    pages = next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "?")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"narrative {chars} characters (≤{args.part} a part): render {seconds:.1f} s, {pages} pages")
    print(f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    main()
