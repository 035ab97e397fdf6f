"""GpuHost: one EC2 GPU instance that runs the serving container under systemd, in a private subnet.

Creates (children named `<name>-…`): a security group (inference and the health endpoint only from the
edge's security group, or from private `inference_cidrs` when there is no edge; 8082 from the private
monitoring CIDR; 22 only from private admin CIDRs; never 8081 or 7071; out only HTTPS and DNS, plus HTTP
when the host installs packages), an IAM role and instance profile (Session Manager, pull from one ECR
repository, write one CloudWatch log group, read the model bucket's prefix, decrypt with the stack's KMS
key), the log group (KMS-encrypted when a key is given), the instance (no public IP, IMDSv2 required with
hop limit 1, encrypted gp3 root, user data from aws/user_data.py), the attachment of the EBS model store,
and the instance's registration with the edge's target group.

The instance is replaced when its user data changes (a new image or archive); the model store is a
separate volume, so it is detached and re-attached, never recreated.
Outputs: `instance_id`, `private_ip`, `security_group_id`, `role_name`.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from torchserve_deploy import validators as v
from torchserve_deploy.aws.gpu_catalog import gpu_family
from torchserve_deploy.aws.host_egress import host_egress
from torchserve_deploy.aws.host_iam import assume_ec2, host_policy
from torchserve_deploy.aws.limits import aws_id, log_retention
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.serve.config_properties import ServerPorts

SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


@dataclass(frozen=True)
class GpuHostArgs:
    instance_type: str
    ami_id: pulumi.Input[str]
    pin_ami: bool
    """True: `ami_id` is a pinned ID. False: it was resolved from a moving SSM parameter, so later
    changes are ignored and never replace the instance silently."""
    subnet_id: pulumi.Input[str]
    vpc_id: pulumi.Input[str]
    user_data: pulumi.Input[str]
    model_store_volume_id: pulumi.Input[str]
    log_group_name: str
    ecr_repository_arn: pulumi.Input[str]
    model_bucket_arn: pulumi.Input[str]
    model_prefix: str = "models/"
    host_ports: ServerPorts = ServerPorts()
    vpc_cidr: pulumi.Input[str] = "10.0.0.0/8"
    """DNS goes to the VPC's resolver."""
    edge_security_group_id: pulumi.Input[str] | None = None
    """The edge load balancer's group: the only source of inference and health traffic when given."""
    target_group_arn: pulumi.Input[str] | None = None
    """The edge's target group the instance registers with."""
    inference_cidrs: tuple[str, ...] = ()
    inference_security_group_id: str | None = None
    metrics_cidr: str | None = None
    ssh_cidrs: tuple[str, ...] = ()
    egress_http: bool = False
    """Allow plain HTTP out (the ubuntu route's apt mirrors); HTTPS and DNS are always allowed."""
    root_volume_gb: int = 100
    kms_key_arn: pulumi.Input[str] | None = None
    """The key's ARN (IAM, CloudWatch Logs and the root volume need the ARN, not an alias)."""
    log_retention_days: int = 30
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        a = "GpuHostArgs."
        gpu_family(a + "instance_type", self.instance_type)
        # Range arithmetic, v4 and v6: only private ranges reach the host (public clients use the edge).
        v.private_cidrs(a + "inference_cidrs", self.inference_cidrs)
        v.private_cidrs(a + "ssh_cidrs", self.ssh_cidrs)
        if self.metrics_cidr is not None:
            v.private_cidrs(a + "metrics_cidr", [self.metrics_cidr])
        if self.inference_security_group_id is not None:
            aws_id(a + "inference_security_group_id", self.inference_security_group_id, "sg")
        for name, number in (("inference", self.host_ports.inference), ("metrics", self.host_ports.metrics)):
            v.port(f"{a}host_ports.{name}", number, low=v.UNPRIVILEGED_PORTS[0])
        if self.edge_security_group_id is None and not self.inference_cidrs and not self.inference_security_group_id:
            raise ValidationError(a + "inference_cidrs", [], "private client CIDRs when there is no edge",
                                  "pass edge_security_group_id, inference_cidrs or inference_security_group_id")
        if self.root_volume_gb < 75:
            raise ValidationError(a + "root_volume_gb", self.root_volume_gb, "at least 75 (the DLAMI root snapshot)",
                                  "use 100")
        log_retention(a + "log_retention_days", self.log_retention_days)


def _source(cidr: str) -> dict[str, pulumi.Input[str]]:
    """An IPv6 range goes in cidr_ipv6: the same text in cidr_ipv4 is refused by EC2."""
    return {"cidr_ipv6" if ipaddress.ip_network(cidr).version == 6 else "cidr_ipv4": cidr}


class GpuHost(pulumi.ComponentResource):
    """An EC2 GPU instance serving TorchServe (see module docstring)."""

    instance_id: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    security_group_id: pulumi.Output[str]
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: GpuHostArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:host:GpuHost", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=args.log_group_name, kms_key_id=args.kms_key_arn,
                                                 retention_in_days=args.log_retention_days, tags=tags, opts=child)
        self.security_group = self._security_group(name, args, tags)
        self.role, profile = self._role(name, args, tags)
        self.instance = aws.ec2.Instance(
            f"{name}-instance",
            ami=args.ami_id,
            instance_type=args.instance_type,
            subnet_id=args.subnet_id,
            vpc_security_group_ids=[self.security_group.id],
            iam_instance_profile=profile.name,
            # Private subnet, no public address: clients come through the edge, admins through Session Manager.
            associate_public_ip_address=False,
            # IMDSv2 only; hop limit 1 keeps bridge-networked containers away from the role's credentials.
            metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_size=args.root_volume_gb, volume_type="gp3", encrypted=True, kms_key_id=args.kms_key_arn,
                delete_on_termination=True),
            user_data=args.user_data,
            user_data_replace_on_change=True,
            tags={**tags, "Name": name},
            # The old instance goes first so the model-store volume can move to the new one.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True,
                                        ignore_changes=[] if args.pin_ami else ["ami"]),
        )
        self.attachment = aws.ec2.VolumeAttachment(
            f"{name}-model-store", device_name="/dev/sdf", instance_id=self.instance.id,
            volume_id=args.model_store_volume_id, stop_instance_before_detaching=True, opts=child)
        if args.target_group_arn is not None:
            aws.lb.TargetGroupAttachment(f"{name}-target", target_group_arn=args.target_group_arn,
                                         target_id=self.instance.id, port=args.host_ports.inference, opts=child)
        self.instance_id = self.instance.id
        self.private_ip = self.instance.private_ip
        self.security_group_id = self.security_group.id
        self.role_name = self.role.name
        self.register_outputs({"instance_id": self.instance_id, "private_ip": self.private_ip,
                               "security_group_id": self.security_group_id, "role_name": self.role_name})

    def _security_group(self, name: str, args: GpuHostArgs, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, tags=tags,
                                      description="TorchServe GPU host: inference, health and metrics only", opts=child)
        hp = args.host_ports
        rules: list[tuple[str, int, dict[str, pulumi.Input[str]]]] = []
        if args.edge_security_group_id is not None:
            edge = {"referenced_security_group_id": args.edge_security_group_id}
            rules += [("edge-inference", hp.inference, edge), ("edge-health", hp.health, edge)]
        for cidr in args.inference_cidrs:
            rules.append(("inference", hp.inference, _source(cidr)))
        if args.inference_security_group_id:
            rules.append(("inference-lb", hp.inference, {"referenced_security_group_id": args.inference_security_group_id}))
        if args.metrics_cidr:
            rules.append(("metrics", hp.metrics, _source(args.metrics_cidr)))
        for cidr in args.ssh_cidrs:
            rules.append(("ssh", 22, _source(cidr)))
        # Management (8081) and gRPC management (7071) get no rule at all: they stay on the host's loopback.
        self.ingress = []
        counts: dict[str, int] = {}
        for role, port, source in rules:
            index = counts[role] = counts.get(role, -1) + 1  # one rule per source: <name>-in-<role>-<n>
            self.ingress.append(aws.vpc.SecurityGroupIngressRule(
                f"{name}-in-{role}-{index}", security_group_id=group.id, ip_protocol="tcp", from_port=port,
                to_port=port, description=f"{role} {port}", cidr_ipv4=source.get("cidr_ipv4"),
                cidr_ipv6=source.get("cidr_ipv6"), referenced_security_group_id=source.get("referenced_security_group_id"),
                opts=child))
        self.egress = host_egress(name, group.id, args.vpc_cidr, http=args.egress_http, parent=self)
        return group

    def _role(self, name: str, args: GpuHostArgs,
              tags: dict[str, str]) -> tuple[aws.iam.Role, aws.iam.InstanceProfile]:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=assume_ec2(), tags=tags, opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-ssm", role=role.name, policy_arn=SSM_POLICY, opts=child)
        policy = pulumi.Output.all(args.ecr_repository_arn, args.model_bucket_arn, self.log_group.arn,
                                   args.kms_key_arn).apply(
            lambda a: host_policy(a[0], a[1], args.model_prefix, a[2], a[3]))
        aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=policy, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, opts=child)
        return role, profile
