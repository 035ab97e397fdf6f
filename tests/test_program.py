"""The whole program for every committed stack under mocks, run from infra/ as the engine would."""
import json
import logging

import pytest

from tests.mocks import committed_stacks, evaluate_program, named, only, server_config

STACKS = committed_stacks()


def test_dev_stack_is_committed():
    assert "dev" in STACKS


def test_dev_registers_the_whole_path(dev_resources):
    types = [r.typ for r in dev_resources]
    for t in ("docker:index/image:Image", "command:local:Command", "docker:index/container:Container",
              "torchserve:image:TorchServeImage", "torchserve:archive:ModelArchive",
              "torchserve:store:ModelStore", "torchserve:server:TorchServeServer"):
        assert t in types, t
    archive = [r for r in dev_resources if r.name == "model-demo-archive"][0]
    assert "--model-name demo" in archive.inputs["create"]


def test_dev_container_shm_ulimits_and_loopback_ports(dev_resources):
    c = only(dev_resources, "docker:index/container:Container").inputs
    assert c["shmSize"] == 1024
    assert {u["name"]: (u["soft"], u["hard"]) for u in c["ulimits"]} == {"memlock": (-1, -1), "stack": (67108864, 67108864)}
    binds = {p["internal"]: (p["ip"], p["external"]) for p in c["ports"]}
    for port in (8081, 8082, 7071):
        assert binds[port] == ("127.0.0.1", port)
    image = named(dev_resources, "torchserve-image")
    assert c["image"] == "sha256:" + c["image"].split(":")[1]  # the image's ID, not a mutable tag
    assert image.inputs["imageName"].startswith("torchserve-deploy:0.12.0-cpu-")


def test_dev_config_properties_is_secure(dev_resources):
    props = server_config(dev_resources)
    assert "disable_token_authorization=false" in props and "enable_model_api=false" in props
    assert "load_models=demo.mar" in props


@pytest.mark.parametrize("stack", STACKS)
def test_every_stack_is_deterministic(stack):
    first = evaluate_program(stack)
    second = evaluate_program(stack)
    # Registration order is asynchronous; the inputs of each resource must be byte-identical.
    dump = lambda rs: json.dumps(sorted((r.typ, r.name, r.inputs) for r in rs), sort_keys=True)  # noqa: E731
    assert dump(first) == dump(second)


def test_token_auth_off_warns(caplog):
    with caplog.at_level(logging.WARNING):
        resources = evaluate_program("dev", {"tokenAuth": False})
    assert "disable_token_authorization=true" in server_config(resources)
    assert any("tokenAuth is false" in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)


def test_token_auth_on_does_not_warn(caplog):
    with caplog.at_level(logging.WARNING):
        evaluate_program("dev")
    assert not any("tokenAuth" in r.getMessage() for r in caplog.records)
