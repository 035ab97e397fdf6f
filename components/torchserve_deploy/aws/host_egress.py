"""What a private GPU host may reach: HTTPS (ECR, S3, CloudWatch, SSM, Secrets Manager, through VPC
endpoints or a NAT) and DNS to the VPC's resolver; plain HTTP only for a host that installs packages.
Shared by the single EC2 host and the fleet's instances."""
from __future__ import annotations

import pulumi
import pulumi_aws as aws


def host_egress(name: str, group_id: pulumi.Input[str], vpc_cidr: pulumi.Input[str], *, http: bool,
                parent: pulumi.Resource) -> list[aws.vpc.SecurityGroupEgressRule]:
    """Egress rules `<name>-out-<role>` on the group."""
    out: list[tuple[str, str, int, pulumi.Input[str]]] = [("https", "tcp", 443, "0.0.0.0/0"),
                                                           ("dns-udp", "udp", 53, vpc_cidr),
                                                           ("dns-tcp", "tcp", 53, vpc_cidr)]
    if http:
        out.append(("http", "tcp", 80, "0.0.0.0/0"))
    return [aws.vpc.SecurityGroupEgressRule(
        f"{name}-out-{role}", security_group_id=group_id, ip_protocol=proto, from_port=port, to_port=port,
        cidr_ipv4=cidr, description=f"{role} out", opts=pulumi.ResourceOptions(parent=parent))
        for role, proto, port, cidr in out]
