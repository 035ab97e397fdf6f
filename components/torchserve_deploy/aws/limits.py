"""AWS value shapes and service limits (pure): identifiers, KMS keys, gp3 volumes, CloudWatch retention,
security-group rule quotas.

Checked before any resource exists, so a typo fails with the key and the fix instead of an API error
half-way through `pulumi up`.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from torchserve_deploy import validators as v
from torchserve_deploy.errors import ValidationError

# CloudWatch Logs PutRetentionPolicy accepts only these values (days).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                      3288, 3653)
# gp3 (EBS volume types, as documented): 1 GiB–16 TiB; 3,000–16,000 IOPS at most 500 per GiB;
# 125–1,000 MiB/s at most 0.25 MiB/s per provisioned IOPS.
GP3_SIZE_GB = (1, 16384)
GP3_IOPS = (3000, 16000)
GP3_IOPS_PER_GB = 500
GP3_THROUGHPUT_MBS = (125, 1000)
GP3_THROUGHPUT_PER_IOPS = 0.25

_ID = r"[0-9a-f]{8}(?:[0-9a-f]{9})?"
_SHAPES = {
    "ami": re.compile(rf"ami-{_ID}"),
    "subnet": re.compile(rf"subnet-{_ID}"),
    "sg": re.compile(rf"sg-{_ID}"),
    "vpc": re.compile(rf"vpc-{_ID}"),
}
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_KMS = re.compile(rf"(?:mrk-[0-9a-f]{{32}}|{_UUID}|alias/[A-Za-z0-9/_-]{{1,250}}"
                  rf"|arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{{12}}:(?:key/(?:mrk-[0-9a-f]{{32}}|{_UUID})|alias/[A-Za-z0-9/_-]{{1,250}}))")
_REGION = re.compile(r"[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-[0-9]")
_INSTANCE_TYPE = re.compile(r"([a-z][a-z0-9-]*[0-9][a-z0-9-]*)\.(nano|micro|small|medium|large|xlarge|[0-9]{1,2}xlarge|metal(?:-[0-9]{1,2}xl)?)")


def aws_id(key: str, value: object, kind: str) -> str:
    """An EC2 identifier of `kind` (ami, subnet, sg, vpc): prefix and 8 or 17 hex digits."""
    if not isinstance(value, str) or not _SHAPES[kind].fullmatch(value):
        raise ValidationError(key, value, f"an ID like {kind}-0123456789abcdef0 ({kind}- and 8 or 17 hex digits)",
                              f"copy the {kind} ID from the AWS console or CLI into {key}")
    return value


def kms_key(key: str, value: object) -> str:
    if not isinstance(value, str) or not _KMS.fullmatch(value):
        raise ValidationError(key, value, "a KMS key ID, key ARN, alias/<name> or alias ARN",
                              f"set {key} to e.g. alias/torchserve or arn:aws:kms:<region>:<account>:key/<id>")
    return value


_ZONE = re.compile(r"Z[A-Z0-9]{1,32}")
_CERTIFICATE = re.compile(r"arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]{36}")


def zone_id(key: str, value: object) -> str:
    if not isinstance(value, str) or not _ZONE.fullmatch(value):
        raise ValidationError(key, value, "a Route 53 hosted zone ID (Z and up to 32 capitals and digits)",
                              f"copy the zone ID from the Route 53 console into {key}")
    return value


def certificate_arn(key: str, value: object) -> str:
    if not isinstance(value, str) or not _CERTIFICATE.fullmatch(value):
        raise ValidationError(key, value, "an ACM certificate ARN", f"copy the certificate's ARN from ACM into {key}")
    return value


def region(key: str, value: object) -> str:
    if not isinstance(value, str) or not _REGION.fullmatch(value):
        raise ValidationError(key, value, "an AWS region such as us-east-1", f"pulumi config set {key} us-east-1")
    return value


def instance_type(key: str, value: object) -> tuple[str, str]:
    """(family, size) of an instance type like g5.xlarge."""
    match = _INSTANCE_TYPE.fullmatch(value) if isinstance(value, str) else None
    if not match:
        raise ValidationError(key, value, "an EC2 instance type <family>.<size>, e.g. g5.xlarge",
                              f"set {key} to g4dn.xlarge (T4, cheapest), g5.xlarge (A10G) or g6.xlarge (L4)")
    return match.group(1), match.group(2)


def log_retention(key: str, value: object) -> int:
    if value not in LOG_RETENTION_DAYS or isinstance(value, bool):
        raise ValidationError(key, value, "a CloudWatch retention: " + ", ".join(map(str, LOG_RETENTION_DAYS)),
                              f"set {key} to 30")
    return int(value)


def check_gp3(names: tuple[str, str, str], size_gb: int, iops: int, throughput_mbs: int) -> None:
    """gp3's own limits and ratios. `names` are what the user calls size, IOPS and throughput (config keys
    or argument names), so the error points at the value to change."""
    size_key, iops_key, throughput_key = names
    if not GP3_SIZE_GB[0] <= size_gb <= GP3_SIZE_GB[1]:
        raise ValidationError(size_key, size_gb, "1 to 16384 GiB (gp3)", f"set {size_key} to 50")
    iops_ceiling = min(GP3_IOPS[1], max(GP3_IOPS[0], size_gb * GP3_IOPS_PER_GB))
    if not GP3_IOPS[0] <= iops <= iops_ceiling:
        raise ValidationError(iops_key, iops, f"3000 to {iops_ceiling} IOPS for a {size_gb} GiB gp3 volume "
                              "(at most 500 per GiB, 16000 in all)", f"lower {iops_key} or raise {size_key}")
    ceiling = min(GP3_THROUGHPUT_MBS[1], int(iops * GP3_THROUGHPUT_PER_IOPS))
    if not GP3_THROUGHPUT_MBS[0] <= throughput_mbs <= ceiling:
        raise ValidationError(throughput_key, throughput_mbs, f"125 to {ceiling} MiB/s at {iops} IOPS "
                              "(at most 0.25 MiB/s per IOPS, 1000 in all)", f"lower {throughput_key} or raise {iops_key}")


# Inbound rules per security group, counted separately for IPv4 and IPv6; a rule naming a security group counts in
# both (Amazon VPC quotas, "Inbound or outbound rules per security group").
RULES_PER_GROUP = 60


def edge_ranges(key: str, cidrs: Sequence[str]) -> None:
    """The ranges an IPv4-only load balancer admits on 80 and 443: IPv4 (an IPv6 range would reach nothing), one
    at least, and two inbound rules each within a security group's quota."""
    v6 = [c for c in cidrs if v.cidr(key, c).version == 6]
    if v6:
        raise ValidationError(key, v6, "IPv4 ranges (the edge's load balancer is IPv4 only: an IPv6 range would "
                              "reach nothing)", f"remove {', '.join(v6)} from {key}")
    if not 1 <= len(cidrs) <= RULES_PER_GROUP // 2:
        raise ValidationError(key, f"{len(cidrs)} ranges", f"1 to {RULES_PER_GROUP // 2} ranges (each takes two "
                              f"rules, 80 and 443, of the {RULES_PER_GROUP} inbound rules a security group holds)",
                              "name at least one range (0.0.0.0/0 for everyone)" if not cidrs else
                              "merge ranges into wider ones, or put a WAF or CloudFront in front")
