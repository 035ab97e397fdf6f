"""Writes Pulumi.yaml's `config:` block and the README's config table from `infra.stack_settings.KEYS`
(run: python -m infra.project_file).

KEYS is the one place defaults live; tests/test_project.py fails when either file drifts from it.
"""
from __future__ import annotations

from pathlib import Path

import yaml

from infra.stack_settings import KEYS, PROJECT

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# The config block is generated from infra/stack_settings.py KEYS: python -m infra.project_file\n"


def render() -> str:
    config = {}
    for k in KEYS:
        entry = {"type": k.type, "description": k.description, "default": k.default}
        if k.type == "array":
            entry["items"] = {"type": "string"}
        config[k.name] = entry
    project = {
        "name": PROJECT,
        "description": "PyTorch model to a running, secure TorchServe endpoint, one stack at a time",
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}},
        "main": "infra/",
        "stackConfigDir": "stacks",
        "config": config,
    }
    return HEADER + yaml.safe_dump(project, sort_keys=False, width=100)


TABLE_START, TABLE_END = "<!-- config-table:start -->", "<!-- config-table:end -->"


def _default(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    if value == "":
        return '""'
    return str(value)


def render_config_table() -> str:
    rows = [f"| `{k.name}` | {k.type} | `{_default(k.default)}` | {k.description} |" for k in KEYS]
    return "\n".join([TABLE_START, "| Key | Type | Default | Meaning |", "|---|---|---|---|", *rows, TABLE_END])


def readme_with_table(readme: str) -> str:
    start, end = readme.index(TABLE_START), readme.index(TABLE_END) + len(TABLE_END)
    return readme[:start] + render_config_table() + readme[end:]


if __name__ == "__main__":
    (ROOT / "Pulumi.yaml").write_text(render())
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text()))
