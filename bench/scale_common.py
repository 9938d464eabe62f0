"""What the scale benchmarks share (bench/scale.py, rollup.py, quality.py, http_scale.py):
the p95 they quote, the scale databases' addresses, and the table they print."""

from __future__ import annotations

import statistics
from urllib.parse import urlsplit, urlunsplit


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def db_url(base: str, name: str) -> str:
    """``base`` (a PostgreSQL URL) with the database ``name``."""
    return urlunsplit(urlsplit(base)._replace(path=f"/{name}"))


def print_table(results: dict[int, dict], targets: dict[str, float]) -> None:
    """One row per page, one column per size: median / p95 ms (queries), misses marked."""
    sizes = sorted(results)
    print()
    heads = " | ".join(f"{results[n]['orgs']} orgs median / p95 (queries)" for n in sizes)
    print(f"| page | target p95 | {heads} |")
    print("|---|---|" + "---|" * len(sizes))
    for label, target in targets.items():
        cells = []
        for n in sizes:
            r = results[n][label]
            med, high = statistics.median(r["times"]) * 1000, p95(r["times"]) * 1000
            mark = "" if high <= target else " **missed**"
            q = f" ({r['queries']})" if r.get("queries") is not None else ""
            cells.append(f"{med:.0f} / {high:.0f} ms{q}{mark}")
        print(f"| {label} | ≤ {target} ms | " + " | ".join(cells) + " |")
