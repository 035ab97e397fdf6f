"""ContainerSpec → ECS container definition (pure): the real server spec rendered and validated offline
against ECS's own RegisterTaskDefinition input shape (botocore's bundled model: types, required
members, unknown keys, enums), and broken definitions refused."""
import copy
import dataclasses
import json

import pytest
from botocore.validate import ParamValidator
from torchserve_deploy.constants import ANY_IPV4
from torchserve_deploy.container import ecs
from torchserve_deploy.container.ecs import render_container_definition, render_container_definitions
from torchserve_deploy.container.spec import (
    ContainerSpec,
    FileUpload,
    Healthcheck,
    LogConfig,
    Mount,
    PortBinding,
    Tmpfs,
)
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.serve.config_properties import ModelServing
from torchserve_deploy.serve.server import HEALTHCHECK_BIN, TorchServeServerArgs, build_server_spec

from tests.botocore_shapes import documented_values, input_shape, member, problems, service_model

AWSLOGS = LogConfig(driver="awslogs", options=(("awslogs-group", "/x"), ("awslogs-region", "us-east-1"),
                                               ("awslogs-stream-prefix", "ts")))
# The ECS API reference marks these Required; botocore's model does not (ContainerDefinition has no
# required members there), so ParamValidator alone would accept a container without a name.
ECS_REQUIRED = {"ContainerDefinition": ("name", "image")}


def server_spec():
    args = TorchServeServerArgs(
        container_name="torchserve", image="sha256:abc", image_ref="repo/torchserve:1",
        models=(ModelServing("demo"), ModelServing("other")),
        store=Mount("/home/model-server/model-store", "models", "volume", True),
        inference_bind=ANY_IPV4, gpus="all", log=AWSLOGS)
    # ECS cannot place config.properties: the fleet provides it another way.
    return dataclasses.replace(build_server_spec(args), files=())


def server_definition():
    return render_container_definition(server_spec(), image="123.dkr.ecr.us-east-1.amazonaws.com/ts@sha256:abc",
                                       gpu_count=1, memory_reservation_mb=8192)


def register(*definitions):
    return {"family": "torchserve", "containerDefinitions": list(definitions), "requiresCompatibilities": ["EC2"],
            "networkMode": "bridge"}


def register_problems(*definitions):
    return problems(register(*definitions), "ecs", "RegisterTaskDefinition", ECS_REQUIRED)


def test_server_definition_is_a_valid_register_task_definition_input():
    found = register_problems(server_definition())
    assert not found, "\n".join(found)


def test_server_definition_carries_the_hardened_server_spec():
    d = server_definition()
    assert d["name"] == "torchserve" and d["essential"] is True and d["command"] == ["serve"]
    assert d["image"].endswith("@sha256:abc")
    linux = d["linuxParameters"]
    assert linux["sharedMemorySize"] == 1024
    assert linux["capabilities"] == {"drop": ["ALL"]}
    assert [t["containerPath"] for t in linux["tmpfs"]] == ["/run/torchserve", "/tmp"]
    run, tmp = linux["tmpfs"]
    assert run["size"] == 64 and run["mountOptions"] == ["rw", "noexec", "nosuid", "nodev", "uid=1000", "gid=1000",
                                                         "mode=0700"]
    # /tmp holds the unpacked archives: its size comes from the spec (size=4g), not the 64 MiB fallback.
    assert tmp["size"] == 4096 and "size" not in " ".join(tmp["mountOptions"])
    assert {u["name"]: (u["softLimit"], u["hardLimit"]) for u in d["ulimits"]} == {
        "memlock": (-1, -1), "stack": (67108864, 67108864)}
    assert d["user"] == "1000:1000" and d["readonlyRootFilesystem"] is True
    assert d["dockerSecurityOptions"] == ["no-new-privileges"]
    assert d["healthCheck"] == {"command": ["CMD", HEALTHCHECK_BIN, "demo", "other"], "interval": 10, "timeout": 5,
                                "retries": 3, "startPeriod": 60}
    assert d["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert d["logConfiguration"] == {"logDriver": "awslogs", "options": dict(AWSLOGS.options)}
    assert d["mountPoints"] == [{"sourceVolume": "models", "containerPath": "/home/model-server/model-store",
                                 "readOnly": True}]
    assert d["environment"][0] == {"name": "TS_CONFIG_FILE", "value": "/home/model-server/config.properties"}
    assert "torchserve-deploy.config" in d["dockerLabels"]
    assert d["restartPolicy"] == {"enabled": True}


def test_management_ports_are_never_mapped():
    """Management (8081) and gRPC management (7071) are loopback-only on a Docker host; ECS has no loopback
    publishing, so they are not mapped at all. Inference and health (published on 0.0.0.0) are."""
    mapped = {m["containerPort"]: m for m in server_definition()["portMappings"]}
    assert 8081 not in mapped and 7071 not in mapped
    assert mapped[8080] == {"containerPort": 8080, "hostPort": 8080, "protocol": "tcp"} and 8090 in mapped
    # Metrics and gRPC inference keep their loopback default here, so they stay unmapped too.
    assert sorted(mapped) == [8080, 8090]


def test_json_is_stable_and_sorted():
    text = render_container_definitions([server_definition()])
    assert text == render_container_definitions([server_definition()])
    assert json.loads(text) == [server_definition()] and ", " not in text
    assert text.index('"command"') < text.index('"environment"') < text.index('"name"')


def test_module_constants_match_the_botocore_model():
    """The renderer's allowed values are ECS's: enums from the model, the rest from its documentation."""
    assert ecs.LOG_DRIVERS == tuple(member("ecs", "LogConfiguration", "logDriver").enum)
    assert ecs.ULIMIT_NAMES == tuple(member("ecs", "Ulimit", "name").enum)
    assert ecs.DEPENDS_ON_CONDITIONS == tuple(member("ecs", "ContainerDependency", "condition").enum)
    assert ecs.TMPFS_OPTIONS == documented_values(member("ecs", "Tmpfs", "mountOptions"))
    assert ecs.CAPABILITIES == documented_values(member("ecs", "KernelCapabilities", "drop"))
    assert documented_values(member("ecs", "ContainerDefinition", "dockerSecurityOptions")) == (
        "no-new-privileges", "apparmor:PROFILE", "label:value", "credentialspec:CredentialSpecFilePath")
    hc = service_model("ecs").shape_for("HealthCheck")
    for field, (low, high) in ecs.HEALTHCHECK_RANGES.items():
        doc = " ".join(hc.members[field].documentation.split())
        assert f"between {low} and {high}" in doc, (field, doc)


def test_doc_only_values_of_the_server_definition_are_ecs_documented_values():
    """Tmpfs mount options and capabilities are plain strings in the model (no enum): checked against the
    'Valid values' of its documentation. Options with a value (uid=1000) are checked by their name."""
    linux = server_definition()["linuxParameters"]
    names = {o.partition("=")[0] for t in linux["tmpfs"] for o in t["mountOptions"]}
    assert names <= set(documented_values(member("ecs", "Tmpfs", "mountOptions"))), names
    assert set(linux["capabilities"]["drop"]) <= set(documented_values(member("ecs", "KernelCapabilities", "drop")))


def broken(change):
    definition = copy.deepcopy(server_definition())
    change(definition)
    return register_problems(definition)


@pytest.mark.parametrize("what, change, expected", [
    ("GPU count as an int", lambda d: d["resourceRequirements"][0].update(value=1), "resourceRequirements[0].value"),
    ("an unknown key", lambda d: d.update(gpus="all"), "Unknown parameter in containerDefinitions[0]: \"gpus\""),
    ("memory as a string", lambda d: d.update(memory="8192"), "containerDefinitions[0].memory"),
    ("shm size in a string", lambda d: d["linuxParameters"].update(sharedMemorySize="1g"), "sharedMemorySize"),
    ("tmpfs without its size", lambda d: d["linuxParameters"]["tmpfs"][0].pop("size"), "\"size\""),
    ("ulimit without hardLimit", lambda d: d["ulimits"][0].pop("hardLimit"), "\"hardLimit\""),
    ("a missing name", lambda d: d.pop("name"), "missing required 'name'"),
    ("log driver awslog", lambda d: d["logConfiguration"].update(logDriver="awslog"), "'awslog' is not one of"),
    ("dependsOn DONE", lambda d: d.update(dependsOn=[{"containerName": "x", "condition": "DONE"}]), "'DONE'"),
    ("resource type gpu", lambda d: d["resourceRequirements"][0].update(type="gpu"), "'gpu' is not one of"),
    ("ulimit name", lambda d: d["ulimits"][0].update(name="MEMLOCK"), "'MEMLOCK' is not one of"),
    ("protocol TCP", lambda d: d["portMappings"][0].update(protocol="TCP"), "'TCP' is not one of"),
])
def test_a_broken_definition_is_refused(what, change, expected):
    found = broken(change)
    print(what, "→", "\n".join(found))
    assert found and expected in "\n".join(found), found


def test_botocore_alone_misses_enums_and_the_container_name():
    """Why the helper walks the shape: ParamValidator by itself passes both of these."""
    definition = copy.deepcopy(server_definition())
    definition["logConfiguration"]["logDriver"] = "awslog"
    del definition["name"]
    report = ParamValidator().validate(register(definition), input_shape("ecs", "RegisterTaskDefinition"))
    assert not report.has_errors()
    assert len(register_problems(definition)) == 2


def spec(**kw):
    return ContainerSpec(**{"name": "c", "image": "i", **kw})


@pytest.mark.parametrize("kw, key", [
    (dict(mounts=(Mount("/home/model-server/model-store", "/srv/models", "bind", True),)), "c.mounts[0]"),
    (dict(files=(FileUpload("/home/model-server/config.properties", "x=1"),)), "c.files"),
    (dict(healthcheck=Healthcheck(("hc",), interval_s=1)), "c.healthcheck.interval"),
    (dict(healthcheck=Healthcheck(("hc",), timeout_s=61)), "c.healthcheck.timeout"),
    (dict(healthcheck=Healthcheck(("hc",), retries=11)), "c.healthcheck.retries"),
    (dict(healthcheck=Healthcheck(("hc",), start_period_s=301)), "c.healthcheck.startPeriod"),
    (dict(ports=(PortBinding(8080, 8080, "10.0.0.5"),)), "c.ports[0].host_ip"),
    (dict(tmpfs=(Tmpfs("/t", "rw,size=50%"),)), "c.tmpfs[/t]"),
    (dict(tmpfs=(Tmpfs("/t", "rw,tmpcopyup"),)), "c.tmpfs[/t] option 'tmpcopyup'"),
    (dict(security_opts=("seccomp=unconfined",)), "c.security_opts"),
    (dict(security_opts=("no-new-privileges:false",)), "c.security_opts"),
    (dict(cap_drop=("CAP_NET_RAW",)), "c.cap_drop"),
    (dict(log=LogConfig(driver="local")), "c.log.driver"),
    (dict(gpus="all"), "c.gpus"),
    (dict(restart="on-failure:3"), "c.restart"),
    (dict(name="c.1"), "c.1.name"),
    (dict(mounts=(Mount("/m", "models.v1", "volume"),)), "c.mounts[0] (/m)"),
])
def test_what_ecs_cannot_express_is_refused(kw, key):
    with pytest.raises(ValidationError) as err:
        render_container_definition(spec(**kw), image="i")
    assert err.value.key.startswith(key), err.value
    print(err.value)


def test_bind_mount_refusal_names_the_mount_and_the_fix():
    with pytest.raises(ValidationError, match="task volume") as err:
        render_container_definition(spec(mounts=(Mount("/data", "/srv/data", "bind"),)), image="i")
    assert "/data" in err.value.key and err.value.value == "/srv/data"


@pytest.mark.parametrize("gpus, count, value", [("all", 4, "4"), ("0,1", None, "2"), ("0,1", 2, "2")])
def test_gpu_count(gpus, count, value):
    d = render_container_definition(spec(gpus=gpus), image="i", gpu_count=count)
    assert d["resourceRequirements"] == [{"type": "GPU", "value": value}]


@pytest.mark.parametrize("gpus, count", [("0,1", 3), (None, 1), ("all", 0)])
def test_gpu_count_must_match_the_spec(gpus, count):
    with pytest.raises(ValidationError):
        render_container_definition(spec(gpus=gpus), image="i", gpu_count=count)


def test_ecs_only_settings_render_and_validate():
    d = render_container_definition(
        spec(restart="on-failure", tmpfs=(Tmpfs("/scratch", "size=1536k"),), security_opts=("label=disable",)),
        image="i", essential=False, cpu=512, memory_mb=1024, memory_reservation_mb=512,
        secrets=(("TOKEN", "arn:aws:secretsmanager:us-east-1:1:secret:t"),), depends_on=(("init", "SUCCESS"),),
        mount_points=(Mount("/home/model-server/config", "config", "volume", True),), init_process=True)
    assert d["secrets"] == [{"name": "TOKEN", "valueFrom": "arn:aws:secretsmanager:us-east-1:1:secret:t"}]
    assert d["dependsOn"] == [{"containerName": "init", "condition": "SUCCESS"}]
    assert d["mountPoints"][0]["sourceVolume"] == "config" and d["linuxParameters"]["initProcessEnabled"] is True
    assert d["linuxParameters"]["tmpfs"] == [{"containerPath": "/scratch", "size": 2}]  # 1.5 MiB, rounded up
    assert d["restartPolicy"] == {"enabled": True, "ignoredExitCodes": [0]} and "restartPolicy" not in \
        render_container_definition(spec(restart="no"), image="i")
    assert d["dockerSecurityOptions"] == ["label:disable"] and (d["cpu"], d["memory"]) == (512, 1024)
    found = register_problems(server_definition(), d)
    assert not found, "\n".join(found)


@pytest.mark.parametrize("kw", [dict(depends_on=(("init", "DONE"),)), dict(memory_mb=512, memory_reservation_mb=512),
                                dict(secrets=(("A", "arn:x"),))])
def test_ecs_only_settings_are_checked(kw):
    with pytest.raises(ValidationError):
        render_container_definition(spec(env=(("A", "1"),)), image="i", **kw)
