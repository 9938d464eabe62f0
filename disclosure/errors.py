"""One shape for every refusal a person reads (ADR 0003's findings aside): a Chinese
``message``, a ``code`` and ``params``, as Django's ValidationError carries them."""

from __future__ import annotations

from typing import Any


class CodedError(Exception):
    """Mixed into an exception class (before its base: ``class X(CodedError, ValueError)``)."""

    default_code = "invalid"

    def __init__(self, message: str, code: str | None = None, params: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.params = params or {}
