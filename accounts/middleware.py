"""Until a password an admin set is changed, every signed-in page leads to the change form."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from . import services


class PasswordChangeRequiredMiddleware:
    """After AuthenticationMiddleware; one primary-key lookup per signed-in request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not self._exempt(request.path):
            if services.must_change_password(user):
                return redirect("password_change")
        return self.get_response(request)

    @staticmethod
    def _exempt(path: str) -> bool:
        allowed = (reverse("password_change"), reverse("password_change_done"), reverse("logout"))
        return path in allowed or path.startswith("/" + settings.STATIC_URL.lstrip("/"))
