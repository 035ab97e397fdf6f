"""Content digests of Docker builds (pure): the files that reach a build context and the build args.

Used for content-addressed image tags, so the same inputs give the same tag on every machine.
"""
from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path


def _ignore_patterns(context: Path) -> list[tuple[bool, str]]:
    """(exclude?, pattern) in file order, as Docker reads .dockerignore: `!` re-includes, a leading / is
    dropped, the last matching line decides."""
    ignore = context / ".dockerignore"
    lines = ignore.read_text().splitlines() if ignore.exists() else []
    out = []
    for line in lines:
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        negated = text.startswith("!")
        pattern = text.lstrip("!").strip().lstrip("/").rstrip("/")
        out.append((not negated, pattern))
    return out


def _regex(pattern: str) -> re.Pattern[str]:
    """Docker's pattern syntax (Go filepath.Match plus **): * and ? stay within one path component."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def _excluded(rel: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Excluded when the last pattern matching the path, or one of its parent directories, excludes it."""
    candidates = [rel.rsplit("/", i)[0] for i in range(rel.count("/") + 1)]
    excluded = False
    for exclude, regex in patterns:
        if any(regex.fullmatch(c) for c in candidates):
            excluded = exclude
    return excluded


def context_files(context: Path) -> list[Path]:
    """Files (and links) that reach the build: everything but what .dockerignore excludes."""
    patterns = [(exclude, _regex(p)) for exclude, p in _ignore_patterns(context)]
    files = []
    for path in sorted(context.rglob("*")):
        rel = path.relative_to(context).as_posix()
        if (path.is_symlink() or path.is_file()) and "__pycache__" not in rel.split("/") and not _excluded(rel, patterns):
            files.append(path)
    return files


def build_digest(context: Path, build_args: dict[str, str], *extra: bytes | str) -> str:
    """SHA-256 over the context's files (path and content), the build args and any extra inputs."""
    digest = hashlib.sha256()
    for path in context_files(context):
        # A link counts by where it points (Docker sends the link, never the file it leads to).
        content = f"symlink:{os.readlink(path)}".encode() if path.is_symlink() else path.read_bytes()
        digest.update(path.relative_to(context).as_posix().encode() + b"\0" + content + b"\0")
    for key, value in sorted(build_args.items()):
        digest.update(f"{key}={value}\0".encode())
    for item in extra:
        digest.update((item.encode() if isinstance(item, str) else item) + b"\0")
    return digest.hexdigest()
