"""make check's standard-library reading of a stack's host agrees with the CLI's (yaml.v3, defaults merged), and
refuses what it cannot read with certainty instead of guessing "local" for a cloud stack (which would put the
stack's state in the project-local backend)."""
from __future__ import annotations

import pytest

from infra import stack_host
from infra.offline import ROOT, committed_stacks, engine_config, project, stack_file_text
from infra.pulumi_cli import goyaml
from infra.pulumi_cli.project import load_stack

DEFAULT = stack_host.project_default(ROOT)


def cli_host(text: str) -> str:
    """What the program would see: the stack file read by the CLI, Pulumi.yaml's default merged."""
    config = {k: goyaml.load(v.text) if v.object else v.text for k, v in load_stack(project(), text).config.items()}
    return str(config.get(stack_host.HOST_KEY, DEFAULT))


def test_project_default_is_the_declared_one():
    assert DEFAULT == project().config["host"].default == "local"


@pytest.mark.parametrize("stack", committed_stacks())
def test_committed_stacks(stack):
    assert stack_host.quick_host(stack_file_text(stack), DEFAULT) == engine_config(stack).values[stack_host.HOST_KEY]


READABLE = [
    "config:\n  torchserve-deploy:host: ec2\n",
    "config:\n  torchserve-deploy:host: 'fleet'  # quoted\n",
    'config:\n  "torchserve-deploy:host": "ec2"\n',
    "config:\n  host: ec2\n",  # the CLI puts a bare key in the project's namespace
    "# c\nconfig:\n\n  aws:region: us-east-1\n  torchserve-deploy:models:\n    host:\n      path: models/demo\n",
    "config:\n    torchserve-deploy:host: fleet\nencryptionsalt: v1:abc\n",
    "config:\n  torchserve-deploy:privateSubnetIds:\n  - subnet-0a\n  - subnet-0b\n  torchserve-deploy:host: ec2\n",
    "encryptionsalt: v1:abc\nconfig:\n  torchserve-deploy:gpus: all\n",
    "",
    "config:\n",
]


@pytest.mark.parametrize("text", READABLE)
def test_readable_forms_agree_with_the_cli(text):
    assert stack_host.quick_host(text, DEFAULT) == cli_host(text)


UNREADABLE = [
    "config: {torchserve-deploy:host: ec2}\n",
    "config:\n  torchserve-deploy:host: ec2\n  host: fleet\n",
    "config:\n  torchserve-deploy:host: |\n    ec2\n",
    "config:\n  torchserve-deploy:host: &h ec2\n",
    "config:\n  torchserve-deploy:host: EC2\n",
    "config:\n  ? torchserve-deploy:host\n  : ec2\n",
    "config:\n  - torchserve-deploy:host\n",
]


@pytest.mark.parametrize("text", UNREADABLE)
def test_other_forms_are_refused(text):
    with pytest.raises(stack_host.Unreadable):
        stack_host.quick_host(text, DEFAULT)


def test_an_environment_import_is_seen():
    assert stack_host.imports_environment("environment:\n  - ml/prod\nconfig: {}\n")
    assert stack_host.imports_environment("config:\n  a:b: c\nenvironment:\n  imports: [ml/prod]\n")
    assert not stack_host.imports_environment("config:\n  torchserve-deploy:environment: x\n")
