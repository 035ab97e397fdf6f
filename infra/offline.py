"""Evaluate components and the whole program offline, under `pulumi.runtime` mocks, recording every
registration: the test suite's middle layers, `make snapshot`, the tuner and the Makefile's helpers use it
(no Pulumi CLI needed).

The program gets exactly what the Pulumi CLI would hand it (infra/pulumi_cli): the stack file read as yaml.v3
reads it, Pulumi.yaml's defaults merged in, declared types checked, every value a string, secrets decrypted
and listed. It runs from inside infra/ under a monitor that refuses what the engine refuses (duplicate URNs,
names AWS cannot take, ...) and, in preview mode, leaves unknown what a real preview leaves unknown.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError

from infra.pulumi_cli import goyaml
from infra.pulumi_cli.config_map import decrypt, secure_keys
from infra.pulumi_cli.monitor import EngineError, EngineMonitor
from infra.pulumi_cli.project import Project, load_project, merge_config, stack_from_yaml
from infra.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
INFRA = ROOT / "infra"
# A stack file's ciphertext cannot be decrypted here (its passphrase or KMS key is not): it decrypts to this,
# valid for the keys that may hold secrets (URLs); values encrypted by this harness decrypt to themselves.
SECRET_PLACEHOLDER = "https://secret.invalid/simple"
OFFLINE_CIPHER = "offline:"
REMOVE = object()
"""An override that takes the key out of the stack file."""


class LateRefusal(Exception):
    """The program failed after resources were registered (inside an apply, or in a late component)."""


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
        self.monitor: EngineMonitor | None = None
        self.zone_name = "ml.example.com."
        self.vpc_cidr = "10.40.0.0/16"

    def record(self, args: pulumi.runtime.MockResourceArgs) -> None:
        self.resources.append(Registered(args.typ, args.name, dict(args.inputs), bool(args.custom)))

    def new_resource(self, args: pulumi.runtime.MockResourceArgs):
        self.record(args)
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
                    "cidrBlock": self.vpc_cidr}
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
        if args.token == "aws:route53/getZone:getZone":  # the committed stacks' example zone
            return {"zoneId": args.args.get("zoneId"), "name": self.zone_name, "privateZone": False}
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0bbbbbbbbbbbbbbbb", "subnet-0aaaaaaaaaaaaaaaa"]}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args["id"], "vpcId": "vpc-0default", "availabilityZone": "us-east-1a"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId", "123456789012")
            return {"userName": "AWS", "password": "mock-ecr-password", "registryId": registry,
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.us-east-1.amazonaws.com"}
        return {}


def _encrypt(text: str) -> str:
    return OFFLINE_CIPHER + base64.b64encode(text.encode()).decode()


def _decrypt(ciphertext: str) -> str:
    if ciphertext.startswith(OFFLINE_CIPHER):
        return base64.b64decode(ciphertext[len(OFFLINE_CIPHER):]).decode()
    return SECRET_PLACEHOLDER


def secret(text: str) -> dict[str, str]:
    """What `pulumi config set --secret` writes into a stack file for `text`, with this harness's cipher."""
    return {"secure": _encrypt(text)}


@cache
def project() -> Project:
    """Pulumi.yaml as the CLI loads it."""
    return load_project((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))


def committed_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def stack_file_text(stack: str) -> str:
    """The committed stack file (the one place this harness reads it)."""
    path = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(committed_stacks())
        raise ValidationError("stack", stack, f"a committed stack: {known}", f"use STACK=<one of {known}>")
    return path.read_text(encoding="utf-8")


def _stack_yaml(stack: str, text: str | None) -> Any:
    where = f"stacks/Pulumi.{stack}.yaml"
    try:
        data = goyaml.load(stack_file_text(stack) if text is None else text)
    except goyaml.GoYamlError as err:
        raise ValidationError(where, str(err), "YAML the Pulumi CLI reads (each key once)", f"fix {where}") from None
    if data is not None and (not isinstance(data, dict) or not isinstance(data.get("config") or {}, dict)):
        raise ValidationError(where, "(its top level)", "a mapping with a `config:` mapping",
                              "keep the file as `pulumi config set` writes it: config: {key: value, ...}")
    return data or {}


def stack_config(stack: str, text: str | None = None) -> dict[str, Any]:
    """The stack file's own config block as written (yaml.v3's reading of it); `text` stands in for the file's
    content (a change about to be written)."""
    return dict(_stack_yaml(stack, text).get("config") or {})


def stack_environments(stack: str, text: str | None = None) -> Any:
    """The ESC environments the stack file imports (its `environment:`), or None."""
    return _stack_yaml(stack, text).get("environment")


@dataclass(frozen=True)
class EngineConfig:
    """What the language host hands the program: every key a string, and the keys holding secrets."""

    values: dict[str, str]
    secret_keys: frozenset[str]
    warnings: tuple[str, ...] = ()


def engine_config(stack: str, overrides: Mapping[str, Any] | None = None, *, text: str | None = None,
                  environment: Mapping[str, Any] | None = None, validate: bool = True) -> EngineConfig:
    """The stack's config as the CLI merges and hands it over. `overrides` ({short or full key: value as YAML
    would decode it, or REMOVE}) edit the stack file first; `environment` is the pulumiConfig of the ESC
    environments it imports (they cannot be opened here, so a stack importing one needs it); `validate=False`
    is `--skip-config-validation`. Raises ConfigError for what the CLI refuses before the program runs."""
    data = _stack_yaml(stack, text)
    config = dict(data.get("config") or {})
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is REMOVE:
            config.pop(full, None)
        else:
            config[full] = value
    if data.get("environment") is not None and environment is None:
        raise ValidationError(f"stacks/Pulumi.{stack}.yaml", "environment: " + json.dumps(data["environment"]),
                              "no ESC environment here: its values cannot be opened without Pulumi Cloud",
                              "evaluate the stack with the environment's pulumiConfig, or with the Pulumi CLI")
    parsed = stack_from_yaml(project(), {**data, "config": config})
    merge_config(stack, project(), parsed.config, environment=environment, encrypt=_encrypt, decrypt=_decrypt,
                 validate=validate)
    return EngineConfig(decrypt(parsed.config, _decrypt), frozenset(secure_keys(parsed.config)),
                        tuple(parsed.warnings))


def stack_host(stack: str) -> str:
    """The host the program will see: the stack's, else Pulumi.yaml's default."""
    return engine_config(stack).values[f"{PROJECT}:host"]


def stack_settings(stack: str, text: str | None = None) -> Settings:
    """The committed stack's settings, validated (`text`: the stack file's content about to be written)."""
    cfg = engine_config(stack, text=text)
    return load_settings(cfg.values, stack=stack, root=ROOT, secret_keys=cfg.secret_keys)


def run_under_mocks(fn: Callable[[], Any], *, stack: str = "test", config: Mapping[str, str] | None = None,
                    mocks: RecordingMocks | None = None, secret_keys: frozenset[str] = frozenset(),
                    preview: bool = False) -> RecordingMocks:
    """`fn` under the engine-faithful monitor with exactly `config` (full keys → strings, as the engine sends)."""
    mocks = mocks or RecordingMocks()
    mocks.monitor = EngineMonitor(mocks, preview=preview)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=mocks.monitor)
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys))

    @pulumi.runtime.test
    def body():
        return fn()

    try:
        body()
    except Exception as err:
        if mocks.monitor.errors:  # the engine's refusal, not what it left behind in the program
            raise EngineError(mocks.monitor.errors[0]) from None
        if mocks.resources:  # a real `up` would stop here with these already created: a half-built stack
            raise LateRefusal(f"the program failed after {len(mocks.resources)} resources were registered "
                              f"({type(err).__name__}: {str(err)[:300]}): every check must run before the "
                              "first resource") from err
        raise
    if mocks.monitor.errors:
        raise EngineError(mocks.monitor.errors[0])
    return mocks


def program_in(directory: Path) -> Callable[[], None]:
    """A Pulumi program folder's __main__.py, run from inside the folder as the language host runs it."""
    def program() -> None:
        cwd = os.getcwd()
        os.chdir(directory)
        try:
            runpy.run_path(str(directory / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(cwd)
    return program


def run_program(stack: str, config: EngineConfig, *, mocks: RecordingMocks | None = None,
                preview: bool = False) -> RecordingMocks:
    """infra/__main__.py under mocks with exactly `config`, from inside infra/ as the engine runs it."""
    return run_under_mocks(program_in(INFRA), stack=stack, config=config.values, mocks=mocks, secret_keys=config.secret_keys,
                           preview=preview)


def evaluate_program(stack: str, overrides: Mapping[str, Any] | None = None, mocks: RecordingMocks | None = None,
                     *, preview: bool = False, environment: Mapping[str, Any] | None = None) -> list[Registered]:
    """A committed stack (with `overrides` in its stack file) as `pulumi up` (or `pulumi preview`) runs it.
    Pass `mocks` to see what was registered even when the program fails."""
    return run_program(stack, engine_config(stack, overrides, environment=environment), mocks=mocks,
                       preview=preview).resources
