"""Test helpers over the offline evaluation in infra/offline.py (re-exported here for the tests)."""
from __future__ import annotations

from infra.offline import (
    INFRA,
    PROJECT,
    ROOT,
    RecordingMocks,
    Registered,
    committed_stacks,
    evaluate_program,
    run_under_mocks,
    stack_config,
)
from infra.pulumi_cli.monitor import is_secret, unsecret

__all__ = ["INFRA", "PROJECT", "ROOT", "RecordingMocks", "Registered", "committed_stacks", "evaluate_program",
           "run_under_mocks", "stack_config", "is_secret", "unsecret", "only", "named"]


def only(resources: list[Registered], typ: str) -> Registered:
    found = [r for r in resources if r.typ == typ]
    assert len(found) == 1, f"expected one {typ}, found {[r.name for r in found]}"
    return found[0]


def named(resources: list[Registered], name: str) -> Registered:
    found = [r for r in resources if r.name == name]
    assert len(found) == 1, f"expected one resource named {name}, found {[r.typ for r in found]}"
    return found[0]


def server_config(resources) -> str:
    """The config.properties a local stack's server container gets (written by its files command)."""
    found = [r.inputs["stdin"] for r in resources if r.typ == "command:local:Command"
             and r.name.endswith(tuple(f"-files-{i}" for i in range(10)))
             and r.inputs["create"].endswith("/config.properties")]
    assert len(found) == 1, found
    return found[0]


def load_model(root, rel):
    """A model directory's manifest read as the settings loader reads it."""
    from torchserve_deploy.model.manifest import MANIFEST, load_manifest

    return load_manifest(root / rel, f"{rel}/{MANIFEST}")
