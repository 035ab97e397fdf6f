"""Which host a stack deploys to (local, ec2 or fleet), decided before anything slow: it picks the state backend.

The program sees the stack's `torchserve-deploy:host` (or a bare `host:`, which the Pulumi CLI puts in the
project's namespace), else Pulumi.yaml's default, else a value from an ESC environment the stack imports.
`quick_host` reads that with the standard library only (make check runs before the virtualenv exists) and refuses
what it cannot read with certainty rather than guess "local" for a cloud stack; tests/test_stack_host.py holds it
to the yaml.v3 reading of infra/offline.py.
"""
from __future__ import annotations

import re
from pathlib import Path

PROJECT = "torchserve-deploy"
HOST_KEY = f"{PROJECT}:host"
_TOP = re.compile(r"^(?P<key>[A-Za-z_][\w-]*)[ \t]*:(?P<rest>.*)$")
_ENTRY = re.compile(r"^(?P<indent>[ \t]+)(?P<key>'[^']*'|\"[^\"]*\"|[^\s'\"#][^#]*?)[ \t]*:(?:[ \t]+(?P<value>.*?))?[ \t]*$")
_SCALAR = re.compile(r"(?:'(?P<single>[a-z0-9]+)'|\"(?P<double>[a-z0-9]+)\"|(?P<plain>[a-z0-9]+))(?:[ \t]+#.*)?")


class Unreadable(ValueError):
    """The file holds the host in a form this reader does not take on trust."""


def _unquote(key: str) -> str:
    return key[1:-1] if key[:1] in "'\"" and key[-1:] == key[:1] else key


def top_level_keys(text: str) -> list[str]:
    return [m.group("key") for line in text.splitlines() if (m := _TOP.match(line))]


def imports_environment(text: str) -> bool:
    """Whether the stack file imports ESC environments (a top-level `environment:`)."""
    return "environment" in top_level_keys(text)


def quick_host(text: str, default: str) -> str:
    """The host a block-style stack file sets, else `default`; Unreadable for anything else."""
    lines = text.lstrip("\ufeff").splitlines()
    starts = [i for i, line in enumerate(lines) if _TOP.match(line) and _TOP.match(line).group("key") == "config"]
    if not starts:
        return default
    if len(starts) > 1 or _TOP.match(lines[starts[0]]).group("rest").split("#")[0].strip():
        raise Unreadable("the config block is not a plain block mapping")
    indent, found, opened = None, [], False
    for line in lines[starts[0] + 1:]:
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if not line[0].isspace():
            break  # the next top-level key
        own = line[:len(line) - len(line.lstrip())]
        indent = own if indent is None else indent
        if own != indent:
            continue  # inside an entry's value
        if line.lstrip().startswith("- ") and opened:
            continue  # a list item of the key above (YAML lets it sit at the key's indentation)
        m = _ENTRY.match(line)
        if not m:
            raise Unreadable(f"a config line this reader does not parse: {line.strip()[:60]!r}")
        opened = not m.group("value")
        if _unquote(m.group("key").strip()) in (HOST_KEY, "host"):
            found.append(m.group("value") or "")
    if len(found) > 1:
        raise Unreadable("the host is set twice")
    if not found:
        return default
    value = _SCALAR.fullmatch(found[0])
    if not value:
        raise Unreadable(f"the host is written as {found[0][:40]!r}, not a plain word")
    return value.group("single") or value.group("double") or value.group("plain")


def project_default(root: Path) -> str:
    """Pulumi.yaml's default host (its config block is generated: `  host:` ... `    default: <host>`)."""
    text = (root / "Pulumi.yaml").read_text(encoding="utf-8")
    m = re.search(r"^  host:\n(?:    .*\n)*?    default: (\w+)$", text, re.M)
    if not m:
        raise Unreadable("Pulumi.yaml declares no default host")
    return m.group(1)


def host(root: Path, stack: str, *, quick: bool) -> str:
    """The stack's host: read quickly, or as the program will see it (infra/offline.py, needs the virtualenv)."""
    if not quick:
        from infra.offline import stack_host

        return stack_host(stack)
    try:
        return quick_host((root / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"), project_default(root))
    except Unreadable as err:
        raise Unreadable(f"{err}; write it as `  {HOST_KEY}: <local|ec2|fleet>` under `config:`") from None
