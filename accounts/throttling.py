"""Login throttling that fits the deployment (ADR 0013).

django-axes locks out a (user name, client address) pair after
AXES_FAILURE_LIMIT failures, so somebody elsewhere cannot lock the real
user out; on top of that one address is locked for every user name after
AXES_ADDRESS_FAILURE_LIMIT failures in the cool-off window (password
spraying). The client address is the one the trusted proxies saw, never a
value the client wrote itself.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
from typing import Any

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_cool_off, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.core.cache import cache
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


# --- Password reset mails (ADR 0013, "Reset mails") ---------------------------
#
# Counted in the shared cache (Redis), so every web node sees one count. Read
# with defaults here; set in settings.py from the environment.
def _reset_limits() -> tuple[int, int, int]:
    return (
        int(getattr(settings, "PASSWORD_RESET_MAX_PER_EMAIL", 3)),
        int(getattr(settings, "PASSWORD_RESET_MAX_PER_CLIENT", 20)),
        int(getattr(settings, "PASSWORD_RESET_WINDOW_SECONDS", 3600)),
    )


def _client_bucket(address: str) -> str:
    """The client's address, an IPv6 one as its /64: one host can use a whole /64."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped is not None:
            return str(parsed.ipv4_mapped)
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _reset_key(kind: str, value: str) -> str:
    # Hashed: no address is written to Redis, and any input makes a valid key.
    return f"pwreset:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _count(key: str, window: int) -> int | None:
    """Add one to a counter that lives ``window`` seconds from its first hit; None: the cache is down."""
    try:
        cache.add(key, 0, window)  # the first hit of a window sets its expiry; later ones keep it
        return cache.incr(key)
    except ValueError:
        # Expired between add and incr: this hit opens a new window.
        cache.set(key, 1, window)
        return 1
    except Exception as exc:  # noqa: BLE001 - any backend's failure; ForgivingRedisCache does not wrap incr
        logger.error("Password reset limit: cache unavailable (%s); no reset mail is sent until it is back.", exc)
        return None


def allow_password_reset(request: HttpRequest, email: str) -> bool:
    """Whether a reset mail for ``email`` may be queued now; a refusal is logged.

    Every valid request counts, whether or not an account has the address,
    so the limit itself says nothing about which addresses exist. The caller
    answers a refusal exactly like a sent mail. With the cache down nothing
    is sent (closed): the mail job would wait in the database for the same
    Redis anyway, and an uncounted queue would go out as one flood.
    """
    per_email, per_client, window = _reset_limits()
    client = _client_bucket(client_ip(request))
    address = email.strip().lower()  # Django finds users by email__iexact
    by_client = _count(_reset_key("client", client), window)
    if by_client is None:
        return False
    if by_client > per_client:
        _log_refusal("client", by_client, per_client, address, client)
        return False
    by_email = _count(_reset_key("email", address), window)
    if by_email is None:
        return False
    if by_email > per_email:
        _log_refusal("email", by_email, per_email, address, client)
        return False
    return True


def _log_refusal(reason: str, count: int, limit: int, address: str, client: str) -> None:
    # A warning for the first refusal of a window (for alerts), info after: one line each, bounded noise.
    level = logging.WARNING if count == limit + 1 else logging.INFO
    logger.log(
        level,
        "Password reset mail refused: %s limit %d reached (request %d in the window) email=%r client=%s",
        reason,
        limit,
        count,
        address[:254],
        client,
    )
