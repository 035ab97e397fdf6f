"""Which host a stack deploys to (local, ec2 or fleet), decided before anything slow: it picks the state backend.

The program sees the stack's `torchserve-deploy:host` (or a bare `host:`, which the Pulumi CLI puts in the
project's namespace), else Pulumi.yaml's default, else a value from an ESC environment the stack imports.
`quick_host` reads that with the standard library only (make check runs before the virtualenv exists) and refuses
what it cannot read with certainty rather than guess "local" for a cloud stack; tests/test_stack_host.py holds it
to the yaml.v3 reading of infra/offline.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

PROJECT = "torchserve-deploy"
HOST_KEY = f"{PROJECT}:host"
BACKEND_ENV = "PULUMI_BACKEND_URL"
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
        return quick_host(_text(root, stack), project_default(root))
    except Unreadable as err:
        raise Refused(f"stacks/Pulumi.{stack}.yaml: cannot tell which host it deploys to: {err}; write it as "
                      f"`  {HOST_KEY}: <local|ec2|fleet>` under `config:`") from None


class Refused(ValueError):
    """What is wrong and what to do, in one line."""


def _text(root: Path, stack: str) -> str:
    return (root / "stacks" / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8")


def backend(root: Path, stack: str, explicit: str | None, state_dir: Path, *, quick: bool,
            target: str) -> tuple[str, bool]:
    """(backend URL, is it the project-local default?). The project-local default is for local stacks only; a stack
    that imports ESC environments needs Pulumi Cloud (the only backend that opens them, pulumi/pulumi
    pkg/cmd/pulumi/config/config_env.go errBackendNoEnvironments) and may set its host there."""
    if imports_environment(_text(root, stack)) and not explicit:
        raise Refused(f"stack {stack} imports ESC environments (`environment:` in stacks/Pulumi.{stack}.yaml): only "
                      "the Pulumi Cloud backend opens them, and its host (or any key) may be set there: run pulumi "
                      f"login and choose that backend explicitly, e.g. {BACKEND_ENV}=https://api.pulumi.com {target}")
    if explicit:
        return explicit, False
    found = host(root, stack, quick=quick)
    if found != "local":
        raise Refused(f"stack {stack} creates cloud resources (host {found}), so its state must not default to the "
                      f"project-local .pulumi-state/ (one machine, lost with this checkout): choose a backend "
                      f"explicitly, e.g. {BACKEND_ENV}=s3://<bucket>/torchserve-deploy {target} "
                      f"(or https://api.pulumi.com; or file://{state_dir} if you mean it)")
    return f"file://{state_dir}", True


def esc_host(root: Path, stack: str, url: str, pinned: Path, *, target: str) -> str | None:
    """The host of a stack that imports ESC environments, from `pulumi config --json --open` (the stack's config
    as the CLI merges it: environments, stack file and Pulumi.yaml's defaults; secrets stay hidden); None for a
    stack that imports none. Without the CLI it is refused: nothing else can open an environment."""
    if not imports_environment(_text(root, stack)):
        return None
    pulumi = str(pinned / "bin" / "pulumi") if (pinned / "bin" / "pulumi").is_file() else shutil.which("pulumi")
    if pulumi is None:
        raise Refused(f"stack {stack} imports ESC environments, and only the Pulumi CLI can open them to tell which "
                      f"host it deploys to: run make pulumi-cli (or put pulumi on PATH), then {target}")
    argv = [pulumi, "config", "--json", "--open", "--stack", stack, "--non-interactive"]
    try:
        done = subprocess.run(argv, cwd=root, env={**os.environ, BACKEND_ENV: url}, capture_output=True, text=True,
                              timeout=120)
        config = json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        raise Refused(f"pulumi config --json --open --stack {stack} failed ({err}): fix that, then {target}") from None
    if not isinstance(config, dict):
        last = (done.stderr.strip().splitlines() or ["no output"])[-1][:200]
        raise Refused(f"pulumi config --json --open --stack {stack} failed ({last}): fix that, then {target}")
    entry = config.get(HOST_KEY) or {"value": project_default(root)}
    if not isinstance(entry, dict) or not isinstance(entry.get("value"), str):
        raise Refused(f"stack {stack}: {HOST_KEY} is a secret or not a string in its resolved config: set it as a "
                      f"plain value, then {target}")
    return str(entry["value"])
