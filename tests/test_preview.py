"""`pulumi preview` as well as `pulumi up`: in a preview nothing is created, so IDs and everything a provider
computes are unknown, and an `apply` on an unknown value never runs. The program must register the same
resources in both modes (a resource created inside an apply would be missing from every preview and PR diff),
with the same inputs wherever the preview knows them. Valid-config cases check the same through
tests/test_valid_configs.py's evaluate_program."""
from __future__ import annotations

from typing import Any

import pytest
from pulumi.output import Unknown

from infra.offline import ROOT, committed_stacks, evaluate_program, program_in, run_under_mocks
from infra.pulumi_cli.config_map import decrypt
from infra.pulumi_cli.project import load_project, load_stack, merge_config

CONSUMER = ROOT / "examples" / "consumer"


def _known_equal(preview: Any, update: Any) -> bool:
    """Whether every value the preview knows is the one the update has."""
    if isinstance(preview, Unknown):
        return True
    if isinstance(preview, dict) and isinstance(update, dict):
        return preview.keys() == update.keys() and all(_known_equal(preview[k], update[k]) for k in preview)
    if isinstance(preview, list) and isinstance(update, list):
        return len(preview) == len(update) and all(_known_equal(p, u) for p, u in zip(preview, update, strict=True))
    return preview == update


def compare(preview: list, update: list) -> None:
    def index(rs):
        return {(r.typ, r.name): r.inputs for r in rs}
    p, u = index(preview), index(update)
    assert sorted(p) == sorted(u), f"only in preview: {sorted(set(p) - set(u))}; only in update: {sorted(set(u) - set(p))}"
    differ = [key for key in u if not _known_equal(p[key], u[key])]
    assert differ == [], f"inputs the preview knows differ from the update's: {differ}"


def same_in_preview(stack: str, overrides: dict | None, update: list) -> None:
    compare(evaluate_program(stack, overrides, preview=True), update)


@pytest.mark.parametrize("stack", committed_stacks())
def test_committed_stack_registers_the_same_resources_in_preview(stack):
    update = evaluate_program(stack)
    preview = evaluate_program(stack, preview=True)
    compare(preview, update)
    unknown = [r.name for r in preview if any(isinstance(v, Unknown) for v in r.inputs.values())]
    if stack != "dev":  # cloud stacks feed IDs and ARNs into other resources: a real preview cannot know them
        assert unknown, "nothing was unknown: the preview mode did not take effect"


def _consumer(preview: bool) -> list:
    project = load_project((CONSUMER / "Pulumi.yaml").read_text())
    stack = load_stack(project, "")
    merge_config("test", project, stack.config, encrypt=str, decrypt=str)
    return run_under_mocks(program_in(CONSUMER), config=decrypt(stack.config, str), preview=preview,
                           provider_cwd=CONSUMER).resources  # its main is ".": providers start in its folder


def test_the_consumer_example_registers_the_same_resources_in_preview():
    update = _consumer(False)
    assert {r.typ for r in update} >= {"docker:index/image:Image", "docker:index/container:Container"}
    compare(_consumer(True), update)


def test_preview_leaves_provider_outputs_unknown():
    """The local image's ID is what the provider computes: unknown in a preview, so the container's image is."""
    preview = {r.name: r for r in evaluate_program("dev", preview=True)}
    assert isinstance(preview["torchserve-container"].inputs["image"], Unknown)
