"""Writes Pulumi.yaml's `config:` block from `infra.stack_settings.KEYS` (run: python -m infra.project_file).

KEYS is the one place defaults live; tests/test_project.py fails when Pulumi.yaml drifts from it.
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
    return HEADER + yaml.safe_dump(project, sort_keys=False, width=120)


if __name__ == "__main__":
    (ROOT / "Pulumi.yaml").write_text(render())
