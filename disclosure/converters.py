"""URL path converters."""

from django.urls import register_converter


def register_choice(name: str, *choices: str) -> None:
    """A path converter that matches one of the given literal values, e.g. file extensions."""

    class Choice:
        regex = "|".join(choices)

        def to_python(self, value: str) -> str:
            return value

        def to_url(self, value: str) -> str:
            return value

    register_converter(Choice, name)
