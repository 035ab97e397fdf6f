"""The one error type for bad input, raised before any resource is registered."""
from __future__ import annotations

from typing import Any


class ValidationError(ValueError):
    """Bad stack config or component argument.

    The message always names the key (or argument), the bad value, what is allowed and the fix,
    so a user never has to read a traceback from inside a provider.
    """

    def __init__(self, key: str, value: Any, allowed: str, fix: str) -> None:
        self.key = key
        self.value = value
        self.allowed = allowed
        self.fix = fix
        super().__init__(f"{key}: {value!r} is not valid. Allowed: {allowed}. Fix: {fix}")
