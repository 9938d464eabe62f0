"""The official-format PDF of an annual report (spec §8, GB/T 9704-2012).

``render_pdf(doc)`` turns an interchange document into a tagged PDF/A-3b file
with the document embedded as its data; ``report_context(doc)`` is the template
context of ``report/_body.html``, which the on-screen preview includes too.

WeasyPrint's font configuration and the parsed stylesheets are built once per
process and reused: loading the CJK faces is the slow part of a first render.
"""

from __future__ import annotations

import atexit
import datetime as dt
import functools
import gc
import logging
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import render_to_string

from ..interchange import canonicalize, dumps
from .presentation import report_context, report_view

__all__ = ["PdfSetupError", "attachment_name", "render_html", "render_pdf", "report_context", "report_view"]

STYLESHEETS = ("report/report.css", "report/print.css")
PDF_VARIANT = "pdf/a-3b"
# Tagged (a structure tree with Table/TR/TH/TD, /MarkInfo, /Lang) so screen
# readers read the tables, WeasyPrint's PDF/UA tagging; the file stays
# PDF/A-3b, which allows tags without requiring them (issue 13).
PDF_TAGS = True
GENERATOR = "reportsite"
ATTACHMENT_DESCRIPTION = "本报告的数据（disclosure-report/1 交换格式）"


class PdfSetupError(ImproperlyConfigured):
    """The machine cannot render report PDFs properly (a library is missing)."""


@dataclass
class _Resources:
    font_config: Any
    stylesheets: list


_resources: _Resources | None = None
# WeasyPrint's Pango/fontconfig objects are shared; renders take turns.
_lock = threading.Lock()
# WeasyPrint logs every layout step at INFO; only its warnings matter here.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def static_path(name: str) -> Path:
    from django.contrib.staticfiles import finders

    found = finders.find(name)
    if not found:
        raise PdfSetupError(f"找不到样式表 {name}（STATICFILES_DIRS 中应有 static/{name}）。")
    return Path(found)


def _load_resources() -> _Resources:
    from weasyprint import CSS
    from weasyprint.text.fonts import FontConfiguration

    from .fonts import font_face_css, harfbuzz_subset_available

    if not harfbuzz_subset_available():
        raise PdfSetupError(
            "缺少 HarfBuzz 字体子集库 libharfbuzz-subset0：生成 PDF 会慢几十倍。请安装 Debian 包 libharfbuzz-subset0。"
        )
    font_config = FontConfiguration()
    # Its temporary font folder is removed when it is collected; at interpreter
    # exit that must happen while the modules it needs still exist.
    atexit.register(_release_resources)
    stylesheets = [CSS(string=font_face_css(), font_config=font_config)]
    stylesheets += [CSS(filename=str(static_path(name)), font_config=font_config) for name in STYLESHEETS]
    return _Resources(font_config, stylesheets)


def _release_resources() -> None:
    global _resources
    _resources = None


def _get_resources() -> _Resources:
    global _resources
    if _resources is None:
        _resources = _load_resources()
    return _resources


def attachment_name(doc: dict) -> str:
    return f"{doc['organization']['code']}_{doc['year']}.json"


def _w3c(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def render_html(doc: dict, *, draft: bool = False, revision: int | None = None, now: dt.datetime | None = None) -> str:
    """The printable HTML document (report/document.html) of a report."""
    now = now or dt.datetime.now(dt.UTC)
    context = report_context(doc, draft=draft, revision=revision)
    # The creation date is the 成文日期 when the report has one.
    created = canonicalize(doc).get("issued_on") or _w3c(now)
    context["meta"] = {"generator": GENERATOR, "created": created, "modified": _w3c(now)}
    return render_to_string("report/document.html", context)


class _WrittenOnceStream:
    """Mixin for pydyf streams whose serialized (compressed) data is kept.

    With a file identifier, which PDF/A requires, pydyf serializes every
    object twice: once to write it and once more to hash the file for the
    identifier, compressing each font and page stream again at zlib level 9
    (~6% of a render). The second pass gets the first one's bytes instead.
    """

    @functools.cached_property
    def data(self) -> bytes:
        return super().data


def _compress_once(document: Any, pdf: Any) -> None:
    """WeasyPrint finisher: runs when the PDF is complete, just before pydyf writes it."""
    import pydyf

    for obj in pdf.objects:
        cls = type(obj)
        if isinstance(obj, pydyf.Stream) and not issubclass(cls, _WrittenOnceStream):
            obj.__class__ = _written_once(cls)


@functools.cache
def _written_once(cls: type) -> type:
    return type(f"WrittenOnce{cls.__name__}", (_WrittenOnceStream, cls), {})


def render_pdf(doc: dict, *, draft: bool = False, revision: int | None = None) -> bytes:
    """The report as an official-format PDF (PDF/A-3b), its data attached.

    ``doc`` is an interchange document (``disclosure-report/1``), e.g. from
    ``selectors.export_report(report)`` or ``interchange.load_document``. A
    draft carries a 草稿 watermark and its ``revision``; a published report
    none. Raises PdfSetupError when the machine lacks the HarfBuzz subsetter.
    """
    from weasyprint import HTML, Attachment

    canonical = canonicalize(doc)
    now = dt.datetime.now(dt.UTC)
    html = render_html(canonical, draft=draft, revision=revision, now=now)
    with _lock:
        resources = _get_resources()
        # An Attachment is consumed by the render that writes it: one per render.
        attachment = Attachment(
            string=dumps(canonical),
            name=attachment_name(canonical),
            description=ATTACHMENT_DESCRIPTION,
            created=now,
            modified=now,
            relationship="Source",
        )
        # Layout allocates hundreds of thousands of short-lived objects; the
        # cyclic collector would walk the growing box tree again and again
        # (~10-20% of a render). Box trees are freed by reference counting or
        # by the next collection after the render.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf(
                font_config=resources.font_config,
                stylesheets=resources.stylesheets,
                attachments=[attachment],
                pdf_variant=PDF_VARIANT,
                pdf_tags=PDF_TAGS,
                finisher=_compress_once,
            )
        finally:
            if collecting:
                gc.enable()
