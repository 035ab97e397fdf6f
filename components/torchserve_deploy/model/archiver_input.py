"""The grammar of torch-model-archiver's path arguments, which it re-reads rather than take as written."""
from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from torchserve_deploy.errors import ValidationError

# torch-model-archiver 0.12.0 re-reads the paths it is given (model_packaging_utils.copy_artifacts): --extra-files
# is split on commas, each entry stripped and expanded as a glob (* ? [...]), and what matches is copied following
# symlinks (a matching directory whole); a --handler without ".py" gets ".py" appended and is cut at ":".
_ARCHIVER_UNSAFE = re.compile(r"[,*?\[\]]")


def archiver_path(key: str, value: object, *, handler: bool = False) -> str:
    """A path as torch-model-archiver receives it, which it must read as written (one file, this one)."""
    text = value if isinstance(value, str) else ""
    if (not text or not text.isprintable() or text != text.strip() or _ARCHIVER_UNSAFE.search(text)
            or text.startswith("-")  # argparse would take it for an option
            or handler and (":" in text or not text.endswith(".py"))):
        allowed = ("a path torch-model-archiver reads as written: printable, without , * ? [ ] (it splits extra "
                   "files on commas and expands globs), without leading or trailing spaces, not starting with -")
        raise ValidationError(key, value, allowed + ("; a handler ends in .py and holds no ':'" if handler else ""),
                              "rename the file or directory and fix the path")
    return text


def distinct_names(key: str, inputs: Sequence[tuple[str, Path]]) -> None:
    """The archiver copies every input into one flat folder, in order: a later file with the same name silently
    replaces an earlier one (another handler, other weights)."""
    seen: dict[str, str] = {}
    for flag, path in inputs:
        if path.name in seen:
            raise ValidationError(key, str(path), f"files with distinct names (torch-model-archiver puts every input in "
                                  f"one folder: this {flag} would replace the {seen[path.name]} named {path.name})",
                                  "rename one of them")
        seen[path.name] = flag
