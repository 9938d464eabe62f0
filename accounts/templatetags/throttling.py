"""The login page's notice of the lock, from the throttling settings in force."""

from __future__ import annotations

from django import template

from ..throttling import lockout_policy as _lockout_policy

register = template.Library()


@register.simple_tag(takes_context=True)
def lockout_policy(context: template.Context) -> dict[str, int | None]:
    return _lockout_policy(context["request"])
