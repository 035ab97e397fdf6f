"""infra.settings: every bad value is refused with the key, the value, what is allowed and the fix;
typed sections with attribute access; no string-keyed lookups outside the loader."""
import re

import pytest
from torchserve_deploy.errors import ValidationError

from infra.settings import load_settings
from infra.settings.keys import KEYS
from tests.mocks import ROOT, evaluate_program
from tests.mocks import stack_config as committed_config

P = "torchserve-deploy:"

# (config overrides, exact message or None)
BAD = [
    ({"shmSize": "1gb"}, P + "shmSize: '1gb' is not valid. Allowed: a whole number of MiB written as <n>m or <n>g, "
     "from 16m to 256g (e.g. 512m, 1g, 2048m). Fix: set torchserve-deploy:shmSize to 1g"),
    ({"shmSize": "0m"}, None),
    ({"shmSize": "999999g"}, None),
    ({"inferencePort": "http"}, P + "inferencePort: 'http' is not valid. Allowed: an integer port from 1024 to 65535 "
     "(lower ports belong to system services such as SSH). Fix: pulumi config set torchserve-deploy:inferencePort 8080"),
    ({"inferencePort": 70000}, None),
    ({"inferencePort": 22}, None),
    ({"metricsPort": 8080}, P + "*Port: 8080 is not valid. Allowed: a different host port for each endpoint "
     "(inferencePort and metricsPort both use 8080). Fix: change metricsPort to an unused port"),
    ({"gpus": "0, 1"}, P + "gpus: '0, 1' is not valid. Allowed: \"\" (no GPU), \"all\", or distinct device indexes "
     "separated by commas such as \"0\" or \"1,2\". Fix: set torchserve-deploy:gpus to \"all\" or a list like \"0,1\""),
    ({"gpus": "1,1"}, None),
    ({"tokenAuth": "yes"}, P + "tokenAuth: 'yes' is not valid. Allowed: true or false. "
     "Fix: pulumi config set torchserve-deploy:tokenAuth true"),
    ({"tokenAuth": "1"}, None),
    ({"inferenceBind": "localhost"}, P + "inferenceBind: 'localhost' is not valid. Allowed: an IPv4 address to "
     "publish on: 127.0.0.1 (this host only) or a host interface address. Fix: set torchserve-deploy:inferenceBind to 127.0.0.1"),
    ({"host": "k8s"}, P + "host: 'k8s' is not valid. Allowed: one of 'local', 'ec2', 'fleet'. Fix: set "
     "torchserve-deploy:host to 'local'"),
    ({"modelStore": "s3"}, None),
    ({"restartPolicy": "sometimes"}, None),
    ({"workersPerModel": 0}, P + "workersPerModel: 0 is not valid. Allowed: an integer from 1 to 64. "
     "Fix: pulumi config set torchserve-deploy:workersPerModel 1"),
    ({"batchSize": -4}, None),
    ({"ulimitStack": 1024}, None),
    ({"logMaxSize": "10MB"}, None),
    ({"containerName": "ts\nExecStartPre=/bin/sh -c id"}, None),
    ({"containerName": "ts\n"}, None),
    ({"imageRepository": "Torch Serve"}, None),
    ({"models": {}}, None),
    ({"models": ["models/demo"]}, P + "models: ['models/demo'] is not valid. Allowed: a map from model name to {path, "
     "workers, batchSize, maxBatchDelayMs, responseTimeoutS, torchThreads, train} (the list form was retired). Fix: in the stack "
     "file: torchserve-deploy:models: {demo: {path: models/demo, workers: 1}}"),
    ({"models": {"demo": {"path": "models/missing"}}}, P + "models.demo.path: 'models/missing' is not valid. Allowed: "
     "a directory (relative to the repo root) holding torchserve-model.yaml. Fix: create "
     "models/missing/torchserve-model.yaml or fix the path; see models/demo/torchserve-model.yaml"),
    ({"models": {"other": {"path": "models/demo"}}}, None),
    ({"shmSise": "2g"}, P + "shmSise: '2g' is not valid. Allowed: a key declared in Pulumi.yaml (see README). "
     "Fix: did you mean torchserve-deploy:shmSize?"),
    ({"instanceType": "g5.xlarge"}, P + "instanceType: 'g5.xlarge' is not valid. Allowed: set only when host is ec2 or fleet "
     "(this stack's host is local, where it would be ignored). Fix: pulumi config rm torchserve-deploy:instanceType"),
    ({"modelStorePath": "/etc"}, P + "modelStorePath: '/etc' is not valid. Allowed: a path strictly inside the "
     "repository's .build/ directory (symlinks followed; no '..' out of it). Fix: use a path under .build/, or add "
     "its parent to torchserve-deploy:hostPathRoots"),
    ({"trainingOutputsPath": ".venv"}, None),
    ({"modelStorePath": ".build/x,source=/home"}, None),
]


def config(overrides):
    return {P + k: v for k, v in overrides.items()}


@pytest.mark.parametrize("overrides,message", BAD, ids=[next(iter(o)) + "=" + repr(next(iter(o.values()))) for o, _ in BAD])
def test_bad_value_is_refused_with_key_value_and_fix(overrides, message):
    with pytest.raises(ValidationError) as err:
        load_settings(config(overrides), stack="dev", root=ROOT)
    key = next(iter(overrides))
    assert P + key in str(err.value) or key.endswith("Port")
    assert "Allowed: " in str(err.value) and "Fix: " in str(err.value)
    if message is not None:
        assert str(err.value) == message


def test_defaults_are_secure():
    s = load_settings({}, stack="dev", root=ROOT)
    assert s.server.token_auth is True
    assert s.server.inference_bind == s.server.metrics_bind == s.server.grpc_inference_bind == "127.0.0.1"
    assert s.shm_size_mb == 1024 and s.server.ulimit_memlock == -1 and s.server.ulimit_stack == 67108864
    assert s.gpus is None and s.container_name == "torchserve-dev"
    assert s.store_path == ROOT / ".build/dev/model-store"
    assert [m.name for m in s.models] == ["demo"] and s.models[0].training is None


def test_engine_strings_parse_like_native_values():
    as_strings = load_settings(config({"inferencePort": "9080", "tokenAuth": "false",
                                       "models": '{"demo": {"path": "models/demo"}}'}), stack="dev", root=ROOT)
    native = load_settings(config({"inferencePort": 9080, "tokenAuth": False, "models": {"demo": {"path": "models/demo"}}}),
                           stack="dev", root=ROOT)
    assert as_strings.server == native.server and as_strings.server.inference_port == 9080
    assert as_strings.models == native.models


def test_per_model_settings_override_the_stack_defaults():
    s = load_settings(config({"workersPerModel": 3, "batchSize": 8, "models": {
        "demo": {"path": "models/demo", "workers": 2, "maxBatchDelayMs": 0},
        "m": {"path": "tests/corpus/models/valid-no-trainer"}}}), stack="dev", root=ROOT)
    demo, m = s.models
    assert (demo.workers, demo.batch_size, demo.max_batch_delay_ms) == (2, 8, 0)
    assert (m.workers, m.batch_size, m.max_batch_delay_ms, m.source.version) == (3, 8, 5, "2.0")


def test_other_namespaces_are_not_ours():
    load_settings({"aws:region": "us-east-1", "docker:host": "unix:///var/run/docker.sock"}, stack="dev", root=ROOT)


def test_bad_config_registers_no_resource():
    """The program fails before the first resource: nothing reaches the engine."""
    with pytest.raises(Exception) as err:
        evaluate_program("dev", {"shmSize": "1gb"})
    assert "torchserve-deploy:shmSize: '1gb'" in str(err.value)


def test_every_key_has_a_description_and_a_type():
    for k in KEYS:
        assert k.meta.doc and k.meta.allowed and k.meta.example and k.type in ("string", "integer", "boolean", "array")


def test_no_string_keyed_settings_lookups_outside_the_loader():
    """Settings are read through typed sections: no s["key"] / settings["key"] / raw["key"] past infra/settings."""
    pattern = re.compile(r"\b(s|settings|raw|cfg|config)\[\"[A-Za-z]+\"\]")
    offenders = []
    for path in [*(ROOT / "infra").rglob("*.py"), *(ROOT / "components").rglob("*.py")]:
        if "settings" in path.relative_to(ROOT).parts[:2]:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


@pytest.mark.parametrize("stack", ["..", "a/b", "dev\n", "-dev", "dev_", "x" * 41, "dev name", "dév"])
def test_a_local_stack_name_that_cannot_name_docker_objects_is_refused(stack):
    with pytest.raises(ValidationError, match=r"^stack name: .* Allowed: letters, digits, - and _ .*pulumi stack rename"):
        load_settings({}, stack=stack, root=ROOT)


@pytest.mark.parametrize("stack", ["Staging", "staging_eu", "staging.eu", "x" * 19, "prod-", "a--b\n"])
def test_a_cloud_stack_name_that_cannot_name_aws_resources_is_refused(stack):
    staging = dict(committed_config("staging"))
    with pytest.raises(ValidationError, match=r"^stack name: .* Allowed: lowercase letters, digits and -"):
        load_settings(staging, stack=stack, root=ROOT)


def test_the_longest_cloud_stack_name_fits_every_aws_name():
    from infra.plan import make_plan

    plan = make_plan(load_settings(dict(committed_config("staging")), stack="s" * 18, root=ROOT))
    assert plan.ec2 is not None
    assert len(plan.ec2.bucket.name_prefix) <= 37  # S3's bucket_prefix limit, on the name the plan builds
