"""Edge: the only way in from the internet. TorchServe (limited maintenance upstream, no security
patches) never faces it directly.

Creates (children `<name>-…`): a security group for the load balancer (443 and 80 from `allowed_cidrs`;
out only to the targets' ports inside the VPC), an internet-facing ALB in the public subnets (invalid
header fields dropped), a certificate (an ACM certificate validated through Route 53 when `zone_id` is
given, with an alias record for `domain_name`; or `certificate_arn`), an HTTPS listener with a TLS 1.2+
policy, an HTTP listener that only redirects to HTTPS, and a target group on the inference port whose
health check probes the token-free, worker-aware endpoint (GET /healthz on the health port: 503 when any
worker is down; TorchServe's /ping says Healthy with dead workers and needs a key).

With `keys`, the HTTPS listener forwards only requests carrying `Authorization: Bearer <key>` for one of
them (one rule each, so a rotation's grace key works too); anything else gets 401 from the edge.

Outputs: `security_group_id`, `target_group_arn`, `url`, `dns_name`, `load_balancer_arn_suffix`,
`target_group_arn_suffix` (CloudWatch dimensions).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from torchserve_deploy import validators as v
from torchserve_deploy.aws.limits import edge_ranges
from torchserve_deploy.constants import HEALTH_PATH
from torchserve_deploy.errors import ValidationError

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
UNAUTHORIZED = json.dumps({"code": 401, "type": "Unauthorized",
                           "message": "send the stack's inference key as 'Authorization: Bearer <key>'"})


@dataclass(frozen=True)
class EdgeArgs:
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    public_subnet_ids: pulumi.Input[list[str]]
    target_port: int = 8080
    health_port: int = 8090
    domain_name: str | None = None
    zone_id: str | None = None
    certificate_arn: str | None = None
    tls_policy: str = TLS_POLICY
    allowed_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    """IPv4 ranges only: the load balancer is IPv4 (an IPv6 range would reach nothing); at most 30 (two rules each
    of a security group's 60)."""
    keys: pulumi.Input[list[str]] | None = None
    """Inference keys the edge accepts (InferenceKeys.accepted); None forwards every request."""
    deletion_protection: bool = False
    deregistration_delay_s: int = 30
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        a = "EdgeArgs."
        if (self.certificate_arn is None) == (self.zone_id is None):
            raise ValidationError(a + "certificate_arn", self.certificate_arn, "either a certificate ARN or a Route 53 "
                                  "zone (with domain_name) for a DNS-validated certificate", "pass one of the two")
        if self.zone_id is not None and self.domain_name is None:
            raise ValidationError(a + "domain_name", None, "the DNS name to certify in zone_id", "pass domain_name")
        if self.domain_name is not None:
            v.hostname(a + "domain_name", self.domain_name)
        # TLS13-1-0 and TLS13-1-1 still accept TLS 1.0/1.1: only 1-2 and 1-3 (and their variants) qualify.
        if not re.fullmatch(r"ELBSecurityPolicy-TLS13-1-[23]-[A-Za-z0-9-]+", self.tls_policy):
            raise ValidationError(a + "tls_policy", self.tls_policy, "a TLS 1.2+ policy (ELBSecurityPolicy-TLS13-1-2-… "
                                  "or ELBSecurityPolicy-TLS13-1-3-…)",
                                  f"use {TLS_POLICY}")
        edge_ranges(a + "allowed_cidrs", self.allowed_cidrs)


def _bearer(i: int) -> Callable[[list[str]], list[str]]:
    """The header value for the i-th accepted key (the current one again when there is no i-th)."""
    return lambda keys: [f"Bearer {keys[i] if i < len(keys) else keys[0]}"]


class Edge(pulumi.ComponentResource):
    security_group_id: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    url: pulumi.Output[str]
    dns_name: pulumi.Output[str]

    def __init__(self, name: str, args: EdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:edge:Edge", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        group = self._security_group(name, args, tags)
        self.load_balancer = aws.lb.LoadBalancer(
            f"{name}-alb", load_balancer_type="application", internal=False, security_groups=[group.id],
            subnets=args.public_subnet_ids, drop_invalid_header_fields=True,
            enable_deletion_protection=args.deletion_protection, idle_timeout=120, tags=tags, opts=child)
        self.target_group = aws.lb.TargetGroup(
            f"{name}-tg", port=args.target_port, protocol="HTTP", target_type="instance", vpc_id=args.vpc_id,
            deregistration_delay=args.deregistration_delay_s, tags=tags,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True, protocol="HTTP", port=str(args.health_port), path=HEALTH_PATH, matcher="200",
                interval=10, timeout=5, healthy_threshold=2, unhealthy_threshold=2), opts=child)
        certificate = self._certificate(name, args, tags)
        forward = aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=self.target_group.arn)
        refuse = aws.lb.ListenerDefaultActionArgs(type="fixed-response", fixed_response=(
            aws.lb.ListenerDefaultActionFixedResponseArgs(content_type="application/json", status_code="401",
                                                          message_body=UNAUTHORIZED)))
        self.https = aws.lb.Listener(
            f"{name}-https", load_balancer_arn=self.load_balancer.arn, port=443, protocol="HTTPS",
            ssl_policy=args.tls_policy, certificate_arn=certificate,
            default_actions=[forward if args.keys is None else refuse], tags=tags, opts=child)
        aws.lb.Listener(
            f"{name}-http", load_balancer_arn=self.load_balancer.arn, port=80, protocol="HTTP", tags=tags,
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="redirect", redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                protocol="HTTPS", port="443", status_code="HTTP_301"))], opts=child)
        rules = self._key_rules(name, args.keys, tags) if args.keys is not None else []
        self.security_group_id = group.id
        # Known only once the listener and its rules exist: an ECS service attached to the target group before
        # the group is behind a listener fails to create ("target group does not have an associated load balancer").
        self.target_group_arn = pulumi.Output.all(self.target_group.arn, self.https.arn, *[r.arn for r in rules]).apply(
            lambda a: str(a[0]))
        self.dns_name = self.load_balancer.dns_name
        host: pulumi.Input[str] = args.domain_name or self.load_balancer.dns_name
        self.url = pulumi.Output.concat("https://", host)
        self.load_balancer_arn_suffix = self.load_balancer.arn_suffix
        self.target_group_arn_suffix = self.target_group.arn_suffix
        self.register_outputs({"security_group_id": self.security_group_id, "target_group_arn": self.target_group_arn,
                               "url": self.url, "dns_name": self.dns_name})

    def _security_group(self, name: str, args: EdgeArgs, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, tags=tags, opts=child,
                                      description="Edge load balancer: HTTPS in (HTTP only to redirect)")
        for port in (443, 80):
            for i, cidr in enumerate(args.allowed_cidrs):
                aws.vpc.SecurityGroupIngressRule(f"{name}-in-{port}-{i}", security_group_id=group.id, ip_protocol="tcp",
                                                 from_port=port, to_port=port, description=f"clients {port}",
                                                 cidr_ipv4=cidr, opts=child)  # IPv4 only: EdgeArgs
        for role, port in (("inference", args.target_port), ("health", args.health_port)):
            aws.vpc.SecurityGroupEgressRule(f"{name}-out-{role}", security_group_id=group.id, ip_protocol="tcp",
                                            from_port=port, to_port=port, cidr_ipv4=args.vpc_cidr,
                                            description=f"to the targets' {role} port", opts=child)
        return group

    def _certificate(self, name: str, args: EdgeArgs, tags: dict[str, str]) -> pulumi.Input[str]:
        if args.certificate_arn is not None:
            return args.certificate_arn
        child = pulumi.ResourceOptions(parent=self)
        cert = aws.acm.Certificate(f"{name}-cert", domain_name=args.domain_name, validation_method="DNS", tags=tags,
                                   opts=child)
        option = cert.domain_validation_options[0]
        record = aws.route53.Record(f"{name}-cert-validation", zone_id=args.zone_id, name=option.resource_record_name,
                                    type=option.resource_record_type, records=[option.resource_record_value], ttl=60,
                                    allow_overwrite=True, opts=child)
        validation = aws.acm.CertificateValidation(f"{name}-cert-valid", certificate_arn=cert.arn,
                                                   validation_record_fqdns=[record.fqdn], opts=child)
        aws.route53.Record(f"{name}-alias", zone_id=args.zone_id, name=args.domain_name, type="A", opts=child,
                           aliases=[aws.route53.RecordAliasArgs(name=self.load_balancer.dns_name,
                                                                zone_id=self.load_balancer.zone_id,
                                                                evaluate_target_health=True)])
        return validation.certificate_arn

    def _key_rules(self, name: str, keys: pulumi.Input[list[str]], tags: dict[str, str]) -> list[aws.lb.ListenerRule]:
        """One rule per accepted key: the header must be exactly `Bearer <key>` (keys are alphanumeric)."""
        accepted: pulumi.Output[list[str]] = pulumi.Output.secret(keys)
        rules = []
        for i in range(2):  # the current key and, during a rotation's grace, the previous one
            header = accepted.apply(_bearer(i))
            rules.append(aws.lb.ListenerRule(
                f"{name}-key-{i}", listener_arn=self.https.arn, priority=10 + i, tags=tags,
                conditions=[aws.lb.ListenerRuleConditionArgs(http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
                    http_header_name="Authorization", values=header))],
                actions=[aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=self.target_group.arn)],
                opts=pulumi.ResourceOptions(parent=self)))
        return rules
