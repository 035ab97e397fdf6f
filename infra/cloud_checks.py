"""Checks that need AWS's answer, made before the program registers any resource (read-only calls that a preview
makes as well): the edge's DNS name must lie in its hosted zone, or the certificate's validation record and the
alias record would be refused by Route 53 after the load balancer, the host and the rest exist; an existing VPC's
range must not overlap Docker's bridge on the hosts."""
from __future__ import annotations

import ipaddress

import pulumi_aws as aws
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError

from infra.settings.cloud_rules import DOCKER_BRIDGE

P = PROJECT + ":"


def in_zone(domain: str, zone: str) -> bool:
    """Whether `domain` is the zone's apex or a name below it (case and the trailing dot do not count)."""
    domain, zone = domain.lower().rstrip("."), zone.lower().rstrip(".")
    return domain == zone or domain.endswith("." + zone)


def check_zone(domain_name: str, zone_id: str) -> None:
    zone = aws.route53.get_zone(zone_id=zone_id)
    if zone.private_zone:
        raise ValidationError(P + "hostedZoneId", zone_id, "a public hosted zone (ACM validates the certificate through "
                              "public DNS, and clients resolve the endpoint's name there)",
                              f"set {P}hostedZoneId to the public zone of {domain_name}")
    if not in_zone(domain_name, zone.name):
        raise ValidationError(P + "domainName", domain_name, f"a name in the hosted zone {zone_id} ({zone.name.rstrip('.')}), "
                              "where the certificate's validation record and the alias record go",
                              f"set {P}domainName to a name under {zone.name.rstrip('.')}, or {P}hostedZoneId to "
                              "the zone that holds it")


def check_vpc(vpc_id: str) -> None:
    vpc = aws.ec2.get_vpc(id=vpc_id)
    ranges = [vpc.cidr_block, *(a.cidr_block for a in vpc.cidr_block_associations or [])]
    for cidr in ranges:  # the primary range and every secondary one (a host subnet may lie in either)
        if not ipaddress.ip_network(cidr).overlaps(DOCKER_BRIDGE):
            continue
        raise ValidationError(P + "vpcId", vpc_id, f"a VPC whose ranges (here {cidr}) do not overlap {DOCKER_BRIDGE} "
                              "(Docker's bridge on every host: the containers could not reach those addresses)",
                              "use another VPC, or let the stack create one (clear vpcId)")
