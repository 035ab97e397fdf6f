"""Keys that may hold secrets: a secret index URL reaches the build as a secret input, stays out of the
content tag, shows as [secret] in snapshots and as an environment reference in compose, and a stack
file's {secure: ...} blob is never written anywhere as a value."""
import pytest
import yaml
from torchserve_deploy.container.compose import render_compose
from torchserve_deploy.errors import ValidationError

import infra.offline as offline
from infra.deliver.compose import compose_services
from infra.plan import make_plan
from infra.snapshot import _normalize
from tests.mocks import ROOT, evaluate_program, is_secret, named

P = "torchserve-deploy:"
BLOB = {"secure": "v1:AAAABBBBCCCC"}


@pytest.fixture
def secret_dev(monkeypatch):
    config = {**offline.stack_config("dev"), P + "pipIndexUrl": BLOB}
    monkeypatch.setattr(offline, "stack_file_text", lambda stack: yaml.safe_dump({"config": config}))
    return config


def test_secret_index_url_is_a_secret_build_arg(secret_dev):
    resources = evaluate_program("dev")
    for name in ("torchserve-image", "train-demo-image"):
        build = named(resources, name).inputs["build"]
        # Pulumi marks the whole `build` input secret when one of its values is: encrypted in state.
        assert is_secret(build), name
        assert _normalize(build) == "[secret]"
    assert not is_secret(named(resources, "torchserve-image").inputs["imageName"])
    assert "v1:AAAA" not in repr([r.inputs for r in resources])


def test_compose_references_the_environment(secret_dev):
    plan = make_plan(offline.stack_settings("dev"))
    text, _ = render_compose(compose_services(plan), ROOT / ".build/dev")
    services = yaml.safe_load(text)["services"]
    assert services["torchserve"]["build"]["args"]["PIP_INDEX_URL"] == "${TORCHSERVE_DEPLOY_PIP_INDEX_URL}"
    assert services["train-demo"]["build"]["args"]["PIP_INDEX_URL"] == "${TORCHSERVE_DEPLOY_PIP_INDEX_URL}"
    assert "secure" not in text and "v1:AAAA" not in text


def test_credentials_are_left_out_of_the_content_tag():
    plain = make_plan(offline.stack_settings("dev")).image_ref
    with_token = offline.load_settings(
        {P + "pipIndexUrl": "https://user:tok3n@pypi.org/simple"}, stack="dev", root=ROOT,
        secret_keys=frozenset({P + "pipIndexUrl"}))
    assert make_plan(with_token).image_ref.split(":")[1] == make_plan(offline.load_settings(
        {}, stack="dev", root=ROOT)).image_ref.split(":")[1]
    assert plain.startswith("torchserve-deploy:")


def test_credentials_in_a_plain_value_are_refused():
    with pytest.raises(ValidationError) as err:
        offline.load_settings({P + "pipIndexUrl": "https://user:tok3n@pypi.org/simple"}, stack="dev", root=ROOT)
    assert err.value.key == P + "pipIndexUrl" and "tok3n" not in str(err.value)
    assert "pulumi config set --secret" in str(err.value)


def test_a_secure_value_of_a_plain_key_is_refused(monkeypatch):
    config = {**offline.stack_config("dev"), P + "containerName": BLOB}
    monkeypatch.setattr(offline, "stack_file_text", lambda stack: yaml.safe_dump({"config": config}))
    with pytest.raises(ValidationError) as err:
        offline.stack_settings("dev")
    assert err.value.key == P + "containerName" and "v1:" not in str(err.value)
