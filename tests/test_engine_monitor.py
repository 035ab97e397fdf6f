"""What the Pulumi engine refuses and plain mocks accept, refused offline by infra/pulumi_cli/monitor.py: duplicate
URNs (type chain + name), aliases onto another resource, physical names AWS cannot take once Pulumi adds its
random suffix, options that do nothing on a component, unparsable timeouts; and what it adds (auto-names, options
inherited from the parent). Cases from pulumi/pulumi pkg/engine/lifecycletest (TestDuplicateURN,
TestDuplicatesDueToAliases) are ported by name."""
from __future__ import annotations

import re

import pulumi
import pulumi_aws as aws
import pytest

from infra.offline import LateRefusal, committed_stacks, evaluate_program, run_under_mocks
from infra.pulumi_cli.monitor import EngineError
from infra.pulumi_cli.values import ConfigError


class Box(pulumi.ComponentResource):
    def __init__(self, name: str, child: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("test:index:Box", name, None, opts)
        self.topic = aws.sns.Topic(child, name="fixed", opts=pulumi.ResourceOptions(parent=self))


def refused(fn) -> str:
    with pytest.raises(EngineError) as err:
        run_under_mocks(fn)
    return str(err.value)


def test_TestDuplicateURN():
    message = refused(lambda: [aws.sns.Topic("resA", name="a"), aws.sns.Topic("resA", name="b")])
    assert message == "Duplicate resource URN 'urn:pulumi:test::torchserve-deploy::aws:sns/topic:Topic::resA'; " \
                      "try giving it a unique name"


def test_children_of_two_components_of_one_type_collide_when_their_names_do_not_derive_from_the_parent():
    """The URN holds the parent's type chain, not its name: Box("a") and Box("b") both make Box$Topic::inner."""
    message = refused(lambda: [Box("a", "inner"), Box("b", "inner")])
    assert "urn:pulumi:test::torchserve-deploy::test:index:Box$aws:sns/topic:Topic::inner" in message
    run_under_mocks(lambda: [Box("a", "a-inner"), Box("b", "b-inner")])  # names derived from the parent's


def test_TestDuplicatesDueToAliases():
    message = refused(lambda: [aws.sns.Topic("resA", name="a"),
                               aws.sns.Topic("resB", name="b", opts=pulumi.ResourceOptions(
                                   aliases=[pulumi.Alias(name="resA")]))])
    assert message.startswith("Duplicate resource alias 'urn:pulumi:test::torchserve-deploy::aws:sns/topic:Topic::resA'")


@pytest.mark.parametrize("typ,make,limit", [
    ("LoadBalancer", lambda n: aws.lb.LoadBalancer(n, internal=True), 32),
    ("TargetGroup", lambda n: aws.lb.TargetGroup(n, port=80, protocol="HTTP"), 32),
    ("Role", lambda n: aws.iam.Role(n, assume_role_policy="{}"), 64),
])
def test_auto_names_that_aws_cannot_take_are_refused(typ, make, limit):
    fits = "x" * (limit - 8)
    run_under_mocks(lambda: make(fits))
    message = refused(lambda: make(fits + "y"))
    assert f"plus 7 random chars is longer than maximum length {limit}" in message


def test_an_auto_name_that_breaks_the_api_pattern_is_refused():
    assert "does not match" in refused(lambda: aws.ecr.Repository("Models"))
    run_under_mocks(lambda: aws.ecr.Repository("models"))


def test_auto_names_reach_the_program_in_update_and_preview_alike():
    names = {}

    def program(key):
        role = aws.iam.Role("host-role", assume_role_policy="{}")
        return role.name.apply(lambda n: names.__setitem__(key, n))
    run_under_mocks(lambda: program("up"))
    run_under_mocks(lambda: program("preview"), preview=True)
    assert names["up"] == names["preview"] and re.fullmatch(r"host-role-[0-9a-f]{7}", names["up"]), names


@pytest.mark.parametrize("opts,option", [
    (pulumi.ResourceOptions(ignore_changes=["name"]), "ignoreChanges"),
    (pulumi.ResourceOptions(replace_on_changes=["name"]), "replaceOnChanges"),
    (pulumi.ResourceOptions(custom_timeouts=pulumi.CustomTimeouts(create="5m")), "customTimeouts"),
    (pulumi.ResourceOptions(additional_secret_outputs=["name"]), "additionalSecretOutputs"),
])
def test_options_a_component_ignores_are_refused(opts, option):
    assert f"the option(s) {option} have no effect on a component resource" in refused(lambda: Box("a", "a-t", opts))


def test_an_unparsable_custom_timeout_is_refused():
    message = refused(lambda: aws.sns.Topic("t", name="t", opts=pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(create="10 minutes"))))
    assert message.endswith("unable to parse customTimeout Value 10 minutes")
    run_under_mocks(lambda: aws.sns.Topic("t", name="t", opts=pulumi.ResourceOptions(
        custom_timeouts=pulumi.CustomTimeouts(create="1h30m", delete="90s"))))


def test_children_inherit_protect_and_retain_on_delete():
    mocks = run_under_mocks(lambda: Box("kept", "kept-topic", pulumi.ResourceOptions(protect=True, retain_on_delete=True)))
    child = next(r for r in mocks.monitor.registrations.values() if r.name == "kept-topic")
    assert child.protect and child.retain_on_delete


@pytest.mark.parametrize("stack", committed_stacks())
def test_no_committed_stack_registers_what_the_engine_refuses(stack):
    """Any refusal above would raise; the stacks also name every auto-named resource within its limit."""
    for preview in (False, True):
        assert evaluate_program(stack, preview=preview)


def test_a_failure_after_the_first_resource_is_a_late_refusal():
    """An exception inside an apply (or a late component) leaves a real `up` half-built: the harness says so."""
    def late():
        topic = aws.sns.Topic("t", name="t")

        def fail(_):
            raise ValueError("refused too late")
        return topic.arn.apply(fail)

    with pytest.raises(LateRefusal, match=r"after 1 resources were registered \(ValueError: refused too late\)"):
        run_under_mocks(late)

    def early():
        raise ValueError("refused in time")
    with pytest.raises(ValueError, match="in time"):
        run_under_mocks(early)


def test_relative_build_paths_resolve_from_where_the_engine_starts_the_provider():
    """With `main: infra/` the engine starts the docker and command providers in infra/ (getPwdMain, cmd.Dir = pwd):
    a build context written from the repository root would not be found there."""
    import pulumi_docker as docker

    from infra.offline import INFRA

    def image(context: str):
        return lambda: docker.Image("img", image_name="x:1", skip_push=True,
                                    build=docker.DockerBuildArgs(context=context))
    assert "unable to prepare context: path 'components/torchserve_deploy/image/docker' not found" in str(
        pytest.raises(EngineError, run_under_mocks, image("components/torchserve_deploy/image/docker"),
                      provider_cwd=INFRA).value)
    run_under_mocks(image("../components/torchserve_deploy/image/docker"), provider_cwd=INFRA)


@pytest.mark.parametrize("main,expected", [("", "."), ("infra/", "infra"), ("infra", "infra"),
                                           ("infra/__main__.py", "infra"), ("./infra/../infra", "infra")])
def test_the_program_directory_is_the_one_getpwdmain_gives(main, expected):
    """pkg/engine/project.go getPwdMain: no main → the project root; a directory → it; a file → its directory."""
    from infra.offline import ROOT
    from infra.pulumi_cli.project import program_dir

    assert program_dir(ROOT, main) == (ROOT / expected).resolve()


def test_a_main_that_does_not_exist_is_refused_as_the_cli_does():
    from infra.offline import ROOT
    from infra.pulumi_cli.project import program_dir

    with pytest.raises(ConfigError, match="project 'main' could not be read"):
        program_dir(ROOT, "nowhere/")


def test_the_program_renders_paths_from_where_the_cli_starts_its_providers():
    """infra.plan.PROVIDER_CWD is the program's own account of its working directory: it must be the one the CLI
    derives from Pulumi.yaml's main, or every relative build path and command is wrong on a real `pulumi up`."""
    from infra.offline import INFRA
    from infra.plan import PROVIDER_CWD

    assert PROVIDER_CWD == INFRA
