"""Benchmark: render the seed-004 report to PDF 20 times in one process.

    .venv/bin/python bench/pdf_render.py [--runs N] [--seed PATH]

Prints each run, then the median and p95 wall-clock seconds, the peak
resident set size, the median CPU seconds and the load average (wall time
on a shared machine includes waiting for the CPU); the last line is
``median_s=<x>``. The first render loads
the fonts and stylesheets and is reported apart (a server pays it once).
Targets (2-core machine): median <= 0.5 s, p95 <= 0.8 s, peak RSS <= 300 MB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SEED = ROOT / "disclosure" / "fixtures" / "seeds" / "004_wch-zsj_2020.json"


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * share // 1))
    return ordered[int(rank) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=Path, default=SEED)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reportsite.settings_test")
    import django

    django.setup()
    from disclosure.interchange import load_document
    from disclosure.pdf import render_pdf

    doc = load_document(args.seed)
    start = time.perf_counter()
    pdf = render_pdf(doc)
    print(f"first render (loads fonts): {time.perf_counter() - start:.3f} s, {len(pdf) // 1024} KB")

    times, cpu = [], []
    for run in range(1, args.runs + 1):
        start, start_cpu = time.perf_counter(), time.process_time()
        render_pdf(doc)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        print(f"run {run:2d}: {times[-1]:.3f} s (cpu {cpu[-1]:.3f} s)")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB
    median = statistics.median(times)
    print(f"runs={len(times)} median={median:.3f} s p95={percentile(times, 0.95):.3f} s peak_rss={peak_mb:.0f} MB")
    # CPU time tells a slow machine from a busy one (other processes sharing the cores).
    print(f"cpu median={statistics.median(cpu):.3f} s load_average={os.getloadavg()[0]:.2f}")
    print(f"median_s={median:.3f}")


if __name__ == "__main__":
    main()
