"""Untrusted files are read in a child process with hard limits (issue 11).

Every hostile file is generated here. Limits are lowered in the tests so that
a child that runs into one is stopped within a second or two.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from disclosure.interchange import InvalidDocument
from disclosure.parsing import parse_report
from disclosure.parsing.sandbox import parse_untrusted

FIXTURES = Path(__file__).resolve().parent / "parse_fixtures"


@pytest.mark.parametrize("path", sorted(FIXTURES.iterdir()), ids=lambda p: p.name)
def test_it_reads_good_files_exactly_as_parse_report(path):
    data = path.read_bytes()
    direct = parse_report(data, filename=path.name)
    sandboxed = parse_untrusted(data, filename=path.name)
    assert sandboxed.document == direct.document
    assert sandboxed.problems == direct.problems
    assert sandboxed.kind == direct.kind


def test_it_passes_year_org_name_and_code_through():
    path = next(FIXTURES.glob("seed_004_*.txt"))
    kwargs = {"year": 2020, "org_name": "某某局", "org_code": "org-test"}
    direct = parse_report(path.read_bytes(), filename=path.name, **kwargs)
    sandboxed = parse_untrusted(path.read_bytes(), filename=path.name, **kwargs)
    assert sandboxed.document == direct.document
    assert sandboxed.document["organization"]["code"] == "org-test"


def test_it_returns_the_childs_invalid_document_with_code_and_params():
    with pytest.raises(InvalidDocument) as direct:
        parse_report(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="a.png")
    with pytest.raises(InvalidDocument) as sandboxed:
        parse_untrusted(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="a.png")
    assert (sandboxed.value.messages, sandboxed.value.code, sandboxed.value.params) == (
        direct.value.messages,
        direct.value.code,
        direct.value.params,
    )
