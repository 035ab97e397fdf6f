"""The CrossGuard pack in policy/, offline: every committed stack's mock-recorded resources pass every policy;
deliberately bad variants (each a mutated copy of a good stack's resources) are each refused, by the policy
meant to refuse them; and the pack loads and answers the engine's gRPC calls the way `pulumi up
--policy-pack policy` runs it.

Resource policies get a resource's inputs (what the engine's Analyze call carries); stack policies get the
state the mocks hand back (RecordingMocks echoes inputs and adds an ARN), as AnalyzeStack carries outputs.
"""
from __future__ import annotations

import base64
import copy
import functools
import json
import select
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import grpc
import pulumi
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.proxy import unknown_checking_proxy

from tests.mocks import PROJECT, ROOT, RecordingMocks, committed_stacks, evaluate_program

POLICY_DIR = ROOT / "policy"
sys.path.insert(0, str(POLICY_DIR))
import torchserve_policies as tp  # noqa: E402

OPTS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


@dataclass
class Rec:
    typ: str
    name: str
    inputs: dict[str, Any]
    state: dict[str, Any] = field(default_factory=dict)

    def urn(self, stack: str) -> str:
        return f"urn:pulumi:{stack}::{PROJECT}::{self.typ}::{self.name}"


class Violation(NamedTuple):
    policy: str
    resource: str
    message: str


class StateMocks(RecordingMocks):
    """RecordingMocks that also keep the state each registration got back (with its ID, as outputs carry)."""

    def __init__(self) -> None:
        super().__init__()
        self.states: list[dict[str, Any]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[Any, Any]]:
        resource_id, state = super().new_resource(args)
        self.states.append({**copy.deepcopy(state), "id": resource_id})  # not sharing the inputs' lists
        return resource_id, state


@functools.cache
def recorded(stack: str) -> tuple[Rec, ...]:
    mocks = StateMocks()
    evaluate_program(stack, mocks=mocks)
    return tuple(Rec(r.typ, r.name, r.inputs, s) for r, s in zip(mocks.resources, mocks.states, strict=True))


def _props(values: dict[str, Any]) -> Any:
    """Properties as the analyzer hands them to a policy: secrets unwrapped, unknowns guarded."""
    return unknown_checking_proxy(deserialize_properties(copy.deepcopy(values)))


def check(recs: list[Rec] | tuple[Rec, ...], stack: str = "test") -> list[Violation]:
    found: list[Violation] = []

    def reporter(policy: str, resource: str) -> Callable[[str, str | None], None]:
        def report(message: str, urn: str | None = None) -> None:
            found.append(Violation(policy, urn.rsplit("::", 1)[-1] if urn else resource, message))
        return report

    for policy in tp.POLICIES:
        if isinstance(policy, ResourceValidationPolicy):
            for r in recs:
                args = ResourceValidationArgs(r.typ, _props(r.inputs), r.urn(stack), r.name, OPTS, None)
                policy.validate(args, reporter(policy.name, r.name))
        else:
            resources = [PolicyResource(r.typ, _props(r.state), r.urn(stack), r.name, OPTS, None, None, [], {})
                         for r in recs]
            policy.validate(StackValidationArgs(resources), reporter(policy.name, "<stack>"))
    return found


def _listing(violations: list[Violation]) -> str:
    return "\n".join(f"  [{v.policy}] {v.message}" for v in violations)


# ---- (a) the committed stacks -------------------------------------------------------------------------------

@pytest.mark.parametrize("stack", committed_stacks())
def test_committed_stack_passes_every_policy(stack: str) -> None:
    violations = check(recorded(stack), stack)
    if violations:
        print(f"{stack}: {len(violations)} violation(s)\n{_listing(violations)}")
    assert not violations, f"stack {stack} violates the policy pack:\n{_listing(violations)}"


# ---- (b) deliberately bad variants --------------------------------------------------------------------------

def one(recs: list[Rec], name: str) -> Rec:
    found = [r for r in recs if r.name == name]
    assert len(found) == 1, f"expected one resource named {name}, found {len(found)}"
    return found[0]


def both(rec: Rec, fn: Callable[[dict[str, Any]], None]) -> None:
    """Apply a mutation to the inputs and to the state (the state echoes the inputs)."""
    fn(rec.inputs)
    fn(rec.state)


def clone(recs: list[Rec], name: str, new_name: str, **changes: Any) -> None:
    src = one(recs, name)
    new = replace(src, name=new_name, inputs={**copy.deepcopy(src.inputs), **changes},
                  state={**copy.deepcopy(src.state), **changes, "id": f"{new_name}-id"})
    recs.append(new)


def text_edit(name: str, key: str, old: str, new: str) -> Callable[[list[Rec]], None]:
    def mutate(recs: list[Rec]) -> None:
        rec = one(recs, name)
        assert old in rec.inputs[key], f"{name}.{key} has no {old!r}: the variant would test nothing"
        both(rec, lambda p: p.__setitem__(key, p[key].replace(old, new)))
    return mutate


def set_prop(name: str, fn: Callable[[dict[str, Any]], None]) -> Callable[[list[Rec]], None]:
    return lambda recs: both(one(recs, name), fn)


def ingress(cidr: str, low: int, high: int, protocol: str = "tcp") -> Callable[[list[Rec]], None]:
    field_ = "cidrIpv6" if ":" in cidr else "cidrIpv4"
    return lambda recs: clone(recs, "gpu-host-in-metrics-0", "gpu-host-in-bad", ipProtocol=protocol, fromPort=low,
                              toPort=high, **{field_: cidr}, description="bad")


def launch_template(**overrides: Any) -> Callable[[list[Rec]], None]:
    def mutate(recs: list[Rec]) -> None:
        user_data = one(recs, "gpu-host-instance").inputs["userData"]
        inputs: dict[str, Any] = {
            "imageId": "ami-0123456789abcdef0", "instanceType": "g4dn.xlarge",
            "metadataOptions": {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1},
            "networkInterfaces": [{"associatePublicIpAddress": "false", "securityGroups": ["gpu-host-sg-id"]}],
            "blockDeviceMappings": [{"deviceName": "/dev/xvda",
                                     "ebs": {"encrypted": "true", "volumeSize": 100, "volumeType": "gp3"}}],
            "userData": base64.b64encode(user_data.encode()).decode(), **overrides}
        recs.append(Rec(tp.LAUNCH_TEMPLATE, "fleet-lt", inputs,
                        {**copy.deepcopy(inputs), "id": "fleet-lt-id", "arn": "arn:aws:mock:us-east-1:123456789012:fleet-lt"}))
    return mutate


def drop(name: str) -> Callable[[list[Rec]], None]:
    return lambda recs: recs.remove(one(recs, name))


def _port(internal: int, fn: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def mutate(props: dict[str, Any]) -> None:
        ports = [p for p in props["ports"] if int(p["internal"]) == internal]
        assert ports, f"no published container port {internal}"
        fn(ports[0])
    return mutate


def _upload_config(props: dict[str, Any]) -> None:
    props["uploads"] = [{"file": "/home/model-server/config.properties",
                         "content": "enable_model_api=true\nallowed_urls=file:///home/model-server/model-store/.*\n"}]


def _tls_statement_only_allows(props: dict[str, Any]) -> None:
    doc = json.loads(props["policy"])
    doc["Statement"] = [s for s in doc["Statement"] if s.get("Sid") != "TlsOnly"]
    props["policy"] = json.dumps(doc)


TLS_DENY = text_edit("models-policy", "policy", '"Effect": "Deny", "Principal": "*", "Resource": [',
                     '"Effect": "Allow", "Principal": "*", "Resource": [')

# (name, base stack, the policy meant to refuse it, mutation)
def _task(fn: Callable[[dict[str, Any]], None], container: str = "torchserve") -> Callable[[dict[str, Any]], None]:
    """Edit one container of the fleet's task definition (its containerDefinitions JSON)."""
    def edit(props: dict[str, Any]) -> None:
        defs = json.loads(props["containerDefinitions"])
        fn([d for d in defs if d["name"] == container][0])
        props["containerDefinitions"] = json.dumps(defs)
    return edit


def _env_edit(old: str, new: str) -> Callable[[dict[str, Any]], None]:
    def edit(c: dict[str, Any]) -> None:
        env = [e for e in c["environment"] if e["name"] == "TS_CONFIG_PROPERTIES"][0]
        assert old in env["value"]
        env["value"] = env["value"].replace(old, new)
    return edit


VARIANTS: list[tuple[str, str, str, Callable[[list[Rec]], None]]] = [
    ("fleet task maps management 8081", "fleet", "management-ports-loopback-only",
     set_prop("fleet-task", _task(lambda c: c["portMappings"].append(
         {"containerPort": 8081, "hostPort": 8081, "protocol": "tcp"})))),
    ("fleet task enables the model API", "fleet", "torchserve-config-locked-down",
     set_prop("fleet-task", _task(_env_edit("enable_model_api=false", "enable_model_api=true")))),
    ("fleet task container privileged", "fleet", "ecs-tasks-hardened",
     set_prop("fleet-task", _task(lambda c: c.__setitem__("privileged", True)))),
    ("fleet init container with a writable root", "fleet", "ecs-tasks-hardened",
     set_prop("fleet-task", _task(lambda c: c.__setitem__("readonlyRootFilesystem", False), "model-sync"))),
    ("fleet task keeps capabilities", "fleet", "ecs-tasks-hardened",
     set_prop("fleet-task", _task(lambda c: c["linuxParameters"].pop("capabilities")))),
    ("fleet task as root", "fleet", "ecs-tasks-hardened",
     set_prop("fleet-task", _task(lambda c: c.__setitem__("user", "0")))),
    ("container publishes 8081 on 0.0.0.0", "dev", "management-ports-loopback-only",
     set_prop("torchserve-container", _port(8081, lambda p: p.__setitem__("ip", "0.0.0.0")))),
    ("container publishes 7071 with no ip (Docker's 0.0.0.0)", "dev", "management-ports-loopback-only",
     set_prop("torchserve-container", _port(7071, lambda p: p.pop("ip")))),
    ("container on host networking", "dev", "management-ports-loopback-only",
     set_prop("torchserve-container", lambda p: p.__setitem__("networkMode", "host"))),
    ("enable_model_api=true in config.properties", "dev", "torchserve-config-locked-down",
     text_edit("torchserve-files-0", "stdin", "enable_model_api=false", "enable_model_api=true")),
    ("allowed_urls lets https:// in", "dev", "torchserve-config-locked-down",
     text_edit("torchserve-files-0", "stdin", "allowed_urls=file:///home/model-server/model-store/.*",
               "allowed_urls=file:///home/model-server/model-store/.*,https://.*")),
    ("container upload of config.properties with enable_model_api=true", "dev", "torchserve-config-locked-down",
     set_prop("torchserve-container", _upload_config)),
    ("staging host without auth after its edge key rules are gone", "staging", "token-auth-unless-edge",
     lambda recs: [recs.remove(one(recs, n)) for n in ("edge-key-0", "edge-key-1")]),
    ("fleet task without auth behind a wildcard key rule", "fleet", "token-auth-unless-edge",
     lambda recs: [both(one(recs, n), lambda p: p.__setitem__("conditions", [
         {"httpHeader": {"httpHeaderName": "Authorization", "values": ["Bearer *"]}}])) for n in ("edge-key-0", "edge-key-1")]),
    ("instance allows IMDSv1 (httpTokens optional)", "staging", "imdsv2-required",
     set_prop("gpu-host-instance", lambda p: p["metadataOptions"].__setitem__("httpTokens", "optional"))),
    ("instance asks for a public IP", "staging", "no-public-ip-on-hosts",
     set_prop("gpu-host-instance", lambda p: p.__setitem__("associatePublicIpAddress", True))),
    ("instance leaves associatePublicIpAddress unset", "staging", "no-public-ip-on-hosts",
     set_prop("gpu-host-instance", lambda p: p.pop("associatePublicIpAddress"))),
    ("user data publishes 8081 on 0.0.0.0", "staging", "management-ports-loopback-only",
     text_edit("gpu-host-instance", "userData", "127.0.0.1:8081:8081", "0.0.0.0:8081:8081")),
    ("user data enables the model API", "staging", "torchserve-config-locked-down",
     text_edit("gpu-host-instance", "userData", "enable_model_api=false", "enable_model_api=true")),
    ("SG rule 22 from 0.0.0.0/0", "staging", "no-public-ssh", ingress("0.0.0.0/0", 22, 22)),
    ("SG rule 22 from 0.0.0.0/1", "staging", "no-public-ssh", ingress("0.0.0.0/1", 22, 22)),
    ("SG rule all ports (-1) from 8.8.8.0/24", "staging", "no-public-ssh", ingress("8.8.8.0/24", -1, -1, "-1")),
    ("SG rule 8081 from 10.0.0.0/8", "staging", "no-management-port-ingress", ingress("10.0.0.0/8", 8081, 8081)),
    ("SG rule 7000-9000 from the VPC (covers 7071)", "staging", "no-management-port-ingress",
     ingress("10.42.0.0/16", 7000, 9000)),
    ("SG rule 8080 from ::/0", "staging", "serving-ports-private", ingress("::/0", 8080, 8080)),
    ("inline SG ingress 7070-7071 from 0.0.0.0/0", "staging", "no-management-port-ingress",
     set_prop("gpu-host-sg", lambda p: p.__setitem__("ingress", [
         {"protocol": "tcp", "fromPort": 7070, "toPort": 7071, "cidrBlocks": ["0.0.0.0/0"]}]))),
    ("unencrypted EBS volume", "staging", "volumes-encrypted",
     set_prop("model-store-ebs", lambda p: p.__setitem__("encrypted", False))),
    ("unencrypted root device", "staging", "volumes-encrypted",
     set_prop("gpu-host-instance", lambda p: p["rootBlockDevice"].__setitem__("encrypted", False))),
    ("HTTP listener forwarding on the internet-facing ALB", "staging", "internet-listeners-https-only",
     set_prop("edge-http", lambda p: p.__setitem__("defaultActions", [
         {"type": "forward", "targetGroupArn": "arn:aws:mock:us-east-1:123456789012:edge-tg"}]))),
    ("HTTPS listener with ELBSecurityPolicy-2016-08", "staging", "internet-listeners-https-only",
     set_prop("edge-https", lambda p: p.__setitem__("sslPolicy", "ELBSecurityPolicy-2016-08"))),
    ("bucket without its TLS-deny policy", "staging", "buckets-tls-only", drop("models-policy")),
    ("bucket policy without the TlsOnly statement", "staging", "buckets-tls-only",
     set_prop("models-policy", _tls_statement_only_allows)),
    ("bucket policy's TLS statement turned to Allow", "staging", "buckets-tls-only", TLS_DENY),
    ("public access block with restrictPublicBuckets false", "staging", "buckets-tls-only",
     set_prop("models-public-access", lambda p: p.__setitem__("restrictPublicBuckets", False))),
    ("launch template with a public IP", "staging", "no-public-ip-on-hosts",
     launch_template(networkInterfaces=[{"associatePublicIpAddress": "true"}])),
    ("launch template with IMDSv1", "staging", "imdsv2-required",
     launch_template(metadataOptions={"httpTokens": "optional"})),
    ("launch template with an unencrypted EBS mapping", "staging", "volumes-encrypted",
     launch_template(blockDeviceMappings=[{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}])),
]

def _internal_http_forwarding(recs: list[Rec]) -> None:
    set_prop("edge-alb", lambda p: p.__setitem__("internal", True))(recs)
    set_prop("edge-http", lambda p: p.__setitem__("defaultActions", [{"type": "forward"}]))(recs)


# Variants that must NOT be refused (the pack is no blanket "no"): nothing new compared with the base.
GOOD_VARIANTS: list[tuple[str, str, Callable[[list[Rec]], None]]] = [
    ("internal ALB with a plain HTTP forwarding listener", "staging", _internal_http_forwarding),
    ("SSH from a private admin range", "staging", ingress("10.9.0.0/24", 22, 22)),
    ("inference from a private IPv6 range", "staging", ingress("fd00:1::/64", 8080, 8080)),
    ("launch template done right (base64 user data, loopback management)", "staging", launch_template()),
]


def _new_violations(stack: str, mutate: Callable[[list[Rec]], None]) -> list[Violation]:
    base = set(check(recorded(stack), stack))
    recs = copy.deepcopy(list(recorded(stack)))
    mutate(recs)
    return [v for v in check(recs, stack) if v not in base]


def test_every_bad_variant_is_refused() -> None:
    rows, missed = [], []
    for name, stack, expected, mutate in VARIANTS:
        refused_by = sorted({v.policy for v in _new_violations(stack, mutate)})
        rows.append(f"  {'REFUSED' if refused_by else 'PASSED '} {stack:8} {name:62} {', '.join(refused_by) or '-'}")
        if expected not in refused_by:
            missed.append(f"{name} (expected {expected}, refused by {refused_by or 'nothing'})")
    table = f"{len(VARIANTS)} bad variants:\n" + "\n".join(rows)
    print(table)
    assert len(VARIANTS) >= 12
    assert not missed, "variants not refused by their policy:\n  " + "\n  ".join(missed) + "\n" + table


@pytest.mark.parametrize("name,stack,mutate", GOOD_VARIANTS, ids=[g[0] for g in GOOD_VARIANTS])
def test_good_variants_are_not_refused(name: str, stack: str, mutate: Callable[[list[Rec]], None]) -> None:
    new = _new_violations(stack, mutate)
    assert not new, f"{name} was refused:\n{_listing(new)}"


def test_listener_resolves_its_load_balancer_by_dependency() -> None:
    """Under the CLI the engine links a listener to its load balancer (propertyDependencies) even when the
    ARN is not known yet; an unresolvable load balancer counts as internet-facing."""
    def stack(internal: bool, linked: bool) -> list[str]:
        lb = PolicyResource("aws:lb/loadBalancer:LoadBalancer", {"internal": internal}, "urn:lb", "lb", OPTS, None,
                            None, [], {})
        listener = PolicyResource("aws:lb/listener:Listener", {"protocol": "HTTP", "defaultActions": [{"type": "forward"}],
                                  "loadBalancerArn": "arn:not-in-this-stack"}, "urn:l", "l", OPTS, None, None, [],
                                  {"loadBalancerArn": [lb]} if linked else {})
        found: list[str] = []

        def report(message: str, urn: str | None = None) -> None:
            found.append(message)

        tp.internet_listeners_https_only(StackValidationArgs([lb, listener]), report)
        return found

    assert stack(internal=True, linked=True) == []
    assert len(stack(internal=False, linked=True)) == 1
    assert len(stack(internal=True, linked=False)) == 1


# ---- (c) the pack as the CLI loads it -----------------------------------------------------------------------

def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    return json_format.ParseDict(values, struct_pb2.Struct())


def test_pack_loads_and_answers_like_the_cli_runs_it() -> None:
    project = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert project["runtime"] == "python" and project["description"]
    pins = (POLICY_DIR / "requirements.txt").read_text().split()
    assert "pulumi-policy==1.21.0" in pins and "pulumi==3.272.0" in pins
    # What the CLI's Python policy analyzer runs: python -m pulumi.policy <engine> <pack dir>; the pack prints
    # the port of its Analyzer server, then serves until killed.
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", str(POLICY_DIR)],
                            cwd=POLICY_DIR, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert proc.stdout is not None and proc.stderr is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        line = proc.stdout.readline() if ready else b""
        if not line.strip().isdigit():
            proc.kill()
            pytest.fail(f"the pack printed no port: {line!r}\n{proc.stderr.read().decode()}")
        with grpc.insecure_channel(f"127.0.0.1:{int(line)}") as channel:
            stub = analyzer_pb2_grpc.AnalyzerStub(channel)
            info = stub.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
            assert info.name == "torchserve-deploy"
            assert [p.name for p in info.policies] == [p.name for p in tp.POLICIES]
            assert {p.enforcementLevel for p in info.policies} == {analyzer_pb2.MANDATORY}

            instance = copy.deepcopy(next(r for r in recorded("staging") if r.typ == tp.INSTANCE))
            instance.inputs["metadataOptions"]["httpTokens"] = "optional"
            answer = stub.Analyze(analyzer_pb2.AnalyzeRequest(
                type=instance.typ, name=instance.name, urn=instance.urn("staging"),
                properties=_struct(instance.inputs)), timeout=30)
            assert [(d.policyName, d.enforcementLevel) for d in answer.diagnostics] == [
                ("imdsv2-required", analyzer_pb2.MANDATORY)], answer
            assert "gpu-host-instance" in answer.diagnostics[0].message

            bucket = next(r for r in recorded("staging") if r.typ == "aws:s3/bucket:Bucket")
            answer = stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=[analyzer_pb2.AnalyzerResource(
                type=bucket.typ, name=bucket.name, urn=bucket.urn("staging"), properties=_struct(bucket.state))]),
                timeout=30)
            assert {d.policyName for d in answer.diagnostics} == {"buckets-tls-only"}, answer
            assert all(d.urn == bucket.urn("staging") for d in answer.diagnostics)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
