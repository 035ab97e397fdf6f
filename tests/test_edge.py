"""The AWS edge on the staging and prod stacks under mocks: TLS at an ALB, managed inference keys checked
there, private hosts, limited egress, the bucket policy, per-stack ECR, the readiness gate, and a destroy
that leaves nothing in test stacks (protected data stays in prod)."""
import ipaddress
import json

import pytest
from torchserve_deploy.aws.user_data import written_files
from torchserve_deploy.errors import ValidationError

from infra.offline import stack_settings
from infra.plan import make_plan
from tests.mocks import evaluate_program, is_secret, named, unsecret

EC2 = ["staging", "prod"]
PRIVATE = [ipaddress.ip_network(c) for c in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10",
                                              "fc00::/7")]
BACKEND_PORTS = {8080, 8081, 8082, 7070, 7071, 8090, 22}


@pytest.fixture(scope="module", params=EC2)
def stack(request):
    return request.param, evaluate_program(request.param)


def of_type(resources, typ):
    return [r for r in resources if r.typ == typ]


def is_public(cidr):
    net = ipaddress.ip_network(cidr)
    return not any(net.version == p.version and net.subnet_of(p) for p in PRIVATE)


def test_no_instance_has_a_public_ip_and_hosts_sit_in_private_subnets(stack):
    name, resources = stack
    (instance,) = of_type(resources, "aws:ec2/instance:Instance")
    assert instance.inputs["associatePublicIpAddress"] is False
    for subnet in of_type(resources, "aws:ec2/subnet:Subnet"):
        assert subnet.inputs["mapPublicIpOnLaunch"] is False
    if name == "staging":  # the stack's own VPC: the host's subnet has no route to the internet
        assert instance.inputs["subnetId"] == "network-private-0-id"
        private_rt = named(resources, "network-private-rt").inputs
        assert private_rt.get("routes", []) == []


def test_internet_facing_listeners_are_https_or_redirect(stack):
    _, resources = stack
    (alb,) = of_type(resources, "aws:lb/loadBalancer:LoadBalancer")
    assert alb.inputs["internal"] is False and alb.inputs["dropInvalidHeaderFields"] is True
    listeners = {int(r.inputs["port"]): r.inputs for r in of_type(resources, "aws:lb/listener:Listener")}
    assert set(listeners) == {443, 80}
    https, http = listeners[443], listeners[80]
    assert https["protocol"] == "HTTPS" and https["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")
    # Without the key the edge answers 401 itself; TorchServe never sees the request.
    assert https["defaultActions"][0]["type"] == "fixed-response"
    assert https["defaultActions"][0]["fixedResponse"]["statusCode"] == "401"
    assert http["protocol"] == "HTTP" and http["defaultActions"][0]["redirect"] == {
        "protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_no_rule_opens_a_backend_port_to_a_public_range(stack):
    _, resources = stack
    rules = of_type(resources, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
    assert rules
    for r in rules:
        ports = set(range(int(r.inputs["fromPort"]), int(r.inputs["toPort"]) + 1))
        cidr = r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6")
        if cidr and is_public(cidr):
            assert not ports & BACKEND_PORTS, (r.name, cidr, ports)
            assert ports <= {443, 80} and r.inputs["securityGroupId"] == "edge-sg-id", r.name


def test_host_egress_is_https_and_dns_only(stack):
    _, resources = stack
    host_out = [r.inputs for r in of_type(resources, "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
                if r.inputs["securityGroupId"] == "gpu-host-sg-id"]
    assert sorted((o["ipProtocol"], int(o["fromPort"])) for o in host_out) == [("tcp", 53), ("tcp", 443), ("udp", 53)]
    for o in host_out:
        assert int(o["fromPort"]) == 443 or not is_public(o["cidrIpv4"])  # DNS only to the VPC's resolver


def test_health_check_probes_the_worker_aware_endpoint(stack):
    _, resources = stack
    (tg,) = of_type(resources, "aws:lb/targetGroup:TargetGroup")
    hc = tg.inputs["healthCheck"]
    assert (hc["path"], hc["port"], hc["matcher"], hc["protocol"]) == ("/healthz", "8090", "200", "HTTP")
    assert int(tg.inputs["port"]) == 8080
    (attachment,) = of_type(resources, "aws:lb/targetGroupAttachment:TargetGroupAttachment")
    assert attachment.inputs["targetId"] == "i-0123456789abcdef0"


def test_inference_key_is_managed_secret_and_checked_at_the_edge(stack):
    name, resources = stack
    (secret,) = of_type(resources, "aws:secretsmanager/secret:Secret")
    assert secret.inputs["name"] == f"torchserve-deploy/{name}/inference-key"
    (version,) = of_type(resources, "aws:secretsmanager/secretVersion:SecretVersion")
    assert is_secret(version.inputs["secretString"])
    value = json.loads(unsecret(version.inputs["secretString"]))
    assert set(value) == {"key", "previous", "version"} and len(value["key"]) == 48 and value["key"].isalnum()
    rules = of_type(resources, "aws:lb/listenerRule:ListenerRule")
    assert len(rules) == 2
    for rule in rules:
        assert is_secret(rule.inputs["conditions"])  # the whole condition is encrypted in state
        header = unsecret(rule.inputs["conditions"])[0]["httpHeader"]
        assert header["httpHeaderName"] == "Authorization" and header["values"] == [f"Bearer {value['key']}"]
        assert rule.inputs["actions"][0]["type"] == "forward"
    # The key is nowhere in plain text: not in user data, not in any other input.
    text = json.dumps([r.inputs for r in resources if r.typ not in ("aws:secretsmanager/secretVersion:SecretVersion",
                                                                      "aws:lb/listenerRule:ListenerRule",
                                                                      "random:index/randomPassword:RandomPassword")])
    assert value["key"] not in text


def test_rotation_keeps_the_previous_key_for_a_grace_period():
    resources = evaluate_program("staging", {"inferenceKeyVersion": 3})
    keys = sorted(r.name for r in of_type(resources, "random:index/randomPassword:RandomPassword"))
    assert keys == ["inference-key-v2", "inference-key-v3"]
    value = json.loads(unsecret(named(resources, "inference-key-value").inputs["secretString"]))
    assert value["version"] == 3 and value["previous"] and value["previous"] != value["key"]
    headers = sorted(unsecret(r.inputs["conditions"])[0]["httpHeader"]["values"][0]
                     for r in of_type(resources, "aws:lb/listenerRule:ListenerRule"))
    assert headers == sorted([f"Bearer {value['key']}", f"Bearer {value['previous']}"])
    revoked = evaluate_program("staging", {"inferenceKeyVersion": 3, "inferenceKeyGrace": False})
    assert [r.name for r in of_type(revoked, "random:index/randomPassword:RandomPassword")] == ["inference-key-v3"]


def test_certificates(stack):
    name, resources = stack
    https = [r.inputs for r in of_type(resources, "aws:lb/listener:Listener") if r.inputs["protocol"] == "HTTPS"][0]
    if name == "staging":  # DNS-validated through the stack's Route 53 zone, with an alias to the ALB
        cert = named(resources, "edge-cert").inputs
        assert cert == {"domainName": "staging.ml.example.com", "validationMethod": "DNS", "tags": cert["tags"]}
        assert named(resources, "edge-cert-valid").inputs["validationRecordFqdns"] == ["_x1.staging.ml.example.com"]
        assert named(resources, "edge-alias").inputs["aliases"][0]["evaluateTargetHealth"] is True
        assert https["certificateArn"] == named(resources, "edge-cert").inputs.get("arn", https["certificateArn"])
    else:  # an imported certificate
        assert not of_type(resources, "aws:acm/certificate:Certificate")
        assert https["certificateArn"].startswith("arn:aws:acm:us-east-1:123456789012:certificate/")


def test_uploads_take_the_bucket_default_encryption(tmp_path, monkeypatch):
    """The archive upload forces no encryption of its own, so a KMS bucket key applies (readers get kms:Decrypt)."""
    import boto3
    from torchserve_deploy.aws import upload

    calls = []

    class Client:
        def upload_file(self, *args, **kwargs):
            calls.append((args, kwargs))

    monkeypatch.setattr(boto3, "client", lambda service: Client())
    archive = tmp_path / "demo.mar"
    archive.write_bytes(b"PK")
    assert upload.main([str(archive), "s3://bucket/models/demo.mar"]) == 0
    assert calls == [((str(archive), "bucket", "models/demo.mar"), {})]
    policy = json.loads(named(evaluate_program("staging", {"kmsKeyId": "alias/ml"}), "gpu-host-access").inputs["policy"])
    decrypt = [s for s in policy["Statement"] if s["Sid"] == "ModelsDecrypt"]
    assert decrypt and decrypt[0]["Action"] == "kms:Decrypt" and decrypt[0]["Resource"].startswith("arn:aws:kms:")


def test_bucket_policy_denies_plain_http_and_foreign_writers(stack):
    _, resources = stack
    (policy,) = of_type(resources, "aws:s3/bucketPolicy:BucketPolicy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    tls = statements["TlsOnly"]
    assert tls["Effect"] == "Deny" and tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    writers = statements["WritesOnlyByTheDeployer"]
    assert writers["Effect"] == "Deny" and "s3:PutObject" in writers["Action"]
    assert writers["Condition"] == {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::123456789012:role/deployer"]}}


def test_per_stack_ecr_repository_with_a_lifecycle(stack):
    name, resources = stack
    (repo,) = of_type(resources, "aws:ecr/repository:Repository")
    assert repo.inputs["name"] == f"torchserve-deploy-{name}"
    assert repo.inputs["forceDelete"] is (name == "staging")
    rules = json.loads(named(resources, "torchserve-lifecycle").inputs["policy"])["rules"]
    assert [r["selection"]["tagStatus"] for r in rules] == ["untagged", "any"]


def test_readiness_gate_and_no_permanent_kernel_hold(stack):
    _, resources = stack
    files = written_files(named(resources, "gpu-host-instance").inputs["userData"])
    server = files["/etc/systemd/system/torchserve.service"]
    assert "ExecStartPre=/usr/bin/test -f /run/gpu-host/ready" in server
    setup = files["/etc/systemd/system/gpu-host-setup.service"]
    assert "Restart=on-failure" in setup
    script = files["/usr/local/sbin/gpu-host-setup"]
    assert "apt-mark hold" not in script and 'touch "$READY_MARKER"' in script and 'rm -f "$READY_MARKER"' in script
    assert "READY_MARKER=/run/gpu-host/ready" in files["/etc/torchserve-deploy/host.env"]


# What `pulumi destroy` needs of each resource type to succeed without leaving anything behind (test stacks)
# or to keep the data (protected stacks). Every recorded type must be classified here.
def _bucket(inputs, protect):
    return inputs["forceDestroy"] is (not protect)


def _repo(inputs, protect):
    return inputs["forceDelete"] is (not protect)


def _alb(inputs, protect):
    return inputs["enableDeletionProtection"] is protect


def _secret(inputs, protect):
    return inputs["recoveryWindowInDays"] == (30 if protect else 0)


def _always_force(inputs, protect):
    """Holds no data: deleted even with scale-in-protected instances or running tasks (drained first)."""
    return inputs["forceDelete"] is True


DESTROY_CHECKS = {"aws:s3/bucket:Bucket": _bucket, "aws:ecr/repository:Repository": _repo,
                  "aws:lb/loadBalancer:LoadBalancer": _alb, "aws:secretsmanager/secret:Secret": _secret,
                  "aws:autoscaling/group:Group": _always_force, "aws:ecs/service:Service": _always_force}
# Types whose deletion has no precondition (deleted with the stack, nothing they hold is lost).
PLAIN = {"aws:ec2/vpc:Vpc", "aws:ec2/subnet:Subnet", "aws:ec2/internetGateway:InternetGateway",
         "aws:ec2/routeTable:RouteTable", "aws:ec2/routeTableAssociation:RouteTableAssociation",
         "aws:ec2/vpcEndpoint:VpcEndpoint", "aws:ec2/securityGroup:SecurityGroup",
         "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
         "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule", "aws:ec2/instance:Instance",
         "aws:ec2/volumeAttachment:VolumeAttachment", "aws:lb/listener:Listener", "aws:lb/listenerRule:ListenerRule",
         "aws:lb/targetGroup:TargetGroup", "aws:lb/targetGroupAttachment:TargetGroupAttachment",
         "aws:acm/certificate:Certificate", "aws:acm/certificateValidation:CertificateValidation",
         "aws:route53/record:Record", "aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy",
         "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "aws:iam/instanceProfile:InstanceProfile",
         "aws:cloudwatch/logGroup:LogGroup", "aws:ecr/lifecyclePolicy:LifecyclePolicy",
         "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
         "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
         "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
         "aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketPolicy:BucketPolicy",
         "aws:secretsmanager/secretVersion:SecretVersion", "random:index/randomPassword:RandomPassword",
         "docker:index/image:Image", "command:local:Command", "aws:ec2/eip:Eip", "aws:ec2/natGateway:NatGateway",
         "aws:ebs/volume:Volume", "aws:ecs/cluster:Cluster", "aws:ecs/capacityProvider:CapacityProvider",
         "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "aws:ecs/taskDefinition:TaskDefinition",
         "aws:ec2/launchTemplate:LaunchTemplate", "aws:appautoscaling/target:Target",
         "aws:appautoscaling/policy:Policy", "aws:cloudwatch/metricAlarm:MetricAlarm",
         # Observability: notifications in flight only; the topic's key is scheduled for deletion (30 days).
         "aws:cloudwatch/dashboard:Dashboard", "aws:cloudwatch/queryDefinition:QueryDefinition",
         "aws:sns/topic:Topic", "aws:sns/topicSubscription:TopicSubscription", "aws:kms/key:Key"}


@pytest.mark.parametrize("name", [*EC2, "fleet"])
def test_destroy_preconditions_of_every_resource(name):
    """staging (protectData false): destroy deletes everything, buckets and repositories with their content;
    prod (protectData true): the model store, bucket, images and key stay, and protection is explicit."""
    resources = evaluate_program(name)
    ec2 = make_plan(stack_settings(name)).ec2
    protect = ec2.bucket.protect
    assert protect is (name == "prod")
    # The EBS store's and bucket's `protect`/`retain_on_delete` options follow protectData (see test_ec2).
    assert ec2.store.protect is protect and ec2.ecr.force_delete is (not protect)
    if name == "fleet":  # ECS deletes in dependency order: service, capacity providers, group, template, cluster
        fleet = make_plan(stack_settings(name)).fleet
        assert fleet is not None and fleet.scaling.min_tasks >= 1
    unclassified = {r.typ for r in resources if r.custom} - set(DESTROY_CHECKS) - PLAIN
    assert not unclassified, f"classify the deletion of: {unclassified}"
    for r in resources:
        if r.typ in DESTROY_CHECKS:
            assert DESTROY_CHECKS[r.typ](r.inputs, protect), (r.name, r.inputs)


def test_a_customer_key_encrypts_everything_that_holds_data():
    """kmsKeyId (an alias here) reaches the volumes, the bucket (with a bucket key), the log group, the ECR
    repository and the inference-key secret. Everything but the secret gets the key's ARN: the provider stores
    ARNs, so an alias on a volume or the bucket would show a diff on every refresh."""
    resources = evaluate_program("staging", {"kmsKeyId": "alias/ml"})
    arn = named(resources, "gpu-host-access").inputs["policy"]
    key_arn = [s for s in json.loads(arn)["Statement"] if s["Sid"] == "ModelsDecrypt"][0]["Resource"]
    assert named(resources, "gpu-host-logs").inputs["kmsKeyId"] == key_arn
    assert named(resources, "torchserve-repo").inputs["encryptionConfigurations"] == [
        {"encryptionType": "KMS", "kmsKey": key_arn}]
    rule = named(resources, "models-encryption").inputs["rules"][0]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "aws:kms", "kmsMasterKeyId": key_arn}
    assert rule["bucketKeyEnabled"] is True
    assert named(resources, "model-store-ebs").inputs["kmsKeyId"] == key_arn
    assert named(resources, "gpu-host-instance").inputs["rootBlockDevice"]["kmsKeyId"] == key_arn
    assert key_arn.startswith("arn:aws:kms:") and "alias" not in key_arn
    assert named(resources, "inference-key-secret").inputs["kmsKeyId"] == "alias/ml"


@pytest.mark.parametrize("policy", ["ELBSecurityPolicy-TLS13-1-0-2021-06", "ELBSecurityPolicy-TLS13-1-1-2021-06",
                                    "ELBSecurityPolicy-2016-08", "ELBSecurityPolicy-TLS13-1-2-2021-06\n"])
def test_the_component_refuses_a_policy_that_accepts_tls_below_1_2(policy):
    """The component's own check (settings offer only safe policies; a direct caller of EdgeArgs gets the same
    guarantee): TLS13-1-0/1-1 accept TLS 1.0/1.1 despite the TLS13 in their names."""
    from torchserve_deploy.aws.edge import EdgeArgs

    where = {"vpc_id": "vpc-1", "vpc_cidr": "10.0.0.0/16", "public_subnet_ids": ["subnet-1"],
             "domain_name": "x.example.com", "zone_id": "Z0123456789ABCDEFGHIJ"}
    with pytest.raises(ValidationError, match="tls_policy"):
        EdgeArgs(**where, tls_policy=policy)
    EdgeArgs(**where, tls_policy="ELBSecurityPolicy-TLS13-1-3-2021-06")
