"""Reads for the public portal: only published revisions, ever."""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Case, CharField, Count, OuterRef, QuerySet, Subquery, Sum, Value, When

from reportsite.cache import generation as cache_generation
from reportsite.cache import new_generation

from .. import formats as reg
from ..interchange import cell_value
from ..models import Organization, Publication, Report
from ..permissions import subtree_q
from ..services import default_title
from ..text import spreadsheet_safe

# Cached per publication: what a download needs, and the rendered page. The
# "newest version" entries carry the report's cache generation, which a
# (re)publication replaces: a request that read the old publication just
# before the new one committed then stores it under a key nobody reads any
# more, instead of serving it as the newest until the entry expires.
CACHE_TTL = 3600


def generation(org_code: str, year: int) -> str:
    """The current cache generation of a report's "newest version" entries."""
    return cache_generation(f"portal:generation:{org_code}:{year}")


def organization_generation(org_code: str) -> str:
    """Changes with any publication of the organization: a report page lists its other years."""
    return cache_generation(f"portal:generation:{org_code}")


def meta_key(org_code: str, year: int, number: int | None = None) -> str:
    if number is not None:  # a numbered revision never changes
        return f"portal:meta:{org_code}:{year}:{number}"
    return f"portal:meta:{org_code}:{year}:latest:{generation(org_code, year)}"


def page_key(org_code: str, year: int) -> str:
    return f"portal:page:{org_code}:{year}:{generation(org_code, year)}:{organization_generation(org_code)}"


def forget(org_code: str, year: int) -> None:
    """Called after a publication commits: the newest version changed."""
    new_generation(f"portal:generation:{org_code}:{year}")
    new_generation(f"portal:generation:{org_code}")  # its other years' pages list it


def published_title(doc: dict) -> str:
    """The title of a published document: its own, or the statutory default (as its PDF prints)."""
    return doc.get("title") or default_title(doc["organization"]["name"], doc["year"])


def latest_publications() -> QuerySet[Publication]:
    """The newest publication of every report that has one."""
    newest = Publication.objects.filter(report=OuterRef("report")).order_by("-number").values("pk")[:1]
    return (
        Publication.objects.filter(pk=Subquery(newest))
        .select_related("report__organization__parent", "revision")
        .order_by("-report__year", "report__organization__name")
    )


def search(*, jurisdiction: str = "", organization: str = "", year: int | None = None, query: str = ""):
    publications = latest_publications()
    if jurisdiction:
        root = Organization.objects.filter(code=jurisdiction).first()
        publications = publications.filter(subtree_q([root], "report__organization__")) if root else publications.none()
    if organization:
        publications = publications.filter(report__organization__code=organization)
    if year:
        publications = publications.filter(report__year=year)
    if query:
        # The name as published, not a correction being drafted.
        publications = publications.filter(revision__document__organization__name__icontains=query)
    return publications


def publication(org_code: str, year: int, number: int | None = None) -> Publication | None:
    """A report's publication (the newest unless ``number``), with its snapshot."""
    found = Publication.objects.select_related("report__organization", "revision").filter(
        report__organization__code=org_code, report__year=year
    )
    if number is not None:
        return found.filter(number=number).first()
    return found.order_by("-number").first()


def published_years() -> list[int]:
    return sorted(set(Publication.objects.values_list("report__year", flat=True)), reverse=True)


def jurisdictions() -> list[Organization]:
    """People's governments with published reports of their own or below them
    (cached until the next publication, with the statistics)."""
    from django.core.cache import cache

    key = f"portal:stats:jurisdictions:{_stats_generation()}"
    found = cache.get(key)
    if found is None:
        found = _jurisdictions()
        cache.set(key, found, CACHE_TTL)
    return found


def _jurisdictions() -> list[Organization]:
    # The paths of the offices' parents name every government above a publication:
    # a few hundred distinct paths, whatever the number of publications.
    paths = set(Publication.objects.order_by().values_list("report__organization__parent__path", flat=True).distinct())
    paths |= set(
        Publication.objects.filter(report__organization__kind=Organization.Kind.GOVERNMENT)
        .order_by()
        .values_list("report__organization__path", flat=True)
        .distinct()
    )
    ids = {int(part) for path in paths if path for part in path.strip("/").split("/")}
    return list(Organization.objects.filter(kind=Organization.Kind.GOVERNMENT, pk__in=ids).order_by("name"))


@dataclass(frozen=True)
class CellRow:
    section: str
    section_label: str
    subtable: str
    row: str
    row_label: str
    column: str
    column_label: str
    value: object


def cell_rows(doc: dict) -> Iterator[CellRow]:
    """One row per statutory cell, with codes and labels from the registry."""
    fmt = reg.get_format(doc["format"])
    sections = {s.code: s.title for s in fmt.sections}
    for spec in fmt.cells():
        yield CellRow(
            spec.section,
            sections[spec.section],
            spec.subtable,
            spec.row,
            f"{spec.table_label} {spec.row_label}" if spec.table_label else spec.row_label,
            spec.column,
            spec.column_label,
            cell_value(doc, spec),
        )


# The open-data CSV's columns: a stable code for programs, its Chinese label beside it
# for people (issue 13), both in the header cell: "org_code（机关代码）".
CSV_COLUMNS = [
    ("org_code", "机关代码"),
    ("org_name", "机关名称"),
    ("year", "报告年度"),
    ("format", "格式版本"),
    ("revision", "公开版本"),
    ("section", "部分代码"),
    ("section_label", "部分"),
    ("subtable", "子表代码"),
    ("row", "行代码"),
    ("row_label", "行"),
    ("column", "列代码"),
    ("column_label", "列"),
    ("value", "数值"),
]
CSV_CODES = [code for code, _label in CSV_COLUMNS]
CSV_HEADER = [f"{code}（{label}）" for code, label in CSV_COLUMNS]


def csv_code(header_cell: str) -> str:
    """The code of a header cell ("org_code（机关代码）" → "org_code")."""
    return header_cell.split("（", 1)[0]


def csv_records(pub: Publication) -> Iterator[list]:
    """The publication's CSV rows; text a spreadsheet would run as a formula is quoted."""
    doc = pub.revision.document
    for r in cell_rows(doc):
        record = [
            doc["organization"]["code"],
            doc["organization"]["name"],
            doc["year"],
            doc["format"],
            pub.number,
            r.section,
            r.section_label,
            r.subtable,
            r.row,
            r.row_label,
            r.column,
            r.column_label,
            "" if r.value is None else r.value,
        ]
        yield [spreadsheet_safe(value) for value in record]


def csv_chunks(publications: Iterable[Publication]) -> Iterator[str]:
    """The open-data CSV (spec: one row per cell): the header, then each publication's rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for pub in publications:
        writer.writerows(csv_records(pub))
        yield out.getvalue()
        out.seek(0)
        out.truncate()
    if out.tell():
        yield out.getvalue()


# -- statistics ---------------------------------------------------------------------


def outcome_groups(fmt: reg.Format) -> list[tuple[str, list[str]]]:
    """The outcome categories of table 三 (（一）…（六）) with their data rows, from the registry."""
    groups: dict[str, list[str]] = {}
    for row in fmt.outcome_rows:
        key = row.groups[-1] if len(row.groups) > 1 else row.label
        groups.setdefault(key, []).append(row.code)
    return list(groups.items())


def short_label(label: str) -> str:
    """（二）部分公开（区分处理的…） → 部分公开."""
    return re.sub(r"^（[一二三四五六七八九十]+）", "", label).split("（")[0]


STATS_GENERATION_KEY = "portal:stats:generation"


def forget_statistics() -> None:
    """Called after a publication commits: every jurisdiction's statistics may have changed."""
    new_generation(STATS_GENERATION_KEY)


def statistics(jurisdiction: Organization | None) -> list[dict]:
    """Per year: totals of the three tables across the jurisdiction's published reports.

    Cached until the next publication (ADR 0014): decoding every snapshot is
    what a cold request pays, once per jurisdiction and publication.
    """
    from django.core.cache import cache

    key = f"portal:stats:{jurisdiction.pk if jurisdiction else 'all'}:{_stats_generation()}"
    found = cache.get(key)
    if found is None:
        found = _statistics(jurisdiction)
        cache.set(key, found, CACHE_TTL)
    return found


def _stats_generation() -> str:
    return cache_generation(STATS_GENERATION_KEY)


FIGURES = ("received", "outcomes", "reconsideration", "litigation")


def _groups() -> list[str]:
    return [short_label(label) for label, _rows in outcome_groups(reg.format_for_year(reg.FIRST_YEAR))]


def _sums() -> dict:
    sums = {name: Sum(name) for name in FIGURES}
    sums |= {f"outcome_{i}": Sum(f"outcome_{i}") for i in range(1, len(_groups()) + 1)}
    return sums


def figures(row: dict) -> dict:
    """The displayed figures of a row of stored (or summed) publication figures:
    the outcome mix and 实质公开率 (``disclosure_rate_definition``)."""
    outcomes = row["outcomes"] or 0
    mix_list = [{"label": label, "value": row[f"outcome_{i}"] or 0} for i, label in enumerate(_groups(), 1)]
    # 实质公开率 = (予以公开 + 部分公开) / 办理结果总计: the first two categories.
    disclosed = mix_list[0]["value"] + mix_list[1]["value"]
    return {
        "received": row["received"] or 0,
        "outcomes": outcomes,
        "mix": mix_list,
        "disclosure_rate": disclosed / outcomes if outcomes else None,
        "rate_percent": f"{disclosed / outcomes * 100:.1f}%" if outcomes else "—",
        "reconsideration": row["reconsideration"] or 0,
        "litigation": row["litigation"] or 0,
    }


def disclosure_rate_definition() -> str:
    """实质公开率 in words, with table 三's labels from the registry."""
    fmt = reg.format_for_year(reg.FIRST_YEAR)
    (first_label, _), (second_label, _) = outcome_groups(fmt)[:2]
    total = fmt.applications_row("outcome_total")
    carried = fmt.applications_row("carried_forward").label
    column = fmt.applications_column("total").label

    def numbered(label: str) -> str:  # （二）部分公开（区分处理的…） → （二）部分公开
        return label[: label.index("）") + 1] + short_label(label)

    first, second = short_label(first_label), short_label(second_label)
    return (
        f"实质公开率 =（{first} + {second}）÷ 办理结果{short_label(total.label)}：取自表三“{total.groups[0]}”中"
        f"“{numbered(first_label)}”“{numbered(second_label)}”两项与“{total.label}”的“{column}”列；"
        f"“{carried}”的申请尚未办结，不计入。"
    )


def _statistics(jurisdiction: Organization | None) -> list[dict]:
    """One aggregate query over the newest publications' stored figures."""
    publications = search(jurisdiction=jurisdiction.code if jurisdiction else "")
    rows = (
        publications.order_by().values("report__year").annotate(reports=Count("pk"), **_sums()).order_by("report__year")
    )
    return [{"year": row["report__year"], "reports": row["reports"], **figures(row)} for row in rows]


def organization_years(org_code: str) -> dict | None:
    """An organization's published reports across years with their figures (oldest first),
    cached until the next publication; None when it has published nothing."""
    from django.core.cache import cache

    key = f"portal:org:{org_code}:{_stats_generation()}"
    found = cache.get(key)
    if found is None:
        found = _organization_years(org_code)
        if found:  # an unknown code is not kept: anyone can ask for any number of them
            cache.set(key, found, CACHE_TTL)
    return found or None


def _organization_years(org_code: str) -> dict:
    publications = list(latest_publications().filter(report__organization__code=org_code).order_by("report__year"))
    if not publications:
        return {}
    org = publications[0].report.organization
    years = []
    for pub in publications:
        row = {name: getattr(pub, name) for name in (*FIGURES, *[f"outcome_{i}" for i in range(1, 7)])}
        doc = pub.revision.document
        years.append(
            {
                "year": pub.report.year,
                "number": pub.number,
                "published_at": pub.published_at,
                "title": published_title(doc),
                "name": doc["organization"]["name"],
                **figures(row),
            }
        )
    return {"code": org.code, "name": years[-1]["name"], "kind": org.get_kind_display(), "years": years}


def comparison(node: Organization | None, year: int | None) -> dict:
    """The jurisdictions under ``node`` (its direct children; the top organizations when
    none) side by side for a year: each child's subtree summed. Cached until the next publication."""
    from django.core.cache import cache

    key = f"portal:stats:compare:{node.pk if node else 'all'}:{year}:{_stats_generation()}"
    found = cache.get(key)
    if found is None:
        found = _comparison(node, year)
        cache.set(key, found, CACHE_TTL)
    return found


def _comparison_note() -> str:
    own, rollup = Organization.Scope.OWN.label, Organization.Scope.ROLLUP.label
    return (
        f"各辖区的数字为其已发布报告之和；报告范围为“{rollup}”的人民政府，只计入该政府的报告，"
        f"不再计入其下级机关的报告，以免重复计算（报告范围为“{own}”的，其下级机关的报告照常计入）。"
    )


COMPARISON_NOTE = _comparison_note()


def _comparison(node: Organization | None, year: int | None) -> dict:
    children = list(
        (node.children.all() if node else Organization.objects.filter(parent__isnull=True)).order_by("name", "code")
    )
    if not children or year is None:
        return {"year": year, "rows": [], "without": [], "note": COMPARISON_NOTE}
    branch = Case(
        *[When(report__organization__path__startswith=c.path, then=Value(str(c.pk))) for c in children],
        default=Value(""),
        output_field=CharField(),
    )
    # Each branch's reports without those a 汇总 government's report already covers
    # (its report counts, its subtree does not): nothing is counted twice.
    from ..jurisdiction.rollup import SUBTREE, reached_ids

    grouped = {
        row["branch"]: row
        for row in search(jurisdiction=node.code if node else "", year=year)
        .filter(report__organization_id__in=reached_ids(node, SUBTREE))
        .order_by()
        .annotate(branch=branch)
        .values("branch")
        .annotate(reports=Count("pk"), **_sums())
        .order_by()
    }
    rows, without = [], []
    for child in children:
        row = grouped.get(str(child.pk))
        if row is None:
            without.append({"code": child.code, "name": child.name})
            continue
        rows.append(
            {
                "code": child.code,
                "name": child.name,
                "is_government": child.is_government,
                "reports": row["reports"],
                **figures(row),
            }
        )
    return {"year": year, "rows": rows, "without": without, "note": COMPARISON_NOTE}


def report_years(org_code: str) -> list[int]:
    return sorted(
        set(
            Report.objects.filter(organization__code=org_code, publications__isnull=False).values_list(
                "year", flat=True
            )
        ),
        reverse=True,
    )


# -- the year's data package -----------------------------------------------------------


def year_publications(year: int) -> QuerySet[Publication]:
    """The newest publication of every report of the year, in the package's order."""
    return search(year=year).order_by("report__organization__code")


def year_digest(hashes: Iterable[str]) -> str:
    """The package's identity: its files' hashes alone, so a revalidation loads no snapshot."""
    return hashlib.sha256("".join(hashes).encode()).hexdigest()


class _Sink(io.RawIOBase):
    """A write-only stream zipfile writes into; we hand its bytes on as they come."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self.chunks)
        self.chunks.clear()
        return data


YEAR_ZIP_BATCH = 500  # snapshot documents in memory at once while the cell CSV is written


def _with_documents(publications: list[Publication]) -> Iterator[Publication]:
    """The publications with their snapshot documents, those not loaded yet (the
    year zip job defers them) read a batch at a time and let go after it: a
    province's 10,000 documents never sit in memory together (≈50 KB each)."""
    from ..models import Revision

    for start in range(0, len(publications), YEAR_ZIP_BATCH):
        batch = publications[start : start + YEAR_ZIP_BATCH]
        deferred = [p for p in batch if "document" not in p.revision.__dict__]
        documents = dict(
            Revision.objects.filter(pk__in=[p.revision_id for p in deferred]).values_list("pk", "document")
        )
        for pub in deferred:
            pub.revision.document = documents[pub.revision_id]
        yield from batch
        for pub in deferred:
            del pub.revision.document  # deferred again


def year_zip_chunks(publications: list[Publication], year: int) -> Iterator[bytes]:
    """The year's data package: every publication's JSON and one cell CSV, as zip bytes in chunks.

    Publications whose snapshot document was deferred are given theirs a batch at a time."""
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for pub in publications:
            info = zipfile.ZipInfo(
                f"{year}/{pub.report.organization.code}-{year}-r{pub.number}.json",
                date_time=pub.published_at.timetuple()[:6],
            )
            info.compress_type = zipfile.ZIP_DEFLATED
            with archive.open(info, "w") as target, pub.data.open("rb") as source:
                for chunk in iter(lambda: source.read(64 * 1024), b""):
                    target.write(chunk)
                    yield sink.drain()
            pub.data.close()
        newest = max(p.published_at for p in publications)
        info = zipfile.ZipInfo(f"{year}/{year}-cells.csv", date_time=newest.timetuple()[:6])
        info.compress_type = zipfile.ZIP_DEFLATED
        with archive.open(info, "w") as target:
            target.write("\ufeff".encode())  # Excel reads a UTF-8 CSV only with a BOM
            for chunk in csv_chunks(_with_documents(publications)):
                target.write(chunk.encode())
                yield sink.drain()
    yield sink.drain()
