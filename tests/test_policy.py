"""Exposure and hardening policy over every recorded resource of every committed stack, and of a
generated matrix of settings: management (8081) and gRPC management (7071) never beyond loopback nor
in a security-group rule; no open SSH; token auth on (off only on a host that the key-checking edge's
security group alone can reach) and model API off; allowed_urls restricted; IMDSv2 required; no public
IP on an instance; listeners HTTPS with a TLS 1.3 policy or redirecting to it, and the edge forwarding
only requests that carry a key; volumes encrypted; GPU families only."""
import itertools
import json
import shlex

import pytest
import yaml
from torchserve_deploy.aws.gpu_catalog import FAMILIES

from tests.mocks import Registered, committed_stacks, evaluate_program, unsecret

MANAGEMENT = (8081, 7071)
OPEN = ("0.0.0.0/0", "::/0")
TOKENLESS = (8080, 8090)
"""Container ports TorchServe serves without its own key when token auth is off: inference and health."""
INSTANCE = "aws:ec2/instance:Instance"
GROUP = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"

LOCAL_MATRIX = [dict(zip(("inferenceBind", "metricsBind", "grpcInferenceBind", "gpus", "accelerator", "cudaVersion"), v, strict=False))
                for v in itertools.product(("127.0.0.1", "0.0.0.0"), ("127.0.0.1", "0.0.0.0"), ("127.0.0.1", "0.0.0.0"),
                                           ("",), ("cpu",), ("",))]
LOCAL_MATRIX += [{"accelerator": "cuda", "cudaVersion": c, "gpus": g, "inferenceBind": "0.0.0.0"}
                 for c, g in itertools.product(("cu118", "cu128"), ("all", "0,1"))]
LOCAL_MATRIX += [{"managementPort": 9081, "grpcManagementPort": 9071, "modelStore": "volume"}]
NO_EDGE = {"edge": "none", "domainName": "", "hostedZoneId": ""}  # staging without its load balancer
EXISTING_VPC = {"vpcId": "vpc-0123456789abcdef0", "egress": "none",
                "privateSubnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
                "publicSubnetIds": ["subnet-0fedcba9876543210", "subnet-0fedcba9876543211"]}
EC2_MATRIX = [{**NO_EDGE, "inferenceCidrs": ["10.8.0.0/16", "fd00:1::/64"]},
              {**NO_EDGE, "inferenceSecurityGroupId": "sg-0123456789abcdef0", "sshCidrs": ["10.9.0.0/24"]},
              {"sshCidrs": ["10.9.0.0/24"]},
              {"instanceType": "g6e.xlarge", "cudaVersion": "cu128"},
              {"instanceType": "p3.2xlarge", "amiRoute": "ubuntu", "nvidiaDriverBranch": "580", "egress": "nat"},
              {"amiRoute": "ubuntu", "egress": "nat"},
              {**NO_EDGE, "amiRoute": "ubuntu", "egress": "nat", "inferenceCidrs": ["192.168.0.0/16"]},
              {"metricsCidr": "", "metricsBind": "127.0.0.1"}, {"amiId": "ami-0fedcba9876543210"},
              EXISTING_VPC, {**EXISTING_VPC, **NO_EDGE, "inferenceCidrs": ["10.0.0.0/8"]},
              {"hostedZoneId": "", "tlsPolicy": "ELBSecurityPolicy-TLS13-1-3-2021-06", "edgeCidrs": ["203.0.113.0/24"],
               "certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab"},
              {"inferenceKeyVersion": 3, "inferenceKeyGrace": False, "inferencePort": 18080, "healthPort": 18090}]

CASES = [(s, {}) for s in committed_stacks()] + [("dev", o) for o in LOCAL_MATRIX] + [("staging", o) for o in EC2_MATRIX]


def user_data_files(instance) -> list[dict]:
    return yaml.safe_load(instance.inputs["userData"].split("\n", 1)[1])["write_files"]


def config_files(resources):
    """(instance or None, text) of every config.properties the stack ships: container uploads and user-data
    files."""
    for r in resources:
        if r.typ == "command:local:Command" and r.inputs["create"].endswith("/config.properties"):
            yield None, r.inputs["stdin"]
        if r.typ == INSTANCE:
            yield from ((r, f["content"]) for f in user_data_files(r) if f["path"].endswith("config.properties"))
        if r.typ == TASK:  # ECS: config.properties travels in the server container's environment
            for c in json.loads(r.inputs["containerDefinitions"]):
                env = {e["name"]: e["value"] for e in c.get("environment", [])}
                if "TS_CONFIG_PROPERTIES" in env:
                    yield r, env["TS_CONFIG_PROPERTIES"]


def instance_publishes(instance):
    """(container port, host ip, host port) of every `--publish` of the instance's systemd `docker run`s."""
    for f in user_data_files(instance):
        for line in f["content"].splitlines():
            if line.startswith("ExecStart=/usr/bin/docker run"):
                argv = shlex.split(line[len("ExecStart="):].replace("$$", "$").replace("%%", "%"))
                for i, a in enumerate(argv):
                    if a == "--publish":
                        ip, host_port, port = argv[i + 1].split("/")[0].split(":")
                        yield int(port), ip, int(host_port)


def published(resources):
    """(container port, host ip) of every published port: Pulumi containers and systemd `docker run`s."""
    for r in resources:
        if r.typ == "docker:index/container:Container":
            yield from ((int(p["internal"]), p["ip"]) for p in r.inputs.get("ports", []))
        if r.typ == INSTANCE:
            yield from ((port, ip) for port, ip, _ in instance_publishes(r))
        if r.typ == TASK:  # bridge mode maps a port on every host interface: there is no loopback-only mapping
            for c in json.loads(r.inputs["containerDefinitions"]):
                yield from ((int(p["containerPort"]), "0.0.0.0") for p in c.get("portMappings", []))


def mock_id(r) -> str:
    """The ID RecordingMocks gives a security group (or any resource but instances and volumes)."""
    return f"{r.name}-id"


def covers(rule: dict, port: int) -> bool:
    return rule["ipProtocol"] in ("-1", "all") or int(rule["fromPort"]) <= port <= int(rule["toPort"])


def reachable_other_than_from_the_edge(resources, instance) -> list[str]:
    """Why the instance's token-less ports (inference and health, as published on the host) can be reached
    other than from the edge's security group alone; empty when they cannot. The edge is the group of the
    stack's load balancer; a rule from a CIDR (v4 or v6), a prefix list or any other group is a way around it."""
    groups = {mock_id(r) for r in resources if r.typ == GROUP}
    host = list(instance.inputs.get("vpcSecurityGroupIds") or [])
    assert host and set(host) <= groups, f"the instance's groups {host} are not the stack's {sorted(groups)}"
    edge = {g for r in resources if r.typ == LOAD_BALANCER for g in r.inputs.get("securityGroups") or []}
    if not edge:
        return ["no load balancer: nothing checks a key in front of the host"]
    assert not edge & set(host), "the host shares its security group with the load balancer"
    exposed = {host_port for port, _, host_port in instance_publishes(instance) if port in TOKENLESS}
    assert {port for port, _, _ in instance_publishes(instance)} >= set(TOKENLESS), "inference or health unpublished"
    problems = []
    for r in resources:
        rule = r.inputs
        if r.typ != INGRESS or rule["securityGroupId"] not in host or not any(covers(rule, p) for p in exposed):
            continue
        direct = [k for k in ("cidrIpv4", "cidrIpv6", "prefixListId") if rule.get(k)]
        if direct:
            problems.append(f"{r.name}: from {', '.join(str(rule[k]) for k in direct)}")
        elif rule.get("referencedSecurityGroupId") not in edge:
            problems.append(f"{r.name}: from {rule.get('referencedSecurityGroupId')}, not the edge's group")
    from_edge = [r.inputs for r in resources if r.typ == INGRESS and r.inputs["securityGroupId"] in host
                 and r.inputs.get("referencedSecurityGroupId") in edge]
    unserved = sorted(p for p in exposed if not any(covers(rule, p) for rule in from_edge))
    if unserved:
        problems.append(f"ports {unserved} have no rule from the edge")
    return problems


def fleet_reachable_other_than_from_the_edge(resources) -> list[str]:
    """The fleet's instances (its launch template's groups) take 8080/8090 only from the edge's group."""
    (template,) = [r for r in resources if r.typ == "aws:ec2/launchTemplate:LaunchTemplate"]
    host = {g for ni in template.inputs["networkInterfaces"] for g in ni["securityGroups"]}
    edge = {g for r in resources if r.typ == LOAD_BALANCER for g in r.inputs.get("securityGroups") or []}
    rules = [r for r in resources if r.typ == INGRESS and r.inputs["securityGroupId"] in host]
    problems = [f"{r.name}: not from the edge" for r in rules if any(covers(r.inputs, p) for p in TOKENLESS)
                and r.inputs.get("referencedSecurityGroupId") not in edge]
    unserved = [p for p in TOKENLESS if not any(covers(r.inputs, p) and r.inputs.get("referencedSecurityGroupId") in edge
                                               for r in rules)]
    return problems + ([f"ports {unserved} have no rule from the edge"] if unserved else [])


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
    for instance, text in files:
        props = dict(line.split("=", 1) for line in text.splitlines() if "=" in line and not line.startswith("#"))
        assert props["disable_token_authorization"] in ("true", "false")
        if props["disable_token_authorization"] == "true":
            # Only behind the edge: the host's security group lets inference and health in solely from the
            # load balancer's group, which checks the stack's key.
            assert instance is not None, "token auth off on a local container"
            if instance.typ == TASK:
                assert fleet_reachable_other_than_from_the_edge(resources) == [], "token auth off, reachable directly"
            else:
                assert reachable_other_than_from_the_edge(resources, instance) == [], "token auth off, reachable directly"
        assert props["enable_model_api"] == "false"
        assert props["allowed_urls"] == f"file://{props['model_store']}/.*"


def test_the_edge_policy_itself_refuses_direct_paths(resources):
    """The check above is not vacuous: a CIDR rule to the inference or health port, or no edge, fails it."""
    for instance in [r for r in resources if r.typ == INSTANCE]:
        if not any(r.typ == LOAD_BALANCER for r in resources):
            assert reachable_other_than_from_the_edge(resources, instance)
            continue
        assert reachable_other_than_from_the_edge(resources, instance) == []
        host = instance.inputs["vpcSecurityGroupIds"][0]
        for port, _, host_port in instance_publishes(instance):
            if port not in TOKENLESS:
                continue
            for source in ({"cidrIpv4": "10.0.0.0/8"}, {"cidrIpv6": "fd00::/8"},
                           {"referencedSecurityGroupId": "sg-0123456789abcdef0"}):
                rule = Registered(INGRESS, "added", {"securityGroupId": host, "ipProtocol": "tcp",
                                                     "fromPort": host_port, "toPort": host_port, **source}, True)
                assert reachable_other_than_from_the_edge([*resources, rule], instance), (port, source)


def test_instances_private_and_listeners_https(resources):
    listeners = {f"arn:aws:mock:us-east-1:123456789012:{r.name}": r for r in resources if r.typ == LISTENER}
    for r in resources:
        if r.typ == INSTANCE:
            assert r.inputs.get("associatePublicIpAddress") is False, r.name
        if r.typ == LOAD_BALANCER:
            assert any(lr.inputs["loadBalancerArn"] == f"arn:aws:mock:us-east-1:123456789012:{r.name}"
                       and lr.inputs["protocol"] == "HTTPS" for lr in listeners.values()), f"{r.name}: no HTTPS"
        if r.typ == LISTENER:
            actions = r.inputs["defaultActions"]
            if r.inputs["protocol"] == "HTTPS":
                assert r.inputs["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-"), r.inputs["sslPolicy"]
                assert r.inputs.get("certificateArn"), r.name
                # The key is checked: what carries none gets the edge's 401, never the targets.
                assert [a["type"] for a in actions] == ["fixed-response"], actions
                assert actions[0]["fixedResponse"]["statusCode"] == "401"
            else:
                assert r.inputs["protocol"] == "HTTP", r.inputs["protocol"]
                assert actions and all(a["type"] == "redirect" and a["redirect"]["protocol"] == "HTTPS"
                                       for a in actions), actions
        if r.typ == LISTENER_RULE:
            listener = listeners[r.inputs["listenerArn"]]
            assert listener.inputs["protocol"] == "HTTPS", f"{r.name}: a rule on a plain HTTP listener"
            conditions = unsecret(r.inputs["conditions"])
            headers = [c["httpHeader"] for c in conditions if c.get("httpHeader")]
            assert [h["httpHeaderName"] for h in headers] == ["Authorization"], r.name
            assert all(v.startswith("Bearer ") and len(v) > len("Bearer ") + 31 and "*" not in v and "?" not in v
                       for v in headers[0]["values"]), r.name


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
