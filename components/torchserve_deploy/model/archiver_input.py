"""The grammar of torch-model-archiver's path arguments, which it re-reads rather than take as written."""
from __future__ import annotations

import re

from torchserve_deploy.errors import ValidationError

# torch-model-archiver 0.12.0 re-reads the paths it is given (model_packaging_utils.copy_artifacts): --extra-files
# is split on commas, each entry stripped and expanded as a glob (* ? [...]), and what matches is copied following
# symlinks (a matching directory whole); a --handler without ".py" gets ".py" appended and is cut at ":".
_ARCHIVER_UNSAFE = re.compile(r"[,*?\[\]]")


def archiver_path(key: str, value: object, *, handler: bool = False) -> str:
    """A path as torch-model-archiver receives it, which it must read as written (one file, this one)."""
    text = value if isinstance(value, str) else ""
    if (not text or not text.isprintable() or text != text.strip() or _ARCHIVER_UNSAFE.search(text)
            or handler and (":" in text or not text.endswith(".py"))):
        allowed = ("a path torch-model-archiver reads as written: printable, without , * ? [ ] (it splits extra "
                   "files on commas and expands globs) and without leading or trailing spaces")
        raise ValidationError(key, value, allowed + ("; a handler ends in .py and holds no ':'" if handler else ""),
                              "rename the file or directory and fix the path")
    return text
