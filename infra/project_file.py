"""Writes Pulumi.yaml's `config:` block and the README's config table from the one declaration of keys
in infra/settings/keys.py (run: python -m infra.project_file).

tests/test_project.py fails when either file drifts from it, or when the CLI would read a default back as
something else (it reads YAML as yaml.v3 does). `models` is declared `type: object` (the CLI checks it is a map;
Pulumi 3.187 and later) with the demo model as its default.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from torchserve_deploy.constants import PROJECT

from infra.settings.keys import HOST_KEY, KEYS, MODELS_DEFAULT, MODELS_DOC, MODELS_KEY

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# The config block is generated from infra/settings/keys.py: python -m infra.project_file\n"


def render() -> str:
    config: dict[str, Any] = {}
    for k in KEYS:
        entry: dict[str, Any] = {"type": k.type, "description": k.meta.doc, "default": k.default}
        if k.type == "array":
            entry["items"] = {"type": "string"}
        config[k.name] = entry
        if k.name == HOST_KEY:
            config[MODELS_KEY] = {"type": "object", "description": MODELS_DOC, "default": MODELS_DEFAULT}
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
    rows = [f"| `{MODELS_KEY}` | map | `{_default(MODELS_DEFAULT)}` | {MODELS_DOC} |"]
    for k in KEYS:
        notes = []
        if k.meta.hosts != ("local", "ec2", "fleet"):
            notes.append(f"{'/'.join(k.meta.hosts)} only")
        if k.meta.secret:
            notes.append("may be a secret")
        suffix = f" *({'; '.join(notes)})*" if notes else ""
        rows.append(f"| `{k.name}` | {k.type} | `{_default(k.default)}` | {k.meta.doc}{suffix} |")
    return "\n".join([TABLE_START, "| Key | Type | Default | Meaning |", "|---|---|---|---|", *rows, TABLE_END])


def readme_with_table(readme: str) -> str:
    start, end = readme.index(TABLE_START), readme.index(TABLE_END) + len(TABLE_END)
    return readme[:start] + render_config_table() + readme[end:]


if __name__ == "__main__":
    (ROOT / "Pulumi.yaml").write_text(render())
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text()))
