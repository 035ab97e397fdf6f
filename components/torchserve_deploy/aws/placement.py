"""Where a GPU host goes: a given subnet, or the default VPC's default subnet (lookups, no resources)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class Placement:
    subnet_id: pulumi.Output[str]
    vpc_id: pulumi.Output[str]
    availability_zone: pulumi.Output[str]
    """The EBS model store must live in the instance's AZ, so both follow the subnet."""


def find_placement(subnet_id: str | None, parent: pulumi.Resource | None = None) -> Placement:
    opts = pulumi.InvokeOutputOptions(parent=parent)
    if subnet_id:
        chosen = pulumi.Output.from_input(subnet_id)
    else:
        vpc = aws.ec2.get_vpc_output(default=True, opts=opts)
        filters = vpc.id.apply(lambda vpc_id: [aws.ec2.GetSubnetsFilterArgs(name="vpc-id", values=[vpc_id]),
                                               aws.ec2.GetSubnetsFilterArgs(name="default-for-az", values=["true"])])
        subnets = aws.ec2.get_subnets_output(filters=filters, opts=opts)
        # Sorted, so the same account always picks the same subnet (no spurious replacement).
        chosen = subnets.ids.apply(lambda ids: sorted(ids)[0])
    subnet = aws.ec2.get_subnet_output(id=chosen, opts=opts)
    return Placement(subnet_id=subnet.id, vpc_id=subnet.vpc_id, availability_zone=subnet.availability_zone)
