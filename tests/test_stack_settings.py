"""infra.stack_settings: every bad value is refused with the key, the value, what is allowed and the fix."""
import pytest

from components.errors import ValidationError
from infra.stack_settings import KEYS, load_settings
from tests.mocks import ROOT, evaluate_program

P = "torchserve-deploy:"

# (config overrides, exact message)
BAD = [
    ({"shmSize": "1gb"}, P + "shmSize: '1gb' is not valid. Allowed: a whole number of MiB written as <n>m or <n>g "
     "(e.g. 512m, 1g, 2048m). Fix: set torchserve-deploy:shmSize to 1g"),
    ({"shmSize": "0m"}, None),
    ({"inferencePort": "http"}, P + "inferencePort: 'http' is not valid. Allowed: an integer. "
     "Fix: pulumi config set torchserve-deploy:inferencePort 8080"),
    ({"inferencePort": 70000}, P + "inferencePort: 70000 is not valid. Allowed: an integer port from 1 to 65535. "
     "Fix: set torchserve-deploy:inferencePort to a free port such as 8080"),
    ({"metricsPort": 8080}, P + "*Port: 8080 is not valid. Allowed: a different host port for each endpoint "
     "(inferencePort and metricsPort both use 8080). Fix: change metricsPort to an unused port"),
    ({"gpus": "0, 1"}, P + "gpus: '0, 1' is not valid. Allowed: \"\" (no GPU), \"all\", or distinct device indexes "
     "separated by commas such as \"0\" or \"1,2\". Fix: set torchserve-deploy:gpus to \"all\" or a list like \"0,1\""),
    ({"gpus": "1,1"}, None),
    ({"tokenAuth": "yes"}, P + "tokenAuth: 'yes' is not valid. Allowed: true or false. "
     "Fix: pulumi config set torchserve-deploy:tokenAuth true"),
    ({"inferenceBind": "localhost"}, P + "inferenceBind: 'localhost' is not valid. Allowed: an IPv4 address to "
     "publish on: 127.0.0.1 (this host only) or a host interface address. Fix: set torchserve-deploy:inferenceBind to 127.0.0.1"),
    ({"host": "k8s"}, P + "host: 'k8s' is not valid. Allowed: one of 'local', 'ec2'. Fix: set torchserve-deploy:host to 'local'"),
    ({"modelStore": "s3"}, None),
    ({"restartPolicy": "sometimes"}, None),
    ({"workersPerModel": 0}, P + "workersPerModel: 0 is not valid. Allowed: an integer from 1 to 64. "
     "Fix: set torchserve-deploy:workersPerModel to 1"),
    ({"batchSize": -4}, None),
    ({"ulimitStack": 1024}, None),
    ({"logMaxSize": "10MB"}, None),
    ({"models": []}, P + "models: [] is not valid. Allowed: at least one model directory. "
     "Fix: torchserve-deploy:models: [models/demo]"),
    ({"models": "models/demo"}, None),
    ({"models": ["models/missing"]}, P + "models: 'models/missing' is not valid. Allowed: a directory (relative to "
     "the repo root) holding torchserve-model.yaml. Fix: create models/missing/torchserve-model.yaml or fix the path; "
     "see models/demo/torchserve-model.yaml"),
    ({"models": ["models/demo", "models/demo"]}, P + "models: ['demo'] is not valid. Allowed: each model name once. "
     "Fix: remove or rename the duplicate model"),
    ({"shmSise": "2g"}, P + "shmSise: '2g' is not valid. Allowed: a key declared in Pulumi.yaml (see README). "
     "Fix: did you mean torchserve-deploy:shmSize?"),
]


def config(overrides):
    return {P + k: v for k, v in overrides.items()}


@pytest.mark.parametrize("overrides,message", BAD, ids=[next(iter(o)) + "=" + repr(next(iter(o.values()))) for o, _ in BAD])
def test_bad_value_is_refused_with_key_value_and_fix(overrides, message):
    with pytest.raises(ValidationError) as err:
        load_settings(config(overrides), stack="dev", root=ROOT)
    key = next(iter(overrides))
    assert P + key in str(err.value) or key.endswith("Port") or key == "models"
    assert "Allowed: " in str(err.value) and "Fix: " in str(err.value)
    if message is not None:
        assert str(err.value) == message


def test_defaults_are_secure():
    s = load_settings({}, stack="dev", root=ROOT)
    assert s["tokenAuth"] is True
    assert s["inferenceBind"] == s["metricsBind"] == s["grpcInferenceBind"] == "127.0.0.1"
    assert s.shm_size_mb == 1024 and s["ulimitMemlock"] == -1 and s["ulimitStack"] == 67108864
    assert s.gpus is None and s.container_name == "torchserve-dev"
    assert s.store_path == ROOT / ".build/dev/model-store"


def test_engine_strings_parse_like_native_values():
    as_strings = load_settings(config({"inferencePort": "9080", "tokenAuth": "false", "models": '["models/demo"]'}),
                               stack="dev", root=ROOT)
    native = load_settings(config({"inferencePort": 9080, "tokenAuth": False, "models": ["models/demo"]}),
                           stack="dev", root=ROOT)
    assert as_strings.raw == native.raw and as_strings.raw["inferencePort"] == 9080


def test_other_namespaces_are_not_ours():
    load_settings({"aws:region": "us-east-1", "docker:host": "unix:///var/run/docker.sock"}, stack="dev", root=ROOT)


def test_bad_config_registers_no_resource():
    """The program fails before the first resource: nothing reaches the engine."""
    from tests.mocks import RecordingMocks, run_under_mocks  # noqa: F401

    with pytest.raises(Exception) as err:
        evaluate_program("dev", {"shmSize": "1gb"})
    assert "torchserve-deploy:shmSize: '1gb'" in str(err.value)


def test_every_key_has_a_description_and_a_type():
    for k in KEYS:
        assert k.description and k.type in ("string", "integer", "boolean", "array")
