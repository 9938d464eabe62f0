"""What a PDF would make pdfminer do, bounded before pdfminer does it.

pdfminer decodes every content stream in full and renders Form XObjects
recursively, without limits: a 2 KB file nesting a form ten deep draws text
10⁷ times, and a 400 KB file hides a 400 MB form. ``check_pdf_work`` walks
each page the way pdfminer's interpreter will — page contents, then every
``Do`` of a Form XObject, with the resources pdfminer would use — and
decodes each stream with a cap, counting:

- the nesting depth of forms (a cycle, which pdfminer skips, is refused as too deep);
- the decoded size of each stream;
- the XObject draws reachable (memoized products of depth × fan-out);
- the content bytes interpreted, a stream counted each time it is drawn;
- the fonts' streams (ToUnicode, embedded CMaps and programs), which pdfminer
  decodes whole when it loads the resources of what it interprets.

Object streams, images and annotations are left to pypdf's own limits and to
the sandbox (``sandbox.py``): pdfminer decodes no image to extract text.

Settings (read with defaults): ``REPORT_PDF_MAX_FORM_DEPTH`` (8),
``REPORT_UPLOAD_MAX_STREAM_BYTES`` (50 MB), ``REPORT_PDF_MAX_XOBJECT_DRAWS``
(100 000); the content total uses ``REPORT_UPLOAD_MAX_UNPACKED_BYTES``.
"""

from __future__ import annotations

import re
import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..interchange import InvalidDocument
from .files import DEFAULT_MAX_UNPACKED_BYTES, MB, _mb, _setting

DEFAULT_MAX_FORM_DEPTH = 8
DEFAULT_MAX_STREAM_BYTES = 50 * MB
DEFAULT_MAX_XOBJECT_DRAWS = 100_000

# "/Name Do" in a content stream. A name inside a string also matches: that only overcounts.
_DELIMITERS = rb"\s/\[\]()<>{}%"
_DO = re.compile(rb"/([^" + _DELIMITERS + rb"]*)\s*Do(?![^" + _DELIMITERS + rb"])")
_HEX_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class PdfLimits:
    max_depth: int = DEFAULT_MAX_FORM_DEPTH
    max_stream_bytes: int = DEFAULT_MAX_STREAM_BYTES
    max_draws: int = DEFAULT_MAX_XOBJECT_DRAWS
    max_total_bytes: int = DEFAULT_MAX_UNPACKED_BYTES

    @classmethod
    def from_settings(cls) -> PdfLimits:
        return cls(
            max_depth=_setting("REPORT_PDF_MAX_FORM_DEPTH", DEFAULT_MAX_FORM_DEPTH),
            max_stream_bytes=_setting("REPORT_UPLOAD_MAX_STREAM_BYTES", DEFAULT_MAX_STREAM_BYTES),
            max_draws=_setting("REPORT_PDF_MAX_XOBJECT_DRAWS", DEFAULT_MAX_XOBJECT_DRAWS),
            max_total_bytes=_setting("REPORT_UPLOAD_MAX_UNPACKED_BYTES", DEFAULT_MAX_UNPACKED_BYTES),
        )


def _too_complex(name: str, what: str, limit: str, **params: Any) -> InvalidDocument:
    return InvalidDocument(
        f"文件过于复杂或已损坏，无法读取（PDF 文件“{name}”{what}）。",
        code="too_complex",
        params={"limit": limit, **params},
    )


class _TooLarge(Exception):
    pass


def _inflate(data: bytes, cap: int) -> bytes:
    """zlib-decode at most ``cap`` bytes; _TooLarge past it. A damaged tail ends the data, as in pdfminer."""
    decompressor = zlib.decompressobj()
    out = bytearray()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _CHUNK):
            chunk = view[start : start + _CHUNK]
            while chunk:
                out += decompressor.decompress(chunk, cap + 1 - len(out))
                if len(out) > cap:
                    raise _TooLarge
                chunk = decompressor.unconsumed_tail
            if decompressor.eof:
                break
    except zlib.error:
        pass
    return bytes(out)


def _filters(stream: Any) -> list[str]:
    value = stream.get("/Filter")
    if value is None:
        return []
    value = value.get_object()
    return [str(f.get_object()) for f in value] if isinstance(value, list) else [str(value)]


def _decode(stream: Any, cap: int) -> bytes:
    """A stream's decoded content, at most ``cap`` bytes (_TooLarge beyond)."""
    from pypdf import filters as pf
    from pypdf.errors import LimitReachedError

    data = stream._data  # the raw (encoded) bytes; pypdf has decrypted them already
    if len(data) > cap and not _filters(stream):
        raise _TooLarge
    for name in _filters(stream):
        if name in ("/FlateDecode", "/Fl"):
            data = _inflate(data, cap)
        elif name in ("/ASCIIHexDecode", "/AHx"):
            data = pf.ASCIIHexDecode.decode(data)
        elif name in ("/ASCII85Decode", "/A85"):
            data = pf.ASCII85Decode.decode(data)
        elif name in ("/LZWDecode", "/LZW", "/RunLengthDecode", "/RL"):
            codec = pf.LZWDecode if name.startswith("/LZW") else pf.RunLengthDecode
            try:
                data = codec.decode(data)
            except LimitReachedError:
                raise _TooLarge from None
        else:
            break  # image codecs: pdfminer does not decode them for text either
        if len(data) > cap:
            raise _TooLarge
    return data


def _key(obj: Any) -> Any:
    ref = getattr(obj, "indirect_reference", None)
    return (ref.idnum, ref.generation) if ref is not None else id(obj)


def _draws_in(content: bytes) -> Counter:
    # finditer, not findall: 50 MB of "/X Do" is 8 million names, held once each by a list.
    spelled = Counter(match.group(1) for match in _DO.finditer(content))
    draws: Counter = Counter()
    for name, times in spelled.items():
        draws[_HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), name)] += times
    return draws


@dataclass(frozen=True)
class _Cost:
    draws: int  # XObject draws, this one included
    content: int  # content bytes interpreted
    height: int  # forms nested below and including this one


class _Walker:
    def __init__(self, name: str, limits: PdfLimits):
        self.name = name
        self.limits = limits
        self.streams: dict[Any, tuple[int, Counter]] = {}  # decoded size and the names it draws
        self.decoded = 0  # distinct streams, decoded
        self.costs: dict[tuple[Any, Any], _Cost] = {}
        self.active: set[tuple[Any, Any]] = set()
        self.fonts_seen: set[Any] = set()
        self.font_bytes = 0  # pdfminer loads each font once per document

    def read(self, stream: Any, what: str, *, scan: bool = True) -> tuple[int, Counter]:
        key = _key(stream)
        if key not in self.streams:
            cap = self.limits.max_stream_bytes
            try:
                content = _decode(stream, cap)
            except _TooLarge:
                raise _too_complex(
                    self.name, f"中的{what}解压后超过 {_mb(cap)}", "stream", max_bytes=cap, object=str(key)
                ) from None
            self.decoded += len(content)
            self.streams[key] = (len(content), _draws_in(content) if scan and b"Do" in content else Counter())
        return self.streams[key]

    def fonts(self, resources: Any) -> None:
        """Decode-check the font streams pdfminer reads when it loads these resources' fonts.

        It loads every font of the resources it interprets with (ToUnicode and
        embedded CMaps, font programs for widths and cmaps), used or not.
        """
        resources = resources.get_object() if resources is not None else None
        fonts = resources.get("/Font") if hasattr(resources, "get") else None
        fonts = fonts.get_object() if fonts is not None else None
        if not hasattr(fonts, "values"):
            return
        for font in fonts.values():
            font = font.get_object()
            if not hasattr(font, "get") or _key(font) in self.fonts_seen:
                continue
            self.fonts_seen.add(_key(font))
            parts = [font]
            descendants = font.get("/DescendantFonts")
            descendants = descendants.get_object() if descendants is not None else None
            if isinstance(descendants, list):
                parts += [d.get_object() for d in descendants]
            for part in parts:
                if not hasattr(part, "get"):
                    continue
                streams = [part.get("/ToUnicode"), part.get("/Encoding")]
                descriptor = part.get("/FontDescriptor")
                descriptor = descriptor.get_object() if descriptor is not None else None
                if hasattr(descriptor, "get"):
                    streams += [descriptor.get(k) for k in ("/FontFile", "/FontFile2", "/FontFile3")]
                for stream in streams:
                    stream = stream.get_object() if stream is not None else None
                    if hasattr(stream, "get_data") and _key(stream) not in self.streams:
                        self.font_bytes += self.read(stream, "字体", scan=False)[0]

    def xobjects(self, resources: Any) -> dict[bytes, Any]:
        if resources is None:
            return {}
        resources = resources.get_object()
        xobjects = resources.get("/XObject") if hasattr(resources, "get") else None
        if xobjects is None:
            return {}
        xobjects = xobjects.get_object()
        if not hasattr(xobjects, "items"):
            return {}
        from pypdf.generic import NameObject

        # The names as the content stream spells them: pypdf decoded them with the first charset that fit.
        names: dict[bytes, Any] = {}
        for name, ref in xobjects.items():
            for charset in (*NameObject.CHARSETS, "charmap"):
                try:
                    names.setdefault(str(name)[1:].encode(charset), ref)
                except UnicodeEncodeError:
                    continue
        return names

    def drawn(self, draws: Counter, resources: Any, depth: int) -> _Cost:
        """What the ``Do`` operators of one content stream cost, drawn with these resources."""
        total_draws, total_content, height = 0, 0, 0
        available = self.xobjects(resources) if draws else {}
        for name, times in draws.items():
            ref = available.get(name)
            if ref is None:
                continue  # pdfminer skips an undefined XObject
            xobject = ref.get_object()
            cost = self.form(xobject, resources, depth + 1)
            total_draws += times * cost.draws
            total_content += times * cost.content
            height = max(height, cost.height)
            self.check_draws(total_draws)
        return _Cost(total_draws, total_content, height)

    def form(self, xobject: Any, resources: Any, depth: int) -> _Cost:
        if not hasattr(xobject, "get") or xobject.get("/Subtype") != "/Form" or "/BBox" not in xobject:
            return _Cost(1, 0, 0)  # an image: one draw, nothing interpreted
        if depth > self.limits.max_depth:
            raise self.too_deep()
        own = xobject.get("/Resources")
        own = own.get_object() if own is not None else None
        # A form without resources, or with an empty dictionary, uses its caller's (pdfminer:
        # ``dict_value(xobjres) if xobjres else self.resources``): the cost depends on them.
        inherits = not own or not hasattr(own, "get")
        used = resources if inherits else own
        context = (_key(xobject), _key(resources.get_object()) if inherits and resources is not None else None)
        if context in self.costs:
            cost = self.costs[context]
            if depth - 1 + cost.height > self.limits.max_depth:
                raise self.too_deep()
            return cost
        if context in self.active:
            raise self.too_deep()  # a form that draws itself: pdfminer skips it, no real report has one
        self.active.add(context)
        size, draws = self.read(xobject, "表单对象（Form XObject）")
        self.fonts(used)
        below = self.drawn(draws, used, depth)
        self.active.discard(context)
        cost = _Cost(1 + below.draws, size + below.content, 1 + below.height)
        self.costs[context] = cost
        return cost

    def too_deep(self) -> InvalidDocument:
        depth = self.limits.max_depth
        return _too_complex(self.name, f"的表单对象嵌套超过 {depth} 层", "depth", max_depth=depth)

    def check_draws(self, draws: int) -> None:
        if draws > self.limits.max_draws:
            most = self.limits.max_draws
            raise _too_complex(self.name, f"绘制嵌入对象的次数超过 {most} 次", "draws", max_draws=most, draws=draws)

    def page(self, page: Any) -> _Cost:
        """What pdfminer's interpreting one page costs."""
        contents = page.get("/Contents")
        if contents is None:
            return _Cost(0, 0, 0)
        contents = contents.get_object()
        streams = [c.get_object() for c in contents] if isinstance(contents, list) else [contents]
        resources = page.get("/Resources")
        self.fonts(resources)
        # pdfminer interprets a page's streams as one: a draw may sit in any of them.
        draws: Counter = Counter()
        interpreted = 0
        for stream in streams:
            if not hasattr(stream, "get_data"):
                continue
            size, names = self.read(stream, "页面内容")
            interpreted += size
            draws.update(names)
        cost = self.drawn(draws, resources, 0)
        return _Cost(cost.draws, interpreted + cost.content, cost.height)


def check_pdf_work(reader: Any, name: str, limits: PdfLimits | None = None) -> None:
    """Refuse a PDF whose pages would make pdfminer decode or draw beyond the limits.

    ``InvalidDocument`` with code ``too_complex`` (a stream too large, forms
    nested too deep, too many draws) or ``zip_bomb`` (all content
    interpreted, page by page and draw by draw, beyond
    ``REPORT_UPLOAD_MAX_UNPACKED_BYTES``, as for zip containers).
    """
    limits = limits or PdfLimits.from_settings()
    walker = _Walker(name, limits)
    interpreted, draws = 0, 0
    for page in reader.pages:
        cost = walker.page(page)
        draws += cost.draws
        walker.check_draws(draws)
        interpreted += cost.content
        if interpreted + walker.font_bytes > limits.max_total_bytes:
            most = limits.max_total_bytes
            raise InvalidDocument(
                f"PDF 文件“{name}”中的压缩内容解压后异常庞大，可能是恶意构造的文件，已拒绝读取。"
                f"（页面内容超过 {_mb(most)}）",
                code="zip_bomb",
                params={"limit": most},
            )
