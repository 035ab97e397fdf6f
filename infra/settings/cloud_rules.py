"""Rules that values valid alone break together, or that AWS enforces only when the stack is created (pure; run by
checks.py before any resource): ARNs of another partition or region, AWS-managed KMS keys, IP families the edge's
load balancer cannot serve, security-group rule quotas, and a VPC range that collides with Docker's bridge."""
from __future__ import annotations

import ipaddress

from torchserve_deploy.aws.limits import RULES_PER_GROUP, edge_ranges
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError

from infra.settings.keys_ec2 import Ec2Section

P = PROJECT + ":"
# The bridge Docker creates on every host (docker0), EC2 and ECS instances included: a VPC range over it sends the
# containers' traffic for those addresses (VPC endpoints, DNS) into the bridge instead.
DOCKER_BRIDGE = ipaddress.ip_network("172.17.0.0/16")


def partition(region: str) -> str:
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"


def _arn(key: str, arn: str, region: str) -> None:
    parts = arn.split(":")
    if len(parts) > 4 and (parts[1] != partition(region) or parts[3] != region):
        raise ValidationError(key, arn, f"an ARN of the stack's partition and region (arn:{partition(region)}:...:"
                              f"{region}:...; a {parts[2] or 'resource'} of another region cannot be used here)",
                              f"use the one in {region}, or set aws:region to {parts[3]}")


def check_cloud(ec2: Ec2Section, region: str, *, host: str) -> None:
    if ec2.kms_key_id.split(":")[-1].startswith("alias/aws/"):
        raise ValidationError(P + "kmsKeyId", ec2.kms_key_id, "a customer managed key or its alias (an AWS managed key "
                              "such as alias/aws/ebs serves only its own service, and this key encrypts volumes, the "
                              "model bucket, logs and the inference key)", f"create a key and set {P}kmsKeyId to its "
                              f"alias, or clear {P}kmsKeyId to use AWS-managed encryption")
    if ec2.kms_key_id.startswith("arn:"):
        _arn(P + "kmsKeyId", ec2.kms_key_id, region)
    if ec2.certificate_arn:
        _arn(P + "certificateArn", ec2.certificate_arn, region)
    if not ec2.vpc_id and ipaddress.ip_network(ec2.vpc_cidr).overlaps(DOCKER_BRIDGE):
        raise ValidationError(P + "vpcCidr", ec2.vpc_cidr, f"a range that does not overlap {DOCKER_BRIDGE} (Docker's "
                              "bridge on every host)", f"pulumi config set {P}vpcCidr 10.42.0.0/16")
    clients = [("inferenceCidrs", c) for c in ec2.inference_cidrs] + [("sshCidrs", c) for c in ec2.ssh_cidrs] + \
        ([("metricsCidr", ec2.metrics_cidr)] if ec2.metrics_cidr else [])
    for key, cidr in clients:  # the host's replies to these addresses would go into docker0
        if ipaddress.ip_network(cidr).overlaps(DOCKER_BRIDGE):
            raise ValidationError(P + key, cidr, f"client ranges that do not overlap {DOCKER_BRIDGE} (Docker's bridge "
                                  "on the host: replies to those addresses would never leave it)",
                                  f"use the clients' real range in {P}{key}")
    if ec2.edge == "alb":
        edge_ranges(P + "edgeCidrs", ec2.edge_cidrs)
    if host == "ec2":
        _host_rules(ec2)


def _host_rules(ec2: Ec2Section) -> None:
    """The host's inbound rules: the edge's two (each counts as IPv4 and IPv6), one per inference, metrics and SSH
    range, one for an inference security group."""
    for family in (4, 6):
        ranges = [*ec2.inference_cidrs, *([ec2.metrics_cidr] if ec2.metrics_cidr else []), *ec2.ssh_cidrs]
        count = sum(1 for c in ranges if ipaddress.ip_network(c).version == family)
        count += (2 if ec2.edge == "alb" else 0) + (1 if ec2.inference_security_group_id else 0)
        if count > RULES_PER_GROUP:
            raise ValidationError(P + "inferenceCidrs", f"{count} IPv{family} rules on the host", f"at most "
                                  f"{RULES_PER_GROUP} inbound IPv{family} rules per security group (inferenceCidrs, "
                                  "metricsCidr and sshCidrs together)", "merge ranges into wider ones")
