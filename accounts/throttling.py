"""Login throttling that fits the deployment (ADR 0013).

django-axes locks out a (user name, client address) pair after
AXES_FAILURE_LIMIT failures, so somebody elsewhere cannot lock the real
user out; on top of that one address is locked for every user name after
AXES_ADDRESS_FAILURE_LIMIT failures in the cool-off window (password
spraying). The client address is the one the trusted proxies saw, never a
value the client wrote itself.
"""

from __future__ import annotations

import ipaddress
import logging
import math
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

logger = logging.getLogger(__name__)
_warned = False


def _address(value: str) -> str | None:
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def client_ip(request: HttpRequest) -> str:
    """The client's address as the trusted proxies recorded it.

    TRUSTED_PROXY_COUNT = 0: REMOTE_ADDR. With N proxies each appending the
    address it saw to X-Forwarded-For (nginx's $proxy_add_x_forwarded_for),
    the N-th entry from the right is the client's; everything to its left
    came from the client and is ignored.
    """
    global _warned
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        if not _warned and "HTTP_X_FORWARDED_FOR" in request.META:
            _warned = True  # once per process: a proxy is in front but not trusted
            logger.warning("X-Forwarded-For received with TRUSTED_PROXY_COUNT=0: set it to the number of proxies.")
        return remote
    entries = [e for e in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if e.strip()]
    if not entries:
        return remote
    # Fewer entries than proxies: the request skipped one; the left-most is still a proxy's.
    chosen = entries[-count] if len(entries) >= count else entries[0]
    return _address(chosen) or remote


class ThrottlingHandler(AxesDatabaseHandler):
    """Axes' database handler with a limit per address across all user names."""

    def address_failures(self, request: HttpRequest) -> int:
        attempts = AccessAttempt.objects.filter(
            ip_address=request.axes_ip_address, attempt_time__gte=get_cool_off_threshold(request)
        )
        return attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def get_failures(self, request: HttpRequest, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        if self.address_failures(request) >= settings.AXES_ADDRESS_FAILURE_LIMIT:
            # The address is over its own limit: locked like a user over theirs.
            return max(failures, get_failure_limit(request, credentials))
        return failures


def lockout_response(request: HttpRequest, original_response: Any = None, credentials: Any = None) -> HttpResponse:
    """The Chinese lock-out page (429), saying how long the lock lasts."""
    return render(
        request,
        settings.AXES_LOCKOUT_TEMPLATE,
        {"lockout_minutes": lockout_minutes(request)},
        status=settings.AXES_HTTP_RESPONSE_CODE,
    )


def lockout_minutes(request: HttpRequest | None = None) -> int | None:
    """How long a lock lasts, in whole minutes (None: until an admin lifts it)."""
    cool_off = get_cool_off(request)
    return math.ceil(cool_off.total_seconds() / 60) if cool_off else None


def lockout_policy(request: HttpRequest) -> dict[str, int | None]:
    """What the login page tells people: failures allowed per user name and address, and the lock's length."""
    return {"failures": get_failure_limit(request, None), "minutes": lockout_minutes(request)}
