"""A small reader of our Dockerfile's stages: which build args a target's stages read."""
from __future__ import annotations

import re
from pathlib import Path

# ARGs that are not build inputs of a stack: apt's prompt mode, and the offline-wheelhouse switch
# that only tests set (see tests/engine.py).
INTERNAL = {"DEBIAN_FRONTEND", "WHEELHOUSE_ONLY", "PIP_FIND_LINKS"}


def stages(path: Path) -> tuple[set[str], dict[str, dict]]:
    """(global ARGs, {stage: {"from": base, "args": set, "copies": set}})."""
    global_args: set[str] = set()
    result: dict[str, dict] = {}
    current = None
    for line in path.read_text().splitlines():
        if m := re.match(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", line, re.I):
            current = m.group(2) or f"stage{len(result)}"
            result[current] = {"from": m.group(1), "args": set(), "copies": set()}
        elif m := re.match(r"^ARG\s+(\w+)", line):
            (result[current]["args"] if current else global_args).add(m.group(1))
        elif current and (m := re.search(r"--from=(\S+)", line)):
            result[current]["copies"].add(m.group(1))
    return global_args, result


def target_args(path: Path, target: str) -> set[str]:
    global_args, table = stages(path)
    needed, todo, seen = set(), [target], set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        stage = table[name]
        needed |= stage["args"]
        needed |= {a for a in global_args if f"${{{a}}}" in stage["from"] or f"${a}" in stage["from"]}
        todo += [s for s in [stage["from"], *stage["copies"]] if s in table]
    return needed - INTERNAL
