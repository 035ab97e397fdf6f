"""The mocks every offline evaluation uses: they echo inputs as outputs, add the few outputs providers compute that
the program reads (ARNs, URLs, digests, IDs) and record each registration, as awsx's tests do."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import pulumi

from infra.pulumi_cli.monitor import EngineMonitor


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
        self.vpc_secondary_cidrs: list[str] = []
        self.private_zone = False

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
                    "cidrBlock": self.vpc_cidr,
                    "cidrBlockAssociations": [{"cidrBlock": c, "associationId": f"assoc-{i}", "state": "associated"}
                                              for i, c in enumerate(self.vpc_secondary_cidrs)]}
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
            return {"zoneId": args.args.get("zoneId"), "name": self.zone_name, "privateZone": self.private_zone}
        if args.token == "aws:ec2/getSubnets:getSubnets":
            return {"ids": ["subnet-0bbbbbbbbbbbbbbbb", "subnet-0aaaaaaaaaaaaaaaa"]}
        if args.token == "aws:ec2/getSubnet:getSubnet":
            return {"id": args.args["id"], "vpcId": "vpc-0default", "availabilityZone": "us-east-1a"}
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            registry = args.args.get("registryId", "123456789012")
            return {"userName": "AWS", "password": "mock-ecr-password", "registryId": registry,
                    "proxyEndpoint": f"https://{registry}.dkr.ecr.us-east-1.amazonaws.com"}
        return {}


