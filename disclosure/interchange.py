"""Interchange JSON ``disclosure-report/1`` (spec §7): schema, canonical form.

The JSON Schema is generated from the format registry (``build_schema``) and
committed as ``disclosure/schema/disclosure-report-1.schema.json``; a test
keeps the two equal. Documents are plain dicts; ``canonicalize`` gives the full
structure of the document's format in statutory order, which is what export
produces, so JSON → database → JSON is the identity on canonical documents.
"""

from __future__ import annotations

import copy
import json
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from . import formats as reg
from .formats import CellKind, Format

SCHEMA_ID = "disclosure-report/1"
SCHEMA_PATH = Path(__file__).parent / "schema" / "disclosure-report-1.schema.json"
AMOUNT_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"
ORG_CODE_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
# Amounts in 万元 are expected to 4 places (= 1 元); 元 amounts to 2.
AMOUNT_PLACES = 4
YUAN_PLACES = 2
# What the database keeps (models.AMOUNT_DIGITS): more places cannot be stored.
MAX_AMOUNT_PLACES = 6


class InvalidDocument(Exception):
    """The input is not a ``disclosure-report/1`` document.

    Like Django's ValidationError it carries a ``code`` and ``params``;
    ``messages`` are Chinese and meant for the person who supplied the file.
    """

    def __init__(self, messages: list[str] | str, code: str = "invalid", params: dict | None = None):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        self.code = code
        self.params = params or {}
        super().__init__("; ".join(self.messages))


# -- schema ---------------------------------------------------------------


def _cell_schema(kind: CellKind) -> dict:
    if kind == CellKind.AMOUNT:
        return {"type": ["string", "null"], "pattern": AMOUNT_PATTERN}
    # Non-integers and negatives are findings (cells.integer), not schema errors.
    return {"type": ["number", "null"]}


def _object(properties: dict, required: list[str] | None = None) -> dict:
    schema = {"type": "object", "properties": properties, "additionalProperties": False}
    if required:
        schema["required"] = required
    return schema


def _narrative_schema(fmt: Format) -> dict:
    tree: dict[str, Any] = {}
    for part in fmt.narrative:
        if part.has_amount:
            leaf = _object(
                {
                    "amount_yuan": {"type": ["string", "null"], "pattern": AMOUNT_PATTERN},
                    "text": {"type": ["string", "null"]},
                }
            )
        else:
            leaf = {"type": ["string", "null"]}
        set_path(tree, part.path, leaf)

    def build(node: dict) -> dict:
        return _object({k: (build(v) if "type" not in v else v) for k, v in node.items()})

    return build(tree)


def _format_schema(fmt: Format) -> dict:
    active = {}
    for table in fmt.active_disclosure:
        props = {row.code: _object({c.code: _cell_schema(c.kind) for c in table.columns}) for row in table.rows}
        if table.has_unit:
            props["unit"] = {"enum": list(fmt.amount_unit_choices)}
        active[table.code] = _object(props)
    applications = {
        row.code: _object({c.code: _cell_schema(c.kind) for c in fmt.applications_columns})
        for row in fmt.applications_rows
    }
    reviews = {
        block.code: _object({c.code: _cell_schema(c.kind) for c in fmt.reviews_columns}) for block in fmt.reviews_blocks
    }
    return {
        "properties": {
            "narrative": _narrative_schema(fmt),
            "active_disclosure": _object(active),
            "applications": _object(applications),
            "reviews": _object(reviews),
        }
    }


def build_schema() -> dict:
    """The JSON Schema of ``disclosure-report/1``, derived from the registry."""
    formats = list(reg.FORMATS.values())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://reportsite.example/schema/disclosure-report-1.schema.json",
        "title": "政府信息公开工作年度报告 interchange document (disclosure-report/1)",
        "description": "Generated from disclosure/formats by `manage.py report_schema`; do not edit by hand.",
        "type": "object",
        "required": ["schema", "format", "year", "organization"],
        "additionalProperties": False,
        "properties": {
            "schema": {"const": SCHEMA_ID},
            "format": {"enum": [f.code for f in formats]},
            "year": {"type": "integer", "minimum": reg.FIRST_YEAR, "maximum": 2999},
            "organization": _object(
                {
                    "name": {"type": "string", "minLength": 1, "maxLength": 200},
                    "code": {"type": "string", "pattern": ORG_CODE_PATTERN},
                    "kind": {"enum": ["government", "department"]},
                },
                required=["name", "code", "kind"],
            ),
            "title": {"type": ["string", "null"], "maxLength": 300},
            "issued_on": {
                "type": ["string", "null"],
                "pattern": r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
            },
            "narrative": {"type": "object"},
            "active_disclosure": {"type": "object"},
            "applications": {"type": "object"},
            "reviews": {"type": "object"},
        },
        "allOf": [
            {
                "if": {"properties": {"format": {"const": f.code}}, "required": ["format"]},
                "then": {"$ref": f"#/$defs/format_{f.code}"},
            }
            for f in formats
        ],
        "$defs": {f"format_{f.code}": _format_schema(f) for f in formats},
    }


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def _error_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "文档"


def _error_message(error: jsonschema.ValidationError) -> str:
    """jsonschema speaks English; say the common cases in Chinese."""
    where = _error_path(error)
    kind = error.validator
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in error.message else error.message
        return f"{where}：缺少必填项“{missing}”。"
    if kind == "additionalProperties":
        return f"{where}：含有本格式没有的项目（{error.message.split('(')[-1].rstrip(')')}）。"
    if kind == "type":
        return f"{where}：类型不对，应为 {error.validator_value}，实际为 {error.instance!r}。"
    if kind in {"pattern", "enum", "const"}:
        return f"{where}：取值 {error.instance!r} 不符合要求。"
    if kind in {"minimum", "maximum", "minLength", "maxLength"}:
        return f"{where}：取值 {error.instance!r} 超出允许范围。"
    return f"{where}：{error.message}"


def validate_document(doc: Any) -> None:
    """Raise InvalidDocument unless ``doc`` fits the schema and its year."""
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        raise InvalidDocument(
            [_error_message(e) for e in errors[:20]],
            code="schema",
            params={"count": len(errors)},
        )
    expected = reg.format_for_year(doc["year"]).code
    if doc["format"] != expected:
        raise InvalidDocument(
            f"{doc['year']}年度报告应使用{expected}格式，文档声明为{doc['format']}格式。",
            code="format_year_mismatch",
            params={"year": doc["year"], "format": doc["format"], "expected": expected},
        )


def load_document(path: str | Path) -> dict:
    """Read and validate a document file; InvalidDocument for anything wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InvalidDocument(f"找不到文件：{path}", code="not_found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidDocument(f"无法读取文件 {path}：{exc}", code="unreadable") from None
    try:
        doc = json.loads(text, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        raise InvalidDocument(
            f"{path} 不是有效的JSON（第{exc.lineno}行第{exc.colno}列：{exc.msg}）。",
            code="json",
        ) from None
    # Floats were parsed as Decimal to avoid binary rounding; the schema
    # (and cells.integer) speak of numbers, so hand them over as such.
    doc = _decimals_to_numbers(doc)
    validate_document(doc)
    return doc


def _decimals_to_numbers(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _decimals_to_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_decimals_to_numbers(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and "." not in str(value) else float(value)
    return value


def dumps(doc: dict) -> str:
    return json.dumps(doc, ensure_ascii=False, indent=2) + "\n"


# -- amounts --------------------------------------------------------------


def parse_amount(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        return Decimal(str(text))
    except InvalidOperation:
        raise InvalidDocument(f"金额“{text}”不是有效的数字。", code="amount") from None


def decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


def format_amount(value: Decimal | None, places: int = AMOUNT_PLACES) -> str | None:
    """Canonical text of an amount: at least ``places`` decimals, more if held."""
    if value is None:
        return None
    shown = max(places, decimal_places(value))
    return str(value.quantize(Decimal(1).scaleb(-shown)))


# -- canonical form -------------------------------------------------------


def _get(mapping: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(mapping, dict):
            return None
        mapping = mapping.get(key)
    return mapping


def get_path(mapping: Any, path: str) -> Any:
    """The value at a dotted path (``other_matters.processing_fee``), None where it is missing."""
    return _get(mapping, *path.split("."))


def narrative_text(doc: dict, path: str) -> str:
    """The text of a narrative part, stripped; the processing-fee item's text beside its amount."""
    node = get_path(doc["narrative"], path)
    if isinstance(node, dict):
        node = node.get("text")
    return (node or "").strip()


def set_path(mapping: dict, path: str, value: Any) -> None:
    """Put a value at a dotted path, making the dictionaries on the way."""
    *parents, leaf = path.split(".")
    for name in parents:
        mapping = mapping.setdefault(name, {})
    mapping[leaf] = value


def _canonical_amount(text: Any, places: int) -> str | None:
    if text is None:
        return None
    return format_amount(parse_amount(text), places)


def _canonical_cell(value: Any, kind: CellKind) -> Any:
    if kind == CellKind.AMOUNT:
        return _canonical_amount(value, AMOUNT_PLACES)
    return value


def canonical_narrative(fmt: Format, narrative: Any) -> dict:
    out: dict[str, Any] = {}
    for part in fmt.narrative:
        value = get_path(narrative, part.path)
        if part.has_amount:
            value = value if isinstance(value, dict) else {}
            value = {
                "amount_yuan": _canonical_amount(value.get("amount_yuan"), YUAN_PLACES),
                "text": value.get("text") or "",
            }
        set_path(out, part.path, value or "")
    return out


def canonicalize(doc: dict) -> dict:
    """The full canonical structure of a (valid) document, in statutory order."""
    fmt = reg.get_format(doc["format"])
    org = doc["organization"]
    out: dict[str, Any] = {
        "schema": SCHEMA_ID,
        "format": fmt.code,
        "year": doc["year"],
        "organization": {"name": org["name"], "code": org["code"], "kind": org["kind"]},
        "title": doc.get("title") or "",
        "issued_on": doc.get("issued_on"),
        "narrative": canonical_narrative(fmt, doc.get("narrative")),
    }
    active: dict[str, Any] = {}
    for table in fmt.active_disclosure:
        rows: dict[str, Any] = {}
        for row in table.rows:
            rows[row.code] = {
                c.code: _canonical_cell(_get(doc, "active_disclosure", table.code, row.code, c.code), c.kind)
                for c in table.columns
            }
        if table.has_unit:
            rows["unit"] = _get(doc, "active_disclosure", table.code, "unit") or reg.DEFAULT_PROCUREMENT_UNIT
        active[table.code] = rows
    out["active_disclosure"] = active
    out["applications"] = {
        row.code: {c.code: _get(doc, "applications", row.code, c.code) for c in fmt.applications_columns}
        for row in fmt.applications_rows
    }
    out["reviews"] = {
        block.code: {c.code: _get(doc, "reviews", block.code, c.code) for c in fmt.reviews_columns}
        for block in fmt.reviews_blocks
    }
    return out


def derive_totals(doc: dict, *, overwrite: bool = False) -> dict:
    """Fill computed cells (总计 column, （七）总计 row, 四's 总计) from their parts.

    With ``overwrite`` False (imports), a printed total is kept as printed so
    that a mismatch stays visible as a finding; only blank totals whose parts
    are all known are derived. With ``overwrite`` True (clerk edits), every
    computed cell is recomputed: clerks never type them.
    """
    doc = copy.deepcopy(doc)
    for target, parts in reg.get_format(doc["format"]).totals:
        if get_path(doc, target) is not None and not overwrite:
            continue
        values = [get_path(doc, p) for p in parts]
        set_path(doc, target, sum(values) if all(isinstance(v, int) for v in values) else None)
    return doc


def cell_value(doc: dict, spec: reg.CellSpec) -> Any:
    if spec.section == "active_disclosure":
        return _get(doc, "active_disclosure", spec.subtable, spec.row, spec.column)
    return _get(doc, spec.section, spec.row, spec.column)
