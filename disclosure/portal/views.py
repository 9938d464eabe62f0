"""The public portal: published reports, their official files and open data. No login."""

from __future__ import annotations

import hashlib
import logging
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.core.files.storage import FileSystemStorage, Storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils.cache import get_conditional_response
from django.utils.http import http_date
from django.views.decorators.http import require_safe

from .. import formats as reg
from ..downloads import disposition
from ..models import Job, Organization, Publication
from ..pdf.presentation import report_context
from ..services import default_title
from . import published as portal

logger = logging.getLogger(__name__)

IMMUTABLE = "public, max-age=31536000, immutable"
# The newest version of a report changes when a correction is published.
LATEST = "public, max-age=300"
BOM = "\ufeff"  # Excel reads a UTF-8 CSV only with one
CONTENT_TYPES = {"pdf": "application/pdf", "json": "application/json", "csv": "text/csv; charset=utf-8"}


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


@require_safe
def report_list(request: HttpRequest) -> HttpResponse:
    filters = {
        "jurisdiction": request.GET.get("jurisdiction", ""),
        "organization": request.GET.get("organization", ""),
        "year": _int(request.GET.get("year")),
        "query": request.GET.get("q", "").strip(),
    }
    page = Paginator(portal.search(**filters), 50).get_page(request.GET.get("page"))
    for pub in page:
        pub.title = portal.published_title(pub.revision.document)
    return render(
        request,
        "portal/list.html",
        {
            "page": page,
            "filters": filters,
            # Pagination keeps every filter.
            "filter_query": "".join(
                f"{key}={quote(str(value))}&"
                for key, value in (
                    ("q", filters["query"]),
                    ("jurisdiction", filters["jurisdiction"]),
                    ("organization", filters["organization"]),
                    ("year", filters["year"] or ""),
                )
                if value
            ),
            "years": portal.published_years(),
            "jurisdictions": portal.jurisdictions(),
        },
    )


# What a cached download entry holds; an entry of another shape (an earlier
# release's, with local paths, kept for good under a numbered revision's key)
# is read again from the database.
META_FORMAT = 2


def _meta(org_code: str, year: int, number: int | None = None) -> dict:
    key = portal.meta_key(org_code, year, number)
    meta = cache.get(key)
    if meta is None or meta.get("format") != META_FORMAT:
        pub = portal.publication(org_code, year, number)
        if pub is None:
            raise Http404("没有找到已发布的报告。")
        meta = {
            "format": META_FORMAT,
            "pk": pub.pk,
            "number": pub.number,
            "org_code": org_code,
            "year": year,
            "name": pub.revision.document["organization"]["name"],
            # Storage names, never local paths: the entry is shared by every
            # node through the cache, and each node opens the file through
            # its own storage (a shared volume or an object store).
            "pdf": pub.pdf.name,
            "data": pub.data.name,
            "pdf_sha256": pub.pdf_sha256,
            "data_sha256": pub.data_sha256,
            "published": pub.published_at.timestamp(),
        }
        cache.set(key, meta, portal.CACHE_TTL if number is None else None)
    return meta


def _get(org_code: str, year: int, number: int | None = None) -> Publication:
    pub = portal.publication(org_code, year, number)
    if pub is None:
        raise Http404("没有找到已发布的报告。")
    return pub


@require_safe
def report_page(request: HttpRequest, org_code: str, year: int) -> HttpResponse:
    key = portal.page_key(org_code, year)
    page = cache.get(key)
    if page is None:
        pub = _get(org_code, year)
        doc = pub.revision.document
        body = render_to_string("report/_body.html", report_context(doc))
        main = render_to_string(
            "portal/_report.html",
            {
                "pub": pub,
                "report": pub.report,
                "body": body,
                "revisions": pub.report.publications.order_by("-number"),
                "other_years": [y for y in portal.report_years(org_code) if y != year],
            },
        )
        page = {"title": portal.published_title(doc), "main": main}
        cache.set(key, page, portal.CACHE_TTL)
    # The site header is the visitor's own (staff see their links); only the rest is shared.
    response = render(request, "portal/report.html", page)
    response["Cache-Control"] = "private, no-store" if request.user.is_authenticated else LATEST
    return response


def _filename(meta: dict, ext: str, numbered: bool) -> str:
    suffix = f"（第{meta['number']}版）" if numbered else ""
    return f"{default_title(meta['name'], meta['year'])}{suffix}.{ext}"


def _storage() -> Storage:
    """Where publications are stored (``STORAGES["default"]`` unless the field says otherwise)."""
    return Publication._meta.get_field("pdf").storage


def unavailable(request: HttpRequest, missing: list[str], what: str) -> HttpResponse:
    """A stored file that should be there is not: say so plainly, never a traceback."""
    logger.error("Stored publication file missing for %s: %s", what, ", ".join(missing))
    response = render(request, "503.html", {"path": request.path}, status=503)
    response["Cache-Control"] = "no-store"
    response["Retry-After"] = "3600"
    return response


def _file_response(request: HttpRequest, meta: dict, ext: str) -> HttpResponse:
    name = meta["pdf"] if ext == "pdf" else meta["data"]
    storage = _storage()
    # Asked first: nginx would answer a lost file with its own 404, and an
    # object store's file fails only once read, in the middle of a 200.
    if not storage.exists(name):
        return unavailable(request, [name], request.path)
    accel = getattr(settings, "PUBLISHED_FILES_ACCEL_PREFIX", "")
    if accel and isinstance(storage, FileSystemStorage):
        # The front web server (nginx) sends the bytes from the same volume; we only decide and label.
        response = HttpResponse(content_type=CONTENT_TYPES[ext])
        response["X-Accel-Redirect"] = accel.rstrip("/") + "/" + name
        return response
    # Any other storage (an object store) or no nginx: the bytes stream through Django.
    try:
        stored = storage.open(name, "rb")
    except FileNotFoundError:  # gone since the check
        return unavailable(request, [name], request.path)
    return FileResponse(stored, content_type=CONTENT_TYPES[ext])


def _download(request: HttpRequest, meta: dict, ext: str, numbered: bool) -> HttpResponse:
    if ext == "csv":
        etag = hashlib.sha256(f"{meta['data_sha256']}:csv".encode()).hexdigest()
    else:
        etag = meta["pdf_sha256"] if ext == "pdf" else meta["data_sha256"]
    etag = f'"{etag}"'
    cached = get_conditional_response(request, etag=etag, last_modified=meta["published"])
    if cached is not None:
        response = cached
    elif ext == "csv":
        response = HttpResponse(_report_csv(meta), content_type=CONTENT_TYPES["csv"])
    else:
        response = _file_response(request, meta, ext)
        if response.status_code != 200:
            return response
    response["ETag"] = etag
    response["Last-Modified"] = http_date(meta["published"])
    response["Cache-Control"] = IMMUTABLE if numbered else LATEST
    ascii_name = f"{meta['org_code']}-{meta['year']}" + (f"-r{meta['number']}" if numbered else "")
    # Every file downloads, the PDF too (issue 13): the page itself is the reading view.
    response["Content-Disposition"] = disposition(True, _filename(meta, ext, numbered), f"{ascii_name}.{ext}")
    return response


def _report_csv(meta: dict) -> str:
    pub = Publication.objects.select_related("report__organization", "revision").get(pk=meta["pk"])
    return BOM + "".join(portal.csv_chunks([pub]))


@require_safe
def download_latest(request: HttpRequest, org_code: str, year: int, ext: str) -> HttpResponse:
    return _download(request, _meta(org_code, year), ext, numbered=False)


@require_safe
def download_revision(request: HttpRequest, org_code: str, year: int, number: int, ext: str) -> HttpResponse:
    return _download(request, _meta(org_code, year, number), ext, numbered=True)


# -- open data in bulk -----------------------------------------------------------------


@require_safe
def year_zip(request: HttpRequest, year: int) -> HttpResponse:
    publications = portal.year_publications(year)
    hashes = list(publications.values_list("data_sha256", flat=True))
    if not hashes:
        raise Http404("该年度没有已发布的报告。")
    digest = portal.year_digest(hashes)
    etag = f'"{digest}"'
    cached = get_conditional_response(request, etag=etag)
    if cached is not None:
        response = cached
    elif len(hashes) <= settings.REPORT_YEAR_ZIP_INLINE_MAX:
        publications = list(publications)
        # Checked before the first byte: once streaming, a missing file could only cut the zip short.
        storage = _storage()
        missing = [p.data.name for p in publications if not storage.exists(p.data.name)]
        if missing:
            return unavailable(request, missing, request.path)
        response = StreamingHttpResponse(portal.year_zip_chunks(publications, year), content_type="application/zip")
    else:
        # A province's year is built once by a worker and kept in storage (issue 11).
        from ..jobs.exports import year_zip_job

        job = year_zip_job(year, digest)
        if job.status != Job.Status.SUCCEEDED:
            response = render(request, "portal/building.html", {"year": year, "job": job}, status=503)
            response["Retry-After"] = "15"
            response["Cache-Control"] = "no-store"
            return response
        response = FileResponse(job.result_file.open("rb"), content_type="application/zip")
    response["ETag"] = etag
    response["Cache-Control"] = LATEST
    response["Content-Disposition"] = disposition(True, f"{year}年{reg.REPORT_NAME}数据.zip", f"reports-{year}.zip")
    return response


@require_safe
def data_index(request: HttpRequest) -> HttpResponse:
    return render(request, "portal/data.html", {"years": portal.published_years()})


# -- statistics -----------------------------------------------------------------------------


CHART_WIDTH = 640
CHART_HEIGHT = 220


def _bars(years: list[dict], width: int = CHART_WIDTH, height: int = CHART_HEIGHT) -> dict:
    """Geometry of a server-rendered SVG bar chart of applications received per year.

    Years are placed by their value (2020, 2021 and 2026 are not evenly spaced),
    and a year in the range without data is a gap marked 无数据, never hidden.
    """
    peak = max((y["received"] for y in years), default=0) or 1
    present = {y["year"]: y for y in years}
    first, last = (min(present), max(present)) if present else (0, -1)
    span = last - first + 1
    slot = width / max(span, 1)
    bars, gaps = [], []
    for year in range(first, last + 1):
        x = (year - first) * slot
        label_x = round(x + slot / 2)
        y = present.get(year)
        if y is None:
            gaps.append({"year": year, "label_x": label_x})
            continue
        bar_height = round(y["received"] / peak * (height - 40))
        bars.append(
            {
                "x": round(x + slot * 0.2),
                "y": height - 20 - bar_height,
                "width": max(round(slot * 0.6), 1),
                "height": bar_height,
                "label_x": label_x,
                "year": year,
                "value": y["received"],
            }
        )
    return {"width": width, "height": height, "bars": bars, "gaps": gaps, "baseline": height - 20}


MIX_COLOURS = ["#198754", "#20c997", "#dc3545", "#fd7e14", "#6c757d", "#0d6efd"]


def _mix(year: dict) -> list[dict]:
    """Segments of a 100% stacked bar of outcomes."""
    total = sum(m["value"] for m in year["mix"]) or 1
    x, segments = 0.0, []
    for colour, m in zip(MIX_COLOURS, year["mix"], strict=False):
        width = m["value"] / total * 100
        segments.append({**m, "x": round(x, 2), "width": round(width, 2), "colour": colour})
        x += width
    return segments


@require_safe
def statistics(request: HttpRequest) -> HttpResponse:
    code = request.GET.get("jurisdiction", "")
    jurisdiction = Organization.objects.filter(code=code).first() if code else None
    years = portal.statistics(jurisdiction)
    for y in years:
        y["segments"] = _mix(y)
    # The jurisdictions under the chosen node side by side, for one year (the newest by default).
    year = _int(request.GET.get("year"))
    known = [y["year"] for y in years]
    compare_year = year if year in known else (known[-1] if known else None)
    compared = portal.comparison(jurisdiction, compare_year)
    for row in compared["rows"]:
        row["segments"] = _mix(row)
    return render(
        request,
        "portal/stats.html",
        {
            "years": years,
            "chart": _bars(years),
            "jurisdiction": jurisdiction,
            "jurisdictions": portal.jurisdictions(),
            "compared": compared,
            "compare_years": list(reversed(known)),
            "rate_definition": portal.disclosure_rate_definition(),
        },
    )


TREND_WIDTH, TREND_HEIGHT = 360, 140


@require_safe
def organization(request: HttpRequest, org_code: str) -> HttpResponse:
    """An organization's published reports across years, with a small trend."""
    found = portal.organization_years(org_code)
    if found is None:
        raise Http404("没有找到已发布的报告。")
    years = [dict(y) for y in found["years"]]
    for y in years:
        y["segments"] = _mix(y)
    response = render(
        request,
        "portal/organization.html",
        {
            "org": found,
            "years": years,
            "newest_first": list(reversed(years)),
            "chart": _bars(years, TREND_WIDTH, TREND_HEIGHT),
            "rate_chart": _rates(years),
            "rate_definition": portal.disclosure_rate_definition(),
        },
    )
    response["Cache-Control"] = "private, no-store" if request.user.is_authenticated else LATEST
    return response


def _rates(years: list[dict]) -> dict:
    """A small line of 实质公开率 per year, placed by year value (gaps where a year has none)."""
    present = [y for y in years if y["disclosure_rate"] is not None]
    if not present:
        return {"points": [], "width": TREND_WIDTH, "height": TREND_HEIGHT}
    first, last = years[0]["year"], years[-1]["year"]
    slot = TREND_WIDTH / (last - first + 1)
    top, bottom = 10, TREND_HEIGHT - 20
    points = [
        {
            "x": round((y["year"] - first) * slot + slot / 2),
            "y": round(bottom - y["disclosure_rate"] * (bottom - top), 1),
            "year": y["year"],
            "label": y["rate_percent"],
        }
        for y in present
    ]
    # Consecutive years are joined; a missing year breaks the line.
    segments, current = [], [points[0]]
    for before, after in zip(points, points[1:], strict=False):
        if after["year"] == before["year"] + 1:
            current.append(after)
        else:
            segments.append(current)
            current = [after]
    segments.append(current)
    return {
        "points": points,
        "lines": [" ".join(f"{p['x']},{p['y']}" for p in seg) for seg in segments if len(seg) > 1],
        "width": TREND_WIDTH,
        "height": TREND_HEIGHT,
        "bottom": bottom,
    }
