"""Valid but unusual stack configurations: each is accepted under mocks, and what it changes is checked in
the recorded renderings (container inputs, image build args, commands, security group rules, user data)."""
from __future__ import annotations

import json
import os
import shutil

import pytest
from torchserve_deploy.image.variants import CPU_TORCH_VERSIONS, CUDA_VARIANTS

from infra.offline import secret
from infra.plan import PROVIDER_CWD
from tests.mocks import PROJECT, ROOT, RecordingMocks, is_secret, named, server_config, unsecret
from tests.mocks import evaluate_program as evaluate_update
from tests.test_ec2 import unit_run_argv, user_data
from tests.test_preview import same_in_preview

P = PROJECT + ":"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SECOND = "tests/corpus/models/second"
NO_EDGE = {"edge": "none", "domainName": "", "hostedZoneId": ""}  # staging as a private host, without its edge


def evaluate_program(stack: str, overrides: dict | None = None, mocks: RecordingMocks | None = None) -> list:
    """The stack with `overrides` as `pulumi up` evaluates it, after checking that `pulumi preview` registers the
    same resources with the same inputs wherever the preview knows them."""
    resources = evaluate_update(stack, overrides, mocks)
    same_in_preview(stack, overrides, resources)
    return resources


def container(resources) -> dict:
    return named(resources, "torchserve-container").inputs


def properties(resources) -> dict[str, str]:
    """config.properties of the local container, as key → value."""
    content = server_config(resources)
    return dict(line.split("=", 1) for line in content.splitlines() if line and not line.startswith("#"))


def served(props: dict[str, str]) -> dict[str, dict]:
    """The models= setting: model name → its one version's settings."""
    return {name: next(iter(versions.values())) for name, versions in json.loads(props["models"]).items()}


def build(resources, name: str = "torchserve-image") -> dict:
    return unsecret(named(resources, name).inputs["build"])


def create(resources, name: str) -> str:
    return named(resources, name).inputs["create"]


def ingress(resources, port: int) -> list[dict]:
    return [r.inputs for r in resources if r.typ == INGRESS and int(r.inputs["fromPort"]) == port]


def sources(rules: list[dict]) -> list[str]:
    return sorted(r.get("cidrIpv4") or r.get("cidrIpv6") or r["referencedSecurityGroupId"] for r in rules)


def flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


# --- models ------------------------------------------------------------------------------------------

def test_two_models_with_their_own_workers_and_batching():
    rs = evaluate_program("dev", {"models": {
        "demo": {"path": "models/demo", "workers": 3, "batchSize": 8, "maxBatchDelayMs": 0, "responseTimeoutS": 600},
        "second": {"path": SECOND, "workers": 2, "batchSize": 1}}})
    props = properties(rs)
    assert props["load_models"] == "demo.mar,second.mar"
    demo, second = served(props)["demo"], served(props)["second"]
    assert (demo["minWorkers"], demo["maxWorkers"], demo["batchSize"], demo["maxBatchDelay"], demo["responseTimeout"]) \
        == (3, 3, 8, 0, 600)
    assert (second["minWorkers"], second["maxWorkers"], second["batchSize"], second["maxBatchDelay"],
            second["responseTimeout"]) == (2, 2, 1, 5, 120)  # unset fields take the stack defaults
    assert json.loads(props["models"])["second"]["2.0-rc.1+build5"]["marName"] == "second.mar"
    assert container(rs)["healthcheck"]["tests"] == ["CMD", "/usr/local/bin/ts-healthcheck", "demo", "second"]
    archive = create(rs, "model-second-archive")
    assert "--model-name second --version 2.0-rc.1+build5" in archive
    assert f"--serialized-file ../{SECOND}/model.pt" in archive  # not trained: served as committed
    assert not [r for r in rs if r.name.startswith("train-")]  # this override trains nothing


def test_stack_wide_training_skips_a_model_without_a_trainer():
    rs = evaluate_program("dev", {"train": True, "models": {"demo": {"path": "models/demo"}, "second": {"path": SECOND}}})
    assert "--epochs 3" in create(rs, "train-demo-run")  # the manifest's defaults
    assert not [r for r in rs if r.name.startswith("train-second")]
    assert f"--serialized-file ../{SECOND}/model.pt" in create(rs, "model-second-archive")


def test_model_with_extra_files():
    rs = evaluate_program("dev", {"models": {"extras": {"path": "tests/corpus/models/with-extra-files"}}})
    assert "--extra-files ../tests/corpus/models/with-extra-files/labels.json" in create(rs, "model-extras-archive")
    assert properties(rs)["load_models"] == "extras.mar"


def test_training_params_override_the_manifest():
    rs = evaluate_program("dev", {"models": {"demo": {"path": "models/demo", "train": {
        "epochs": 7, "lr": 0.001, "pretrained": True, "bs": 1, "train_data": "/data/train with space.csv"}}}})
    run = create(rs, "train-demo-run")
    for arg in ("--epochs 7", "--lr 0.001", "--pretrained", "--bs 1", "'/data/train with space.csv'"):
        assert arg in run, arg
    assert "--epochs 5" not in run and "--epochs 3" not in run


# --- image -------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gpus,rendered", [("all", "all"), ("1,2", "device=1,2"), ("0", "device=0")])
def test_local_gpus_on_a_cuda_image(gpus, rendered):
    rs = evaluate_program("dev", {"accelerator": "cuda", "cudaVersion": "cu128", "gpus": gpus})
    assert container(rs)["gpus"] == rendered
    args = build(rs)["args"]
    assert args["BASE_IMAGE"] == "nvidia/cuda:12.8.1-base-ubuntu24.04" and args["PYTHON_VERSION"] == "3.12"
    assert args["TORCH_INDEX_URL"] == "https://download.pytorch.org/whl/cu128" and args["TORCH_VERSION"] == "2.8.0"


@pytest.mark.parametrize("cuda,torch", [(c.name, t) for c in CUDA_VARIANTS.values() for t in c.torch_versions])
def test_every_cuda_variant_with_each_of_its_torch_releases(cuda, torch):
    rs = evaluate_program("dev", {"accelerator": "cuda", "cudaVersion": cuda, "torchVersion": torch})
    args = build(rs)["args"]
    assert (args["BASE_IMAGE"], args["TORCH_VERSION"]) == (CUDA_VARIANTS[cuda].base_image, torch)
    assert args["TORCH_INDEX_URL"] == f"https://download.pytorch.org/whl/{cuda}"
    assert named(rs, "torchserve-image").inputs["imageName"].startswith(f"torchserve-deploy:0.12.0-{cuda}-")
    assert "gpus" not in container(rs)  # a CUDA image without GPUs is allowed (e.g. build on a CPU host)


@pytest.mark.parametrize("torch", CPU_TORCH_VERSIONS)
def test_every_cpu_torch_release(torch):
    args = build(evaluate_program("dev", {"torchVersion": torch}))["args"]
    assert (args["TORCH_VERSION"], args["TORCH_INDEX_URL"]) == (torch, "https://download.pytorch.org/whl/cpu")


def test_extra_packages_reach_the_build_args():
    rs = evaluate_program("dev", {"extraPipPackages": ["torchvision==0.28.0", "pillow[avif]==11.0.0"],
                                  "extraAptPackages": ["libgl1", "libglib2.0-0", "g++"]})
    args = build(rs)["args"]
    assert args["EXTRA_PIP_PACKAGES"] == "torchvision==0.28.0 pillow[avif]==11.0.0"
    assert args["EXTRA_APT_PACKAGES"] == "libgl1 libglib2.0-0 g++"


def test_base_image_with_registry_port_and_digest():
    base = "registry.example.com:5000/base/debian:bookworm-slim@sha256:" + "a1" * 32
    assert build(evaluate_program("dev", {"baseImage": base}))["args"]["BASE_IMAGE"] == base


def test_oldest_supported_torchserve_and_a_python_pin():
    rs = evaluate_program("dev", {"torchserveVersion": "0.11.1", "pythonVersion": "3.12"})
    args = build(rs)["args"]
    assert (args["TORCHSERVE_VERSION"], args["MODEL_ARCHIVER_VERSION"], args["PYTHON_VERSION"]) == \
        ("0.11.1", "0.11.1", "3.12")
    assert named(rs, "torchserve-image").inputs["imageName"].startswith("torchserve-deploy:0.11.1-cpu-")


def test_custom_container_name_repository_and_tags():
    rs = evaluate_program("dev", {"containerName": "ts.Dev_1", "imageRepository": "team/ml.serving",
                                  "imageTags": ["v1.2.0", "stable_2"]})
    assert container(rs)["name"] == "ts.Dev_1"
    image = named(rs, "torchserve-image").inputs["imageName"]
    assert image.startswith("team/ml.serving:0.12.0-cpu-")
    tags = {r.inputs["targetImage"]: r.inputs["sourceImage"] for r in rs if r.typ == "docker:index/tag:Tag"}
    assert tags == {"team/ml.serving:v1.2.0": image, "team/ml.serving:stable_2": image}


def test_arm64_cpu_image():
    b = build(evaluate_program("dev", {"platform": "linux/arm64"}))
    assert b["platform"] == "linux/arm64" and b["args"]["BASE_IMAGE"] == "debian:bookworm-slim"


def test_codebuild_builds_the_ci_image_only():
    rs = evaluate_program("dev", {"buildType": "codebuild", "models": {"demo": {"path": "models/demo"}}})
    assert build(rs)["target"] == "codebuild"
    assert {r.typ for r in rs} == {"docker:index/image:Image", "torchserve:image:TorchServeImage"}


def test_dev_build_from_a_release_branch():
    args = build(evaluate_program("dev", {"buildType": "dev", "devSourceRef": "release/v0.12.0"}))["args"]
    assert (args["TS_REPO_URL"], args["TS_REF"]) == ("https://github.com/pytorch/serve.git", "release/v0.12.0")


def test_insecure_index_with_the_opt_in():
    url = "http://mirror.internal:3141/root/pypi/+simple/"
    rs = evaluate_program("dev", {"allowInsecureIndexes": True, "pipIndexUrl": url})
    assert build(rs)["args"]["PIP_INDEX_URL"] == url
    assert build(rs, "train-demo-image")["args"]["PIP_INDEX_URL"] == url


def test_secret_index_with_credentials_stays_secret():
    url = "https://user:tok3n@mirror.example/simple"
    rs = evaluate_program("dev", {"pipIndexUrl": secret(url)})
    for name in ("torchserve-image", "train-demo-image"):
        inputs = named(rs, name).inputs
        assert is_secret(inputs["build"]), f"{name}: the build args hold the token in plain text"
        assert unsecret(inputs["build"])["args"]["PIP_INDEX_URL"] == url
        assert "tok3n" not in inputs["imageName"]


# --- local host --------------------------------------------------------------------------------------

def test_docker_volume_store_with_the_default_name():
    rs = evaluate_program("dev", {"modelStore": "volume"})
    assert named(rs, "model-store-volume").inputs["name"] == "torchserve-dev-models"
    assert container(rs)["mounts"][0] == {"type": "volume", "source": "torchserve-dev-models",
                                          "target": "/home/model-server/model-store", "readOnly": True}


def test_named_volume_store():
    rs = evaluate_program("dev", {"modelStore": "volume", "modelStoreVolume": "ml.models_v2"})
    assert named(rs, "model-store-volume").inputs["name"] == "ml.models_v2"
    assert container(rs)["mounts"][0]["source"] == "ml.models_v2"
    assert "-v ml.models_v2:/home/model-server/model-store" in create(rs, "model-demo-publish")


def test_host_path_roots_outside_the_repo(tmp_path):
    root = tmp_path / "ml"
    shutil.copytree(ROOT / SECOND, root / "models/second")
    rs = evaluate_program("dev", {"hostPathRoots": [str(root)], "modelStorePath": str(root / "store"),
                                  "trainingOutputsPath": str(root / "training"),
                                  "models": {"demo": {"path": "models/demo", "train": True},
                                             "second": {"path": str(root / "models/second")}}})
    assert container(rs)["mounts"][0]["source"] == str(root / "store")
    assert f"mkdir -p {root / 'store'}" in create(rs, "model-store-dir")
    assert f"source={root / 'training/demo'},target=/outputs" in create(rs, "train-demo-run")
    archive = create(rs, "model-second-archive")  # paths relative to the repository, where the command runs
    assert f"--handler {os.path.relpath(root / 'models/second/handler.py', PROVIDER_CWD)} " in archive
    assert f"--export-path {os.path.relpath(root / 'store', PROVIDER_CWD)} " in archive


def test_restart_always_and_log_rotation_at_its_limits():
    c = container(evaluate_program("dev", {"restartPolicy": "always", "logMaxSize": "1g", "logMaxFiles": 100}))
    assert c["restart"] == "always" and c["logOpts"] == {"max-size": "1024m", "max-file": "100"}


def test_server_limits_at_their_edges():
    rs = evaluate_program("dev", {"shmSize": "256g", "ulimitMemlock": 65536, "ulimitStack": 2**34,
                                  "tokenExpirationMin": 525600})
    c = container(rs)
    assert c["shmSize"] == 256 * 1024
    assert {u["name"]: (u["soft"], u["hard"]) for u in c["ulimits"]} == {"memlock": (65536, 65536),
                                                                         "stack": (2**34, 2**34)}
    assert properties(rs)["token_expiration_min"] == "525600"


def test_high_ports_and_inference_on_every_interface():
    rs = evaluate_program("dev", {"inferencePort": 18080, "managementPort": 18081, "metricsPort": 65535,
                                  "grpcInferencePort": 1024, "grpcManagementPort": 17071, "inferenceBind": "0.0.0.0"})
    published = {int(p["internal"]): (p["ip"], int(p["external"])) for p in container(rs)["ports"]}
    assert published == {8080: ("0.0.0.0", 18080), 8081: ("127.0.0.1", 18081), 8082: ("127.0.0.1", 65535),
                         7070: ("127.0.0.1", 1024), 7071: ("127.0.0.1", 17071), 8090: ("0.0.0.0", 8090)}


# --- ec2 host ----------------------------------------------------------------------------------------

def test_private_ipv6_clients_on_ec2():
    rs = evaluate_program("staging", {**NO_EDGE, "inferenceCidrs": ["fd00:10::/32", "10.0.0.0/8", "100.64.0.0/10"],
                                      "sshCidrs": ["fd00:20::/48"]})
    assert sources(ingress(rs, 8080)) == ["10.0.0.0/8", "100.64.0.0/10", "fd00:10::/32"]
    assert [r["cidrIpv6"] for r in ingress(rs, 8080) if "cidrIpv6" in r] == ["fd00:10::/32"]
    assert [r.get("cidrIpv6") for r in ingress(rs, 22)] == ["fd00:20::/48"]
    # No edge: no load balancer, no key of the stack's, and TorchServe checks its own keys.
    assert not [r for r in rs if r.typ.startswith(("aws:lb/", "aws:acm/", "aws:secretsmanager/"))]
    assert ingress(rs, 8090) == []
    _, files = unit_run_argv(rs)
    assert "disable_token_authorization=false\n" in files[
        "/etc/torchserve-deploy/files/torchserve-staging/config.properties"]


def test_private_ssh_and_metrics_cidrs():
    rs = evaluate_program("prod", {"sshCidrs": ["172.20.0.0/14", "192.168.9.0/24"], "metricsCidr": "192.168.10.0/24"})
    assert sources(ingress(rs, 22)) == ["172.20.0.0/14", "192.168.9.0/24"]
    assert sources(ingress(rs, 8082)) == ["192.168.10.0/24"]
    argv, _ = unit_run_argv(rs)
    assert "0.0.0.0:8082:8082/tcp" in argv


def test_inference_security_group_beside_cidrs():
    rs = evaluate_program("staging", {**NO_EDGE, "inferenceCidrs": ["10.0.0.0/8"],
                                      "inferenceSecurityGroupId": "sg-0123456789abcdef0"})
    assert sources(ingress(rs, 8080)) == ["10.0.0.0/8", "sg-0123456789abcdef0"]


def test_pinned_ami_on_the_ubuntu_route():
    mocks = RecordingMocks()
    rs = evaluate_program("staging", {"amiId": "ami-0fedcba9876543210", "amiRoute": "ubuntu", "nvidiaDriverBranch": "570",
                                      "egress": "nat"}, mocks=mocks)
    assert named(rs, "gpu-host-instance").inputs["ami"] == "ami-0fedcba9876543210"
    assert not [t for t, _ in mocks.calls if t == "aws:ssm/getParameter:getParameter"]
    env = {f["path"]: f["content"] for f in user_data(rs)["write_files"]}["/etc/torchserve-deploy/host.env"]
    assert "AMI_ROUTE=ubuntu\n" in env and "DRIVER_BRANCH=570\n" in env
    # apt needs the internet: one NAT gateway and plain HTTP out; no VPC endpoints.
    assert [r.name for r in rs if r.typ == "aws:ec2/natGateway:NatGateway"] == ["network-nat"]
    assert not [r for r in rs if r.typ == "aws:ec2/vpcEndpoint:VpcEndpoint"]
    assert named(rs, "gpu-host-out-http").inputs["fromPort"] == 80


def test_existing_vpc_subnets_and_kms_alias():
    private, public = ["subnet-0a1b2c3d", "subnet-0a1b2c3e"], ["subnet-0f1e2d3c", "subnet-0f1e2d3b"]
    rs = evaluate_program("staging", {"vpcId": "vpc-0a1b2c3d", "privateSubnetIds": private, "publicSubnetIds": public,
                                      "egress": "none", "kmsKeyId": "alias/ml/torchserve_keys"})
    instance = named(rs, "gpu-host-instance").inputs
    assert instance["subnetId"] == "subnet-0a1b2c3d"  # the first private subnet
    assert named(rs, "edge-alb").inputs["subnets"] == public
    assert named(rs, "edge-tg").inputs["vpcId"] == named(rs, "gpu-host-sg").inputs["vpcId"] == "vpc-0a1b2c3d"
    created = [r.typ for r in rs if r.typ.startswith(("aws:ec2/vpc", "aws:ec2/subnet", "aws:ec2/natGateway",
                                                     "aws:ec2/internetGateway"))]
    assert created == []  # the VPC's own subnets, routes and egress
    # The alias is resolved to the key's ARN (the mocks' kms:getKey answers one) for every data resource.
    key_arn = instance["rootBlockDevice"]["kmsKeyId"]
    assert key_arn.startswith("arn:aws:kms:") and "alias" not in key_arn
    assert named(rs, "model-store-ebs").inputs["kmsKeyId"] == key_arn
    sse = named(rs, "models-encryption").inputs["rules"][0]["applyServerSideEncryptionByDefault"]
    assert sse == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}


def test_imported_certificate_strict_tls_and_restricted_edge_clients():
    arn = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"
    rs = evaluate_program("staging", {"hostedZoneId": "", "certificateArn": arn,
                                      "tlsPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06",
                                      "edgeCidrs": ["203.0.113.0/24", "198.51.100.0/24"]})
    https = named(rs, "edge-https").inputs
    assert (https["certificateArn"], https["sslPolicy"]) == (arn, "ELBSecurityPolicy-TLS13-1-3-2021-06")
    assert not [r for r in rs if r.typ.startswith(("aws:acm/", "aws:route53/"))]  # nothing to validate or alias
    edge = [r for r in ingress(rs, 443) + ingress(rs, 80) if r["securityGroupId"] == "edge-sg-id"]
    assert sources(edge) == ["198.51.100.0/24", "198.51.100.0/24", "203.0.113.0/24", "203.0.113.0/24"]
    assert sources(ingress(rs, 8080)) == ["edge-sg-id"]


@pytest.mark.parametrize("grace,versions", [(True, ["inference-key-v3", "inference-key-v2"]),
                                            (False, ["inference-key-v3"])])
def test_inference_key_rotation(grace, versions):
    rs = evaluate_program("staging", {"inferenceKeyVersion": 3, "inferenceKeyGrace": grace})
    keys = {r.name: r for r in rs if r.typ == "random:index/randomPassword:RandomPassword"}
    assert sorted(keys) == sorted(versions)
    headers = {v for r in rs if r.typ == "aws:lb/listenerRule:ListenerRule"
               for c in unsecret(r.inputs["conditions"]) for v in c["httpHeader"]["values"]}
    assert len(headers) == len(versions)  # each accepted key has its rule; a revoked one has none


def test_kms_key_arn():
    arn = "arn:aws:kms:us-east-1:123456789012:key/mrk-" + "0123456789abcdef" * 2
    assert named(evaluate_program("prod", {"kmsKeyId": arn}), "model-store-ebs").inputs["kmsKeyId"] == arn


def test_longest_common_log_retention():
    assert named(evaluate_program("staging", {"logRetentionDays": 731}), "gpu-host-logs").inputs["retentionInDays"] == 731


@pytest.mark.parametrize("size,iops,throughput", [(32, 16000, 1000), (6, 3000, 750), (1, 3000, 125), (10, 5000, 1000)])
def test_gp3_at_its_ratio_limits(size, iops, throughput):
    rs = evaluate_program("staging", {"modelStoreGb": size, "modelStoreIops": iops, "modelStoreThroughputMbs": throughput})
    vol = named(rs, "model-store-ebs").inputs
    assert (vol["size"], vol["iops"], vol["throughput"]) == (size, iops, throughput)


def test_one_gpu_on_ec2_and_maximal_model_defaults():
    rs = evaluate_program("prod", {"gpus": "0", "workersPerModel": 64, "batchSize": 1024, "maxBatchDelayMs": 60000,
                                   "responseTimeoutS": 86400, "rootVolumeGb": 16384})
    argv, files = unit_run_argv(rs)
    assert flag(argv, "--gpus") == "device=0"
    props = files["/etc/torchserve-deploy/files/torchserve-prod/config.properties"]
    assert '"batchSize":1024' in props and '"maxWorkers":64' in props and '"responseTimeout":86400' in props
    assert named(rs, "gpu-host-instance").inputs["rootBlockDevice"]["volumeSize"] == 16384


def test_volta_on_the_ubuntu_route_with_its_last_driver():
    rs = evaluate_program("staging", {"instanceType": "p3.2xlarge", "amiRoute": "ubuntu", "nvidiaDriverBranch": "580",
                                      "egress": "nat"})
    assert named(rs, "gpu-host-instance").inputs["instanceType"] == "p3.2xlarge"
    env = {f["path"]: f["content"] for f in user_data(rs)["write_files"]}["/etc/torchserve-deploy/host.env"]
    assert "DRIVER_BRANCH=580\n" in env and "DRIVER_FLAVOR=proprietary\n" in env
