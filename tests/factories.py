"""Builders of interchange documents for tests (plain dicts, no database)."""

from __future__ import annotations

import json
import random
from pathlib import Path

from disclosure import formats as reg
from disclosure.interchange import canonicalize, derive_totals

SEEDS_DIR = Path(__file__).resolve().parent.parent / "disclosure" / "fixtures" / "seeds"
SEED_FILES = sorted(SEEDS_DIR.glob("*.json"))

LONG_TEXT = "本年度存在公开内容不够全面、解读不够深入等问题，下一步将加强培训、完善制度、拓展公开渠道。"


def seed(name: str) -> dict:
    """A seed transcription by its number prefix, e.g. seed("004")."""
    path = next(p for p in SEED_FILES if p.name.startswith(name))
    return json.loads(path.read_text(encoding="utf-8"))


def balanced_document(
    fmt_code: str = "2021",
    *,
    year: int | None = None,
    rng: random.Random | None = None,
    org_code: str = "test-org",
    kind: str = "department",
) -> dict:
    """A complete report whose every identity holds and every part is written."""
    rng = rng or random.Random(0)
    fmt = reg.get_format(fmt_code)
    year = year or fmt.first_year
    doc = canonicalize(
        {
            "schema": "disclosure-report/1",
            "format": fmt.code,
            "year": year,
            "organization": {"name": "测试局", "code": org_code, "kind": kind},
            "title": f"测试局{year}年政府信息公开工作年度报告",
        }
    )
    for table in fmt.active_disclosure:
        for row in table.rows:
            for col in table.columns:
                if col.kind == reg.CellKind.AMOUNT:
                    value = f"{rng.randint(0, 99999)}.{rng.randint(0, 9999):04d}"
                elif col.kind == reg.CellKind.SIGNED:
                    # Never below zero items once applied to 上一年项目数量.
                    previous = doc["active_disclosure"][table.code][row.code]["previous"]
                    value = rng.randint(-min(5, previous), 5)
                else:
                    value = rng.randint(0, 30)
                doc["active_disclosure"][table.code][row.code][col.code] = value
    apps = doc["applications"]
    for col in fmt.applicant_columns:
        new, carried = rng.randint(0, 40), rng.randint(0, 5)
        remaining = new + carried
        targets = [r.code for r in fmt.outcome_rows] + ["carried_forward"]
        shares = dict.fromkeys(targets, 0)
        for _ in range(remaining):
            shares[rng.choice(targets)] += 1
        apps["new_received"][col.code] = new
        apps["carried_over"][col.code] = carried
        for code, share in shares.items():
            apps[code][col.code] = share
    for block in fmt.reviews_blocks:
        for col in fmt.reviews_parts:
            doc["reviews"][block.code][col.code] = rng.randint(0, 3)
    for part in fmt.narrative:
        *parents, leaf = part.path.split(".")
        node = doc["narrative"]
        for name in parents:
            node = node[name]
        if part.has_amount:
            node[leaf] = {"amount_yuan": "0.00", "text": "本年度未收取信息处理费。"}
        else:
            node[leaf] = LONG_TEXT
    return derive_totals(doc, overwrite=True)


def next_year_of(doc: dict, rng: random.Random | None = None) -> dict:
    """A balanced next-year document consistent with ``doc`` across years."""
    fmt = reg.format_for_year(doc["year"] + 1)
    nxt = balanced_document(fmt.code, year=doc["year"] + 1, rng=rng, org_code=doc["organization"]["code"])
    if fmt.code == doc["format"] == "2019":
        for table in fmt.active_disclosure:
            for row in table.rows:
                before = doc["active_disclosure"][table.code][row.code]
                if "previous" in before:
                    nxt["active_disclosure"][table.code][row.code]["previous"] = before["previous"] + before["change"]
    if fmt.code == doc["format"] == "2021":
        for row, cells in nxt["active_disclosure"]["art20_1"].items():
            cells["repealed"] = min(cells["repealed"], doc["active_disclosure"]["art20_1"][row]["in_force"])
            cells["in_force"] = (
                doc["active_disclosure"]["art20_1"][row]["in_force"] + cells["issued"] - cells["repealed"]
            )
    apps = nxt["applications"]
    # Rebuild 上年结转 from last year's 结转, keeping every identity.
    for col in fmt.applicant_columns:
        diff = doc["applications"]["carried_forward"][col.code] - apps["carried_over"][col.code]
        apps["carried_over"][col.code] += diff
        apps["carried_forward"][col.code] += diff
        if apps["carried_forward"][col.code] < 0:
            apps["new_received"][col.code] -= apps["carried_forward"][col.code]
            apps["carried_forward"][col.code] = 0
    return derive_totals(nxt, overwrite=True)
