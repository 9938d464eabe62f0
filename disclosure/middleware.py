"""Security middleware Django 5.2 does not provide itself: headers, hostile input, private caching."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render

from .text import BAD_TEXT_MESSAGE, is_bad_text


class ContentSecurityPolicyMiddleware:
    """Adds settings.CONTENT_SECURITY_POLICY to every response that has none."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.policy = "; ".join(f"{name} {value}" for name, value in settings.CONTENT_SECURITY_POLICY.items())

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", self.policy)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        return response


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _bad_items(data) -> bool:
    return any(is_bad_text(key) or any(is_bad_text(v) for v in values) for key, values in data.lists())


def _small(request: HttpRequest) -> bool:
    """Small enough for Django to hold as request.body (uploads are streamed instead)."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return limit is None or length <= limit


def bad_request(request: HttpRequest, message: str, code: str) -> HttpResponse:
    """A clear 400: JSON for scripts, the Chinese error page for people."""
    wants_json = request.content_type == "application/json" or "application/json" in request.headers.get("Accept", "")
    if wants_json:
        return JsonResponse({"error": message, "code": code}, status=400)
    return render(request, "400.html", {"message": message, "code": code}, status=400)


class HostileInputMiddleware:
    """NUL bytes and lone surrogates in the path, query string or form fields are
    refused before any view or query sees them (PostgreSQL would fail with a 500).

    JSON bodies are checked by the views that read them (disclosure.text.has_bad_text).
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._hostile(request):
            return bad_request(request, BAD_TEXT_MESSAGE, "bad_text")
        return self.get_response(request)

    @staticmethod
    def _hostile(request: HttpRequest) -> bool:
        if is_bad_text(request.path) or _bad_items(request.GET):
            return True
        if request.method == "POST" and request.content_type in FORM_TYPES:
            if request.content_type == "multipart/form-data" and _small(request):
                # Read the body first so a view may still read request.body after the form is parsed.
                request.body  # noqa: B018
            return _bad_items(request.POST)
        return False


# Pages for signed-in people only: never kept by a browser or a proxy.
PRIVATE_PREFIXES = ("/workspace/", "/review/", "/admin/", "/accounts/")
PRIVATE = "private, no-store"


class PrivateCacheMiddleware:
    """``Cache-Control: private, no-store`` on every staff page and draft download,
    and on any response to a signed-in request except the portal's public files
    (whose ``public`` caching the portal sets itself)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES):
            response["Cache-Control"] = PRIVATE
        elif getattr(request, "user", None) is not None and request.user.is_authenticated:
            public_file = "public" in response.get("Cache-Control", "") and not response.get(
                "Content-Type", ""
            ).startswith("text/html")
            if not public_file:
                response["Cache-Control"] = PRIVATE
        return response
