from typing import Any

from django import template

register = template.Library()


@register.filter
def lookup(mapping: dict | None, key: str) -> Any:
    """{{ values|lookup:ref }}: dict access by a computed key."""
    if not mapping:
        return ""
    value = mapping.get(key)
    return "" if value is None else value
