"""Exposure and hardening policy over every recorded resource of every committed stack, and of a
generated matrix of settings: management (8081) and gRPC management (7071) never beyond loopback nor
in a security-group rule; no open SSH; token auth on and model API off; allowed_urls restricted;
IMDSv2 required; volumes encrypted; GPU families only."""
import itertools
import shlex

import pytest
import yaml
from torchserve_deploy.aws.gpu_catalog import FAMILIES

from tests.mocks import committed_stacks, evaluate_program

MANAGEMENT = (8081, 7071)
OPEN = ("0.0.0.0/0", "::/0")

LOCAL_MATRIX = [dict(zip(("inferenceBind", "metricsBind", "grpcInferenceBind", "gpus", "accelerator", "cudaVersion"), v, strict=False))
                for v in itertools.product(("127.0.0.1", "0.0.0.0"), ("127.0.0.1", "0.0.0.0"), ("127.0.0.1", "0.0.0.0"),
                                           ("",), ("cpu",), ("",))]
LOCAL_MATRIX += [{"accelerator": "cuda", "cudaVersion": c, "gpus": g, "inferenceBind": "0.0.0.0"}
                 for c, g in itertools.product(("cu118", "cu128"), ("all", "0,1"))]
LOCAL_MATRIX += [{"managementPort": 9081, "grpcManagementPort": 9071, "modelStore": "volume"}]
EC2_MATRIX = [{"inferenceCidrs": ["10.8.0.0/16", "fd00:1::/64"]}, {"sshCidrs": ["10.9.0.0/24"]},
              {"instanceType": "g6e.xlarge", "cudaVersion": "cu128"},
              {"instanceType": "p3.2xlarge", "amiRoute": "ubuntu", "nvidiaDriverBranch": "580"},
              {"metricsCidr": "", "metricsBind": "127.0.0.1"}, {"amiId": "ami-0fedcba9876543210"}]

CASES = [(s, {}) for s in committed_stacks()] + [("dev", o) for o in LOCAL_MATRIX] + [("staging", o) for o in EC2_MATRIX]


def config_files(resources):
    """Every config.properties the stack ships: container uploads and user-data files."""
    for r in resources:
        if r.typ == "docker:index/container:Container":
            yield from (u["content"] for u in r.inputs.get("uploads", []))
        if r.typ == "aws:ec2/instance:Instance":
            yield from (f["content"] for f in yaml.safe_load(r.inputs["userData"].split("\n", 1)[1])["write_files"]
                        if f["path"].endswith("config.properties"))


def published(resources):
    """(container port, host ip) of every published port: Pulumi containers and systemd `docker run`s."""
    for r in resources:
        if r.typ == "docker:index/container:Container":
            yield from ((int(p["internal"]), p["ip"]) for p in r.inputs.get("ports", []))
        if r.typ == "aws:ec2/instance:Instance":
            for f in yaml.safe_load(r.inputs["userData"].split("\n", 1)[1])["write_files"]:
                for line in f["content"].splitlines():
                    if line.startswith("ExecStart=/usr/bin/docker run"):
                        argv = shlex.split(line[len("ExecStart="):].replace("$$", "$").replace("%%", "%"))
                        for i, a in enumerate(argv):
                            if a == "--publish":
                                ip, _, port = argv[i + 1].split("/")[0].split(":")
                                yield int(port), ip


@pytest.fixture(scope="module", params=CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)])
def resources(request):
    stack, overrides = request.param
    return evaluate_program(stack, overrides)


def test_management_never_beyond_loopback(resources):
    ports = list(published(resources))
    assert ports, "nothing published: the policy would pass vacuously"
    for port, ip in ports:
        if port in MANAGEMENT:
            assert ip == "127.0.0.1", (port, ip)


def test_security_groups(resources):
    for r in resources:
        if r.typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule":
            port = int(r.inputs["fromPort"])
            assert port not in MANAGEMENT, r.name
            assert not (port == 22 and r.inputs.get("cidrIpv4") in OPEN), r.name
            assert int(r.inputs["toPort"]) == port and r.inputs["ipProtocol"] == "tcp"
        assert r.typ != "aws:ec2/securityGroup:SecurityGroup" or not r.inputs.get("ingresses"), "inline rules"


def test_torchserve_config_is_secure(resources):
    files = list(config_files(resources))
    assert files
    for text in files:
        props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
        assert props["disable_token_authorization"] == "false"
        assert props["enable_model_api"] == "false"
        assert props["allowed_urls"] == f"file://{props['model_store']}/.*"


def test_instances_imdsv2_encrypted_gpu(resources):
    for r in resources:
        if r.typ == "aws:ec2/instance:Instance":
            meta = r.inputs["metadataOptions"]
            assert meta["httpTokens"] == "required" and meta["httpPutResponseHopLimit"] == 1
            assert r.inputs["rootBlockDevice"]["encrypted"] is True
            assert r.inputs["instanceType"].split(".")[0] in FAMILIES
        if r.typ == "aws:ebs/volume:Volume":
            assert r.inputs["encrypted"] is True
        if r.typ == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            assert all(r.inputs[k] for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls",
                                             "restrictPublicBuckets"))
