"""Network: where a GPU host and its edge live. Hosts sit in private subnets with no public IP.

Created (no `vpc_id`): a VPC over `cidr` in two AZs with public subnets (the load balancer only; an
internet gateway) and private subnets (hosts; no route to the internet), plus the hosts' way to AWS APIs:
`egress` endpoints (interface endpoints for ECR api/dkr, CloudWatch Logs and metrics, SSM, ssmmessages, ec2messages,
Secrets Manager, and the S3 gateway endpoint) or nat (one NAT gateway, for hosts that install packages).
Existing (`vpc_id` given): the given subnets, looked up for their AZs; egress is the VPC's own business.

Outputs: `vpc_id`, `vpc_cidr`, `private_subnet_ids`, `public_subnet_ids`, `host_subnet_id`, `host_az`.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_aws as aws

from torchserve_deploy.errors import ValidationError

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "monitoring", "ssm", "ssmmessages", "ec2messages", "secretsmanager")
AZ_COUNT = 2


@dataclass(frozen=True)
class NetworkArgs:
    region: str
    cidr: str = "10.42.0.0/16"
    egress: Literal["endpoints", "nat", "none"] = "endpoints"
    vpc_id: str | None = None
    private_subnet_ids: tuple[str, ...] = ()
    public_subnet_ids: tuple[str, ...] = ()
    extra_endpoints: tuple[str, ...] = ()
    """More interface endpoints the hosts need (an ECS fleet: ecs, ecs-agent, ecs-telemetry)."""
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        a = "NetworkArgs."
        if self.vpc_id is None:
            net = ipaddress.ip_network(self.cidr)
            if not 16 <= net.prefixlen <= 24:
                raise ValidationError(a + "cidr", self.cidr, "a /16 to /24 range (it is cut into four subnets)",
                                      "use e.g. 10.42.0.0/16")
            if self.private_subnet_ids or self.public_subnet_ids:
                raise ValidationError(a + "vpc_id", None, "the VPC of the given subnets", "pass vpc_id with the subnets")
        else:
            if not self.private_subnet_ids:
                raise ValidationError(a + "private_subnet_ids", [], "at least one private subnet of the VPC",
                                      "pass the VPC's private subnets (hosts get no public IP)")
            if self.egress != "none":
                raise ValidationError(a + "egress", self.egress, "none with an existing VPC (its own NAT or "
                                      "endpoints serve the hosts)", "set egress to none, or let the stack create the VPC")

    def subnets(self) -> list[str]:
        """Four equal subnets of `cidr`: public a, public b, private a, private b."""
        net = ipaddress.ip_network(self.cidr)
        return [str(s) for s in list(net.subnets(prefixlen_diff=2))]


def _nth_sorted(i: int) -> Callable[[list[str]], str]:
    return lambda names: sorted(names)[i]


class Network(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    host_subnet_id: pulumi.Output[str]
    host_az: pulumi.Output[str]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:network:Network", name, None, opts)
        if args.vpc_id is None:
            self._create(name, args)
        else:
            self._existing(args)
        self.register_outputs({"vpc_id": self.vpc_id, "host_subnet_id": self.host_subnet_id})

    def _existing(self, args: NetworkArgs) -> None:
        invoke = pulumi.InvokeOutputOptions(parent=self)
        vpc = aws.ec2.get_vpc_output(id=args.vpc_id, opts=invoke)
        host = aws.ec2.get_subnet_output(id=args.private_subnet_ids[0], opts=invoke)
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids: pulumi.Output[list[str]] = pulumi.Output.from_input(list(args.private_subnet_ids))
        self.public_subnet_ids: pulumi.Output[list[str]] = pulumi.Output.from_input(list(args.public_subnet_ids))
        self.host_subnet_id = host.id
        self.host_az = host.availability_zone

    def _create(self, name: str, args: NetworkArgs) -> None:
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        # Only zones every account has (no Local Zones or Wavelength Zones, which lack most instance types).
        zones = aws.get_availability_zones_output(
            state="available", filters=[aws.GetAvailabilityZonesFilterArgs(name="opt-in-status",
                                                                           values=["opt-in-not-required"])],
            opts=pulumi.InvokeOutputOptions(parent=self))
        vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True,
                          tags={**tags, "Name": name}, opts=child)
        cidrs = args.subnets()
        public, private = [], []
        for i in range(AZ_COUNT):
            # Sorted zone names: the same account always picks the same AZs (no spurious replacement).
            az = zones.names.apply(_nth_sorted(i))
            public.append(aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=cidrs[i], availability_zone=az,
                                         map_public_ip_on_launch=False, tags={**tags, "Name": f"{name}-public-{i}"},
                                         opts=child))
            private.append(aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=cidrs[2 + i],
                                          availability_zone=az, map_public_ip_on_launch=False,
                                          tags={**tags, "Name": f"{name}-private-{i}"}, opts=child))
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=child)
        public_rt = aws.ec2.RouteTable(f"{name}-public-rt", vpc_id=vpc.id, tags=tags, routes=[
            aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)], opts=child)
        private_routes = []
        if args.egress == "nat":
            # AWS: a NAT gateway's address needs the VPC's internet gateway first (and goes before it on destroy).
            after_igw = pulumi.ResourceOptions(parent=self, depends_on=[igw])
            eip = aws.ec2.Eip(f"{name}-nat-ip", domain="vpc", tags=tags, opts=after_igw)
            nat = aws.ec2.NatGateway(f"{name}-nat", allocation_id=eip.id, subnet_id=public[0].id, tags=tags,
                                     opts=after_igw)
            private_routes = [aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)]
        private_rt = aws.ec2.RouteTable(f"{name}-private-rt", vpc_id=vpc.id, tags=tags, routes=private_routes,
                                        opts=child)
        for i in range(AZ_COUNT):
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=public[i].id, route_table_id=public_rt.id,
                                          opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=private[i].id,
                                          route_table_id=private_rt.id, opts=child)
        if args.egress == "endpoints":
            self._endpoints(name, args, vpc, [s.id for s in private], private_rt.id, tags)
        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private])
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public])
        self.host_subnet_id = private[0].id
        self.host_az = private[0].availability_zone

    def _endpoints(self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, subnets: list[pulumi.Output[str]],
                   route_table: pulumi.Output[str], tags: dict[str, str]) -> None:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(f"{name}-endpoints-sg", vpc_id=vpc.id, tags=tags,
                                      description="VPC endpoints: HTTPS from inside the VPC", opts=child)
        aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-in", security_group_id=group.id, ip_protocol="tcp",
                                         from_port=443, to_port=443, cidr_ipv4=vpc.cidr_block,
                                         description="https from the VPC", opts=child)
        for service in (*INTERFACE_ENDPOINTS, *args.extra_endpoints):
            aws.ec2.VpcEndpoint(f"{name}-{service.replace('.', '-')}", vpc_id=vpc.id, vpc_endpoint_type="Interface",
                                service_name=f"com.amazonaws.{args.region}.{service}", subnet_ids=subnets,
                                security_group_ids=[group.id], private_dns_enabled=True, tags=tags, opts=child)
        aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, vpc_endpoint_type="Gateway",
                            service_name=f"com.amazonaws.{args.region}.s3", route_table_ids=[route_table], tags=tags,
                            opts=child)
