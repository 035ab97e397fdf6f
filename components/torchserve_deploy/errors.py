"""The one error type for bad input, raised before any resource is registered."""
from __future__ import annotations

import reprlib
from typing import Any

# A bad value is shown, never dumped: long strings, deep or huge structures (YAML alias bombs) and file
# contents that reached a field by mistake are cut short.
_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxdict, _SHORT.maxlist, _SHORT.maxtuple, _SHORT.maxset = 3, 6, 6, 6, 6
_SHORT.maxstring, _SHORT.maxother, _SHORT.maxlong = 120, 120, 40


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
        super().__init__(f"{key}: {_SHORT.repr(value)} is not valid. Allowed: {allowed}. Fix: {fix}")
