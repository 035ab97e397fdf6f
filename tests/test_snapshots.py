"""Committed resource-graph snapshots (tests/snapshots/<stack>.yaml) match the program's output, so
every infrastructure change shows as a plain text diff in review. Regenerate with `make snapshot`."""
import pytest

from infra.offline import committed_stacks
from infra.snapshot import DIR, render


def test_every_committed_stack_has_a_snapshot_and_nothing_else():
    assert sorted(p.stem for p in DIR.glob("*.yaml")) == committed_stacks()


@pytest.mark.parametrize("stack", committed_stacks())
def test_snapshot_is_current(stack):
    expected = (DIR / f"{stack}.yaml").read_text()
    actual = render(stack)
    assert actual == expected, f"stack {stack} changed: run `make snapshot` and review tests/snapshots/{stack}.yaml"


@pytest.mark.parametrize("stack", committed_stacks())
def test_snapshot_has_no_machine_paths_or_secrets(stack):
    from infra.offline import ROOT

    text = (DIR / f"{stack}.yaml").read_text()
    assert str(ROOT) not in text and "mock-ecr-password" not in text
