"""Content digests of Docker builds (pure): the files that reach a build context and the build args.

Used for content-addressed image tags, so the same inputs give the same tag on every machine.
"""
from __future__ import annotations

import hashlib
from fnmatch import fnmatch
from pathlib import Path


def _ignore_patterns(context: Path) -> list[str]:
    ignore = context / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    return [line.strip().rstrip("/").removeprefix("**/") for line in lines
            if line.strip() and not line.lstrip().startswith("#")]


def context_files(context: Path) -> list[Path]:
    """Files that reach the build: everything but what .dockerignore names (by path or by any part)."""
    patterns = _ignore_patterns(context) + ["__pycache__"]
    files = []
    for path in sorted(context.rglob("*")):
        rel = path.relative_to(context)
        if path.is_file() and not any(fnmatch(rel.as_posix(), p) or any(fnmatch(part, p) for part in rel.parts)
                                      for p in patterns):
            files.append(path)
    return files


def build_digest(context: Path, build_args: dict[str, str], *extra: bytes | str) -> str:
    """SHA-256 over the context's files (path and content), the build args and any extra inputs."""
    digest = hashlib.sha256()
    for path in context_files(context):
        digest.update(path.relative_to(context).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    for key, value in sorted(build_args.items()):
        digest.update(f"{key}={value}\0".encode())
    for item in extra:
        digest.update((item.encode() if isinstance(item, str) else item) + b"\0")
    return digest.hexdigest()
