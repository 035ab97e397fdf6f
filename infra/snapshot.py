"""`make snapshot`: each committed stack's resource graph (type, name, inputs) as sorted, readable YAML
under tests/snapshots/, evaluated offline under mocks. Committed, so a pull request shows every
infrastructure change as a plain text diff without cloud credentials; `make test` fails when the
program's output differs from the committed file.

Machine-specific paths are written as ${REPO}; secrets as [secret].
"""
from __future__ import annotations

import argparse
from typing import Any

import yaml

from infra.offline import ROOT, committed_stacks, evaluate_program
from infra.pulumi_cli.monitor import is_secret

DIR = ROOT / "tests" / "snapshots"
HEADER = ("# Resource graph of stack {stack}, evaluated offline under mocks (python -m infra.snapshot).\n"
          "# Review its diff with the code change; regenerate with `make snapshot`.\n")


def _normalize(value: Any) -> Any:
    if isinstance(value, dict):
        if is_secret(value):
            return "[secret]"
        return {k: _normalize(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_normalize(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        return value.replace(str(ROOT), "${REPO}")
    return value


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and all(c == "\n" or c.isprintable() for c in value) else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(stack: str) -> str:
    resources = evaluate_program(stack)
    graph = [{"type": r.typ, "name": r.name, **({"inputs": _normalize(r.inputs)} if r.custom else {})}
             for r in sorted(resources, key=lambda r: (r.typ, r.name))]
    return HEADER.format(stack=stack) + yaml.dump(graph, Dumper=_Dumper, sort_keys=False, width=120,
                                                  allow_unicode=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", action="append", help="default: every committed stack")
    DIR.mkdir(parents=True, exist_ok=True)
    for stack in parser.parse_args().stack or committed_stacks():
        path = DIR / f"{stack}.yaml"
        path.write_text(render(stack))
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
