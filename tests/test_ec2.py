"""The staging and prod stacks under mocks: instance, model-store volume and attachment, role, security
group, bucket, and the server deployment (user data) with the properties the issue asks for."""
import json
import shlex

import pytest
import yaml
from torchserve_deploy.aws.ebs_store import EbsModelStore, EbsModelStoreArgs

from infra.offline import stack_settings as settings
from infra.plan import make_plan
from tests.mocks import evaluate_program, named, run_under_mocks

EC2_STACKS = ["staging", "prod"]


@pytest.fixture(scope="module", params=EC2_STACKS)
def stack(request):
    return request.param, evaluate_program(request.param)


def user_data(resources):
    return yaml.safe_load(named(resources, "gpu-host-instance").inputs["userData"].split("\n", 1)[1])


def unit_run_argv(resources):
    files = {f["path"]: f["content"] for f in user_data(resources)["write_files"]}
    unit = files["/etc/systemd/system/torchserve.service"]
    start = [line for line in unit.splitlines() if line.startswith("ExecStart=")][0][len("ExecStart="):]
    return shlex.split(start.replace("$$", "$").replace("%%", "%")), files


def test_instance_is_locked_down(stack):
    name, resources = stack
    i = named(resources, "gpu-host-instance").inputs
    assert i["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert i["rootBlockDevice"]["encrypted"] is True and i["rootBlockDevice"]["volumeType"] == "gp3"
    assert i["rootBlockDevice"]["volumeSize"] >= 75
    assert i["instanceType"] == settings(name).ec2.instance_type
    assert i["ami"] == "ami-0123456789abcdef0" and i["userDataReplaceOnChange"] is True
    assert "keyName" not in i  # no SSH key: Session Manager


def test_model_store_volume_and_attachment(stack):
    name, resources = stack
    vol = named(resources, "model-store-ebs").inputs
    assert vol["type"] == "gp3" and vol["encrypted"] is True and vol["availabilityZone"] == "us-east-1a"
    att = named(resources, "gpu-host-model-store").inputs
    assert att["volumeId"] == "vol-0123456789abcdef0" and att["instanceId"] == "i-0123456789abcdef0"
    units = user_data(resources)["write_files"]
    mount = [f for f in units if f["path"] == "/etc/systemd/system/model-store.service"][0]["content"]
    assert "mount-model-store vol-0123456789abcdef0 /srv/models" in mount


def test_prod_keeps_data_and_staging_does_not():
    prod, staging = make_plan(settings("prod")).ec2, make_plan(settings("staging")).ec2
    assert prod.store.protect is True and prod.bucket.protect is True
    assert staging.store.protect is False and staging.bucket.protect is False
    kept = EbsModelStoreArgs(availability_zone="az", protect=True)
    made = {}
    run_under_mocks(lambda: made.setdefault("s", EbsModelStore("s", kept)).volume_id)
    assert made["s"].options.protect is True and made["s"].options.retain_on_delete is True
    temporary = EbsModelStoreArgs(availability_zone="az", protect=False)
    run_under_mocks(lambda: made.setdefault("t", EbsModelStore("t", temporary)).volume_id)
    assert not made["t"].options.protect and not made["t"].options.retain_on_delete


def test_role_is_least_privilege(stack):
    _, resources = stack
    attachments = [r.inputs["policyArn"] for r in resources if r.typ == "aws:iam/rolePolicyAttachment:RolePolicyAttachment"]
    assert attachments == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    policy = json.loads(named(resources, "gpu-host-access").inputs["policy"])
    resources_by_sid = {s["Sid"]: s["Resource"] for s in policy["Statement"]}
    assert resources_by_sid["EcrPull"].endswith("torchserve-repo")  # one repository, not *
    assert resources_by_sid["ModelsRead"].endswith("models-bucket/models/*")
    assert resources_by_sid["ContainerLogs"].endswith(":*") and "log-group:/torchserve-deploy/" in resources_by_sid["ContainerLogs"]
    # "*" only where the action has no resource ARN, and metrics only into the agent's namespace.
    assert [s for s in policy["Statement"] if s["Resource"] == "*"] == [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "GpuMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}}]


def test_security_group_rules(stack):
    name, resources = stack
    rules = [r.inputs for r in resources if r.typ == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"]
    ports = sorted(int(r["fromPort"]) for r in rules)
    assert 8081 not in ports and 7071 not in ports and 22 not in ports
    e = settings(name).ec2
    metrics = [r for r in rules if int(r["fromPort"]) == 8082]
    assert [r["cidrIpv4"] for r in metrics] == [e.metrics_cidr]
    # Behind the edge, inference and health come only from the load balancer's security group.
    host_rules = [r for r in rules if r["securityGroupId"] == "gpu-host-sg-id"]
    for port in (8080, 8090):
        assert [r.get("referencedSecurityGroupId") for r in host_rules if int(r["fromPort"]) == port] == ["edge-sg-id"]
        assert not [r for r in host_rules if int(r["fromPort"]) == port and ("cidrIpv4" in r or "cidrIpv6" in r)]


def test_server_runs_the_same_spec_under_systemd(stack, dev_resources):
    name, resources = stack
    argv, files = unit_run_argv(resources)
    assert argv[:2] == ["/usr/bin/docker", "run"] and "--rm" in argv and "--restart" not in argv
    published = [argv[i + 1] for i, a in enumerate(argv) if a == "--publish"]
    assert "127.0.0.1:8081:8081/tcp" in published and "127.0.0.1:7071:7071/tcp" in published
    assert "0.0.0.0:8080:8080/tcp" in published
    assert argv[argv.index("--gpus") + 1] == "all" and argv[argv.index("--shm-size") + 1] == "1024m"
    assert "memlock=-1:-1" in argv and "stack=67108864:67108864" in argv
    assert argv[argv.index("--log-driver") + 1] == "awslogs"
    assert f"awslogs-group=/torchserve-deploy/{name}" in argv
    assert "type=bind,source=/srv/models,target=/home/model-server/model-store,readonly" in argv
    # Pulled by digest: what this stack pushed, whatever the tag says later.
    image = named(resources, "torchserve-image").inputs["imageName"]
    repo = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/torchserve-deploy-{name}"
    assert image.startswith(repo + ":") and image not in argv
    pulled = [a for a in argv if a.startswith(repo + "@sha256:")]
    assert len(pulled) == 1 and len(pulled[0].split("@sha256:")[1]) == 64
    env = {f["path"]: f["content"] for f in user_data(resources)["write_files"]}["/etc/torchserve-deploy/host.env"]
    assert f"IMAGE={pulled[0]}" in env
    # Hardened as on the local host; the edge checks the stack's key, so TorchServe's own is off.
    assert "--read-only" in argv and argv[argv.index("--cap-drop") + 1] == "ALL"
    assert "0.0.0.0:8090:8090/tcp" in published
    config = files[f"/etc/torchserve-deploy/files/torchserve-{name}/config.properties"]
    assert "disable_token_authorization=true" in config and "enable_model_api=false" in config
    assert named(resources, "torchserve-image").inputs["skipPush"] is False


def test_archives_are_uploaded_to_the_model_bucket(stack):
    name, resources = stack
    create = named(resources, "model-demo-archive").inputs["create"]
    assert f"--export-path ../.build/{name}/archives" in create  # from infra/, where the provider runs
    assert f"-m torchserve_deploy.aws.upload ../.build/{name}/archives/demo.mar s3://torchserve-{name}-models-mock/models/demo.mar" in create
    env = {f["path"]: f["content"] for f in user_data(resources)["write_files"]}["/etc/torchserve-deploy/host.env"]
    assert f"MODEL_BUCKET=torchserve-{name}-models-mock" in env and "MODEL_PREFIX=models/" in env
    bucket = [r for r in resources if r.typ.startswith("aws:s3/")]
    block = named(resources, "models-public-access").inputs
    assert all(block[k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    assert len(bucket) == 6


def test_unpinned_ami_comes_from_the_dlami_parameter():
    """The program asks for the DLAMI Base OSS parameter (and a pinned amiId asks for nothing)."""
    from tests.mocks import RecordingMocks

    mocks = RecordingMocks()
    evaluate_program("staging", mocks=mocks)
    asked = [a["name"] for t, a in mocks.calls if t == "aws:ssm/getParameter:getParameter"]
    assert asked == ["/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-24.04/latest/ami-id"]
    pinned = RecordingMocks()
    resources = evaluate_program("staging", {"amiId": "ami-0fedcba9876543210"}, mocks=pinned)
    assert not [t for t, _ in pinned.calls if t == "aws:ssm/getParameter:getParameter"]
    assert named(resources, "gpu-host-instance").inputs["ami"] == "ami-0fedcba9876543210"
