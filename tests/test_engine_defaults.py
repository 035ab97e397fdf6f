"""Every committed stack as `pulumi up` runs it: the Pulumi CLI merges each `default:` of Pulumi.yaml's config block
into the stack's config before the program starts (pulumi/pulumi pkg/workspace/config.go, mergeConfig), so the
program cannot tell a default from a value the stack set. The loader treats a value equal to its declared default
as unset (it is accepted on every host and changes nothing), and keeps refusing anything else that does not apply.
"""
from __future__ import annotations

import json

import pytest
from torchserve_deploy.errors import ValidationError

from infra.offline import ROOT, committed_stacks, engine_config, project, stack_config
from infra.pulumi_cli.values import go_json
from infra.settings import load_settings
from infra.settings.keys import KEYS
from infra.snapshot import DIR, render

P = "torchserve-deploy:"
STACKS = committed_stacks()


def _as_written(value):
    """A default as a stack file would hold it (lists stay lists for YAML)."""
    return list(value) if isinstance(value, tuple) else value


@pytest.mark.parametrize("stack", STACKS)
def test_the_program_gets_every_declared_key_and_registers_its_snapshot(stack):
    cfg = engine_config(stack)
    declared = {f"{P}{name}" for name in project().config}
    assert declared <= set(cfg.values), sorted(declared - set(cfg.values))
    assert len(declared) == len(KEYS) + 1  # and models
    assert all(isinstance(v, str) for v in cfg.values.values())
    assert render(stack) == (DIR / f"{stack}.yaml").read_text()


@pytest.mark.parametrize("stack", STACKS)
def test_merged_defaults_give_the_settings_of_the_stack_file_alone(stack):
    """The same Settings whether or not the defaults were merged: a default is not a choice."""
    cfg = engine_config(stack)
    own = {k: v for k, v in cfg.values.items() if k in stack_config(stack) or not k.startswith(P)}
    merged = load_settings(cfg.values, stack=stack, root=ROOT, secret_keys=cfg.secret_keys)
    alone = load_settings(own, stack=stack, root=ROOT, secret_keys=cfg.secret_keys)
    assert merged == alone


@pytest.mark.parametrize("stack", STACKS)
def test_every_default_written_out_changes_nothing(stack):
    """Each declared key set explicitly to its default, on every committed stack (where it may not even apply),
    is accepted and gives the stack's own settings."""
    base = load_settings(engine_config(stack).values, stack=stack, root=ROOT)
    written = {k.name: _as_written(k.default) for k in KEYS if f"{P}{k.name}" not in stack_config(stack)}
    cfg = engine_config(stack, written)
    assert load_settings(cfg.values, stack=stack, root=ROOT) == base


@pytest.mark.parametrize("stack,key,value", [
    ("dev", "alarmEmail", "ml-oncall@example.com"),
    ("dev", "instanceType", "g5.xlarge"),
    ("staging", "cpuLauncher", True),
    ("staging", "restartPolicy", "always"),
    ("fleet", "alarmGpuMemoryPercent", 80),
    ("fleet", "amiRoute", "ubuntu"),
])
def test_a_value_other_than_the_default_is_still_refused_where_it_does_not_apply(stack, key, value):
    cfg = engine_config(stack, {key: value})
    with pytest.raises(ValidationError) as err:
        load_settings(cfg.values, stack=stack, root=ROOT)
    assert err.value.key == P + key and "set only when host is" in str(err.value)


def _as_the_cli_sends(default: object) -> str:
    """createConfigValue then the language host: text as is, booleans and integers as Go prints them, arrays and
    maps as compact JSON with sorted keys."""
    if isinstance(default, bool):
        return "true" if default else "false"
    if isinstance(default, (list, dict)):
        return json.dumps(default, separators=(",", ":"), sort_keys=True)
    return str(default)


def test_defaults_reach_the_program_as_the_cli_formats_them():
    """Every declared default the dev stack does not set reaches the program as the CLI formats it."""
    values = engine_config("dev").values
    own = set(stack_config("dev"))
    defaults = {f"{P}{k}" if ":" not in k else k: t.default for k, t in project().config.items()
                if t.default is not None and (f"{P}{k}" if ":" not in k else k) not in own}
    assert len(defaults) > 80
    assert {k: values.get(k) for k in defaults} == {k: _as_the_cli_sends(d) for k, d in defaults.items()}
    assert values[P + "edgeCidrs"] == '["0.0.0.0/0"]' == go_json(["0.0.0.0/0"])


def test_a_stack_importing_an_esc_environment():
    """The environment's pulumiConfig is merged under the stack's own values (JSON merge patch: maps merge key by
    key); without it the harness refuses the stack rather than guess."""
    text = ("environment:\n  - ml/dev\nconfig:\n  torchserve-deploy:models:\n    demo:\n      path: models/demo\n"
            "  torchserve-deploy:shmSize: 512m\n")
    with pytest.raises(ValidationError, match="no ESC environment here"):
        engine_config("dev", text=text)
    env = {"torchserve-deploy:models": {"demo": {"workers": 3, "path": "elsewhere"}}, "shmSize": "2g",
           "torchserve-deploy:tokenExpirationMin": 30}
    cfg = engine_config("dev", text=text, environment=env)
    s = load_settings(cfg.values, stack="dev", root=ROOT, secret_keys=cfg.secret_keys)
    assert (s.models[0].workers, s.models[0].source.handler.parent) == (3, ROOT / "models/demo")
    assert s.shm_size_mb == 512 and s.server.token_expiration_min == 30


def _cloud_answer_decides(stack, accepted, refusal, **answers):
    """Run `stack` against mocks whose AWS answers are `answers`: accepted, or refused before any resource."""
    import pulumi

    from infra.offline import RecordingMocks, run_program

    mocks = RecordingMocks()
    for name, value in answers.items():
        setattr(mocks, name, value)
    if accepted:
        assert run_program(stack, engine_config(stack), mocks=mocks).resources
        return
    with pytest.raises(pulumi.RunError, match=refusal):
        run_program(stack, engine_config(stack), mocks=mocks)
    assert mocks.resources == []


@pytest.mark.parametrize("zone,accepted", [("ml.example.com.", True), ("example.com", True),
                                           ("other.example.com.", False), ("ample.com", False)])
def test_the_edge_name_must_lie_in_its_hosted_zone(zone, accepted):
    """Route 53 would refuse the validation and alias records after everything else exists: refused before."""
    _cloud_answer_decides("staging", accepted, "domainName: 'staging.ml.example.com' is not valid. Allowed: a name in "
                                               "the hosted zone", zone_name=zone)


@pytest.mark.parametrize("cidr,accepted", [("10.40.0.0/16", True), ("172.17.0.0/16", False), ("172.16.0.0/12", False)])
def test_an_existing_vpc_must_not_overlap_dockers_bridge(cidr, accepted):
    _cloud_answer_decides("prod", accepted, "vpcId: 'vpc-0a1b2c3d4e5f60718' is not valid. Allowed: a VPC whose range",
                          vpc_cidr=cidr)
