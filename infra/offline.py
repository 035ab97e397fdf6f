"""Evaluate components and the whole program offline, under `pulumi.runtime` mocks, recording every
registration: the test suite's middle layers and `make snapshot` both use it (no Pulumi CLI needed)."""
from __future__ import annotations

import hashlib
import json
import os
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.yaml_strict import load_yaml

from infra.settings import Settings, load_settings
from infra.settings.keys import KEYS

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
SECRET_CAPABLE = frozenset(k.name for k in KEYS if k.meta.secret)
SECRET_PLACEHOLDER = "https://secret.invalid/simple"


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict
    custom: bool
    outputs: dict = field(default_factory=dict)
    """The mock's state for it, with its `id` (what other resources' inputs and dimensions may refer to)."""


class RecordingMocks(pulumi.runtime.Mocks):
    """Echoes inputs as state and records each registration, as awsx's tests do."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []
        self.calls: list[tuple[str, dict]] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), bool(args.custom)))
        state = dict(args.inputs)
        if args.typ == "aws:ecr/repository:Repository":
            state["repositoryUrl"] = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/{args.inputs['name']}"
            state["registryId"] = "123456789012"
        arn = f"arn:aws:mock:us-east-1:123456789012:{args.name}"
        if args.typ.startswith("aws:"):
            state.setdefault("arn", arn)
        if args.typ == "aws:s3/bucket:Bucket":
            state["bucket"] = f"{args.inputs.get('bucketPrefix', '')}mock"
        if args.typ == "aws:ec2/instance:Instance":
            state.update(publicIp="203.0.113.10", privateIp="10.0.1.10")
        if args.typ == "aws:iam/role:Role":
            state.setdefault("name", args.name)
        if args.typ == "aws:cloudwatch/logGroup:LogGroup":
            state["arn"] = f"arn:aws:logs:us-east-1:123456789012:log-group:{args.inputs['name']}"
        if args.typ == "docker:index/image:Image":
            # Provider-computed: with skip_push the local image ID; pushed, the registry's repo@sha256 digest.
            digest = "sha256:" + hashlib.sha256(json.dumps(args.inputs, sort_keys=True).encode()).hexdigest()
            pushed = args.inputs.get("skipPush") is False
            state["repoDigest"] = f"{args.inputs['imageName'].rsplit(':', 1)[0]}@{digest}" if pushed else digest
        if args.typ == "aws:lb/loadBalancer:LoadBalancer":
            state.update(dnsName=f"{args.name}-123456.us-east-1.elb.amazonaws.com", zoneId="Z35SXDOTRQ7X7K",
                         arnSuffix=f"app/{args.name}/0123456789abcdef")
        if args.typ == "aws:lb/targetGroup:TargetGroup":
            state["arnSuffix"] = f"targetgroup/{args.name}/0123456789abcdef"
        if args.typ == "aws:acm/certificate:Certificate":
            state["domainValidationOptions"] = [{"domainName": args.inputs["domainName"],
                                                 "resourceRecordName": f"_x1.{args.inputs['domainName']}.",
                                                 "resourceRecordType": "CNAME",
                                                 "resourceRecordValue": "_x2.acm-validations.aws."}]
        if args.typ == "aws:acm/certificateValidation:CertificateValidation":
            state["certificateArn"] = args.inputs["certificateArn"]
        if args.typ == "aws:route53/record:Record":
            state["fqdn"] = str(args.inputs["name"]).rstrip(".")
        if args.typ == "random:index/randomPassword:RandomPassword":
            state["result"] = hashlib.sha256(args.name.encode()).hexdigest()[:int(args.inputs["length"])]
        if args.typ == "aws:ec2/vpc:Vpc":
            state["cidrBlock"] = args.inputs["cidrBlock"]
        resource_id = {"aws:ebs/volume:Volume": "vol-0123456789abcdef0",
                       "aws:ec2/instance:Instance": "i-0123456789abcdef0"}.get(args.typ, f"{args.name}-id")
        self.resources[-1].outputs = {**state, "id": resource_id}
        return [resource_id, state]

    def call(self, args: pulumi.runtime.MockCallArgs):
        self.calls.append((args.token, dict(args.args)))
        if args.token == "aws:ssm/getParameter:getParameter":
            return {"name": args.args["name"], "value": "ami-0123456789abcdef0", "type": "String"}
        if args.token == "aws:ec2/getVpc:getVpc":
            return {"id": args.args.get("id", "vpc-0default"), "default": "id" not in args.args,
                    "cidrBlock": "10.40.0.0/16"}
        if args.token == "aws:index/getAvailabilityZones:getAvailabilityZones":
            return {"names": ["us-east-1b", "us-east-1a", "us-east-1c"], "zoneIds": ["use1-az2", "use1-az1", "use1-az4"]}
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {"accountId": "123456789012", "arn": "arn:aws:sts::123456789012:assumed-role/deployer/session",
                    "userId": "AROAEXAMPLE:session"}
        if args.token == "aws:iam/getSessionContext:getSessionContext":
            return {"arn": args.args["arn"], "issuerArn": "arn:aws:iam::123456789012:role/deployer",
                    "issuerName": "deployer", "sessionName": "session"}
        if args.token == "aws:kms/getKey:getKey":
            key = args.args["keyId"]
            return {"keyId": key, "arn": key if key.startswith("arn:") else
                    f"arn:aws:kms:us-east-1:123456789012:key/{hashlib.sha256(key.encode()).hexdigest()[:8]}"}
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0bbbbbbbbbbbbbbbb", "subnet-0aaaaaaaaaaaaaaaa"]}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args["id"], "vpcId": "vpc-0default", "availabilityZone": "us-east-1a"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId", "123456789012")
            return {"userName": "AWS", "password": "mock-ecr-password", "registryId": registry,
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.us-east-1.amazonaws.com"}
        return {}


def _engine_value(value: Any) -> str:
    """Config values as the engine hands them to the program: strings, JSON for structured values."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)


def stack_config(stack: str, text: str | None = None) -> dict[str, Any]:
    """The committed stack file's config block (repeated keys refused, as the engine does); `text` stands in
    for the file's content (a change about to be written)."""
    path = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(committed_stacks())
        raise ValidationError("stack", stack, f"a committed stack: {known}", f"use STACK=<one of {known}>")
    data = load_yaml(path.read_text(encoding="utf-8") if text is None else text, f"stacks/{path.name}") or {}
    if not isinstance(data, dict) or not isinstance(data.get("config") or {}, dict):
        raise ValidationError(f"stacks/{path.name}", "(its top level)", "a mapping with a `config:` mapping",
                              "keep the file as `pulumi config set` writes it: config: {key: value, ...}")
    return dict(data.get("config") or {})


def offline_config(stack: str, overrides: dict[str, Any] | None = None,
                   text: str | None = None) -> tuple[dict[str, Any], frozenset[str]]:
    """The config the engine would hand the program, without the CLI: a `{secure: ...}` value cannot be
    decrypted here, so a key that may hold a secret gets a placeholder and is marked secret (renderings
    then show [secret] or an environment reference, never the blob); any other secure key is refused."""
    config = {**stack_config(stack, text), **{f"{PROJECT}:{k}": val for k, val in (overrides or {}).items()}}
    secrets = set()
    for key, value in list(config.items()):
        if isinstance(value, dict) and set(value) == {"secure"}:
            ns, _, name = key.partition(":")
            if ns != PROJECT or name not in SECRET_CAPABLE:
                raise ValidationError(key, "[secure value]", "a plain value (only " + ", ".join(sorted(SECRET_CAPABLE))
                                      + " may be secrets)", f"pulumi config set {key} <value> (without --secret)")
            config[key] = SECRET_PLACEHOLDER
            secrets.add(key)
    return config, frozenset(secrets)


def stack_settings(stack: str, text: str | None = None) -> Settings:
    """The committed stack's settings, validated (`text`: the stack file's content about to be written)."""
    config, secrets = offline_config(stack, text=text)
    return load_settings({k: _engine_value(val) for k, val in config.items()}, stack=stack, root=ROOT,
                         secret_keys=secrets)


def committed_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def run_under_mocks(fn: Callable[[], Any], *, stack: str = "test", config: dict[str, Any] | None = None,
                    mocks: RecordingMocks | None = None, secret_keys: frozenset[str] = frozenset()) -> RecordingMocks:
    mocks = mocks or RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config({k: _engine_value(v) for k, v in (config or {}).items()}, sorted(secret_keys))

    @pulumi.runtime.test
    def body():
        return fn()

    body()
    return mocks


def evaluate_program(stack: str, overrides: dict[str, Any] | None = None,
                     mocks: RecordingMocks | None = None) -> list[Registered]:
    """Run infra/__main__.py for a committed stack from inside infra/, as the engine would.
    Pass `mocks` to see what was registered even when the program fails."""
    config, secrets = offline_config(stack, overrides)
    return run_program(stack, config, secret_keys=secrets, mocks=mocks).resources


def _program() -> None:
    cwd = os.getcwd()
    os.chdir(INFRA)
    try:
        runpy.run_path(str(INFRA / "__main__.py"), run_name="__main__")
    finally:
        os.chdir(cwd)


def run_program(stack: str, config: dict[str, Any], *, secret_keys: frozenset[str] = frozenset(),
                mocks: RecordingMocks | None = None) -> RecordingMocks:
    """infra/__main__.py under mocks with exactly `config` (full keys), from inside infra/ as the engine runs it."""
    return run_under_mocks(_program, stack=stack, config=config, mocks=mocks, secret_keys=secret_keys)


