"""The ec2 host's stack settings (one declaration per key, like keys.py)."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field
from torchserve_deploy import validators as v
from torchserve_deploy.aws import limits

from infra.settings.declare import CLOUD, EC2, K, Section, aws_id, check, each


class Ec2Section(Section):
    instance_type: Annotated[str, K(
        "ec2: GPU instance type (families g4dn, g5, g6, gr6, g6e, p4d, p4de, p5, p5e, p5en, p3).",
        "a GPU instance type such as g5.xlarge", "g4dn.xlarge", hosts=CLOUD)] = "g4dn.xlarge"
    ami_route: Annotated[Literal["dlami", "ubuntu"], K(
        "ec2: dlami (Deep Learning Base OSS Nvidia Driver AMI) or ubuntu (plain Ubuntu + driver install).",
        "dlami or ubuntu", "dlami", hosts=(EC2,))] = "dlami"
    ami_id: Annotated[str, check(aws_id("ami")), K(
        "ec2: pinned AMI ID; empty resolves the route's SSM parameter once and ignores later moves.",
        "an AMI ID like ami-0123456789abcdef0", "ami-0123456789abcdef0", hosts=CLOUD)] = ""
    ubuntu_version: Annotated[Literal["22.04", "24.04"], K("ec2: Ubuntu release of the AMI (22.04 or 24.04).",
                                                           "22.04 or 24.04", "24.04", hosts=(EC2,))] = "24.04"
    nvidia_driver_branch: Annotated[Literal["570", "575", "580", "590", "595"], K(
        "ec2, ubuntu route: NVIDIA server driver branch.", "570, 575, 580, 590 or 595", "580",
        hosts=(EC2,))] = "580"
    vpc_id: Annotated[str, check(aws_id("vpc")), K(
        "ec2: an existing VPC to use; empty creates one (vpcCidr, two AZs, public subnets for the edge only, "
        "private subnets for hosts).", "a VPC ID like vpc-0123456789abcdef0", "vpc-0123456789abcdef0",
        hosts=CLOUD)] = ""
    private_subnet_ids: Annotated[tuple[str, ...], check(each(aws_id("subnet"))), K(
        "ec2, existing VPC: private subnets for hosts (the first holds the instance and its EBS store).",
        "subnet IDs", "[subnet-0123456789abcdef0]", hosts=CLOUD)] = ()
    public_subnet_ids: Annotated[tuple[str, ...], check(each(aws_id("subnet"))), K(
        "ec2, existing VPC: public subnets in two or more AZs for the load balancer.", "subnet IDs",
        "[subnet-0123456789abcdef0, subnet-0fedcba9876543210]", hosts=CLOUD)] = ()
    vpc_cidr: Annotated[str, check(v.vpc_cidr), K(
        "ec2, created VPC: its private CIDR (/16 to /24).", "a private CIDR", "10.42.0.0/16",
        hosts=CLOUD)] = "10.42.0.0/16"
    egress: Annotated[Literal["auto", "endpoints", "nat", "none"], K(
        "ec2: how private hosts reach AWS APIs: auto (endpoints for a VPC the stack creates, none with vpcId), "
        "endpoints (VPC endpoints for ECR, S3, CloudWatch Logs, SSM, Secrets Manager; no internet), nat (one NAT "
        "gateway; needed by the ubuntu route's apt), none (an existing VPC provides it).",
        "auto, endpoints, nat or none", "endpoints", hosts=CLOUD)] = "auto"
    edge: Annotated[Literal["alb", "none"], K(
        "ec2: alb (an internet-facing HTTPS load balancer checks the inference key) or none (private use: "
        "inferenceCidrs only, TorchServe's own token auth).", "alb or none", "alb", hosts=CLOUD)] = "alb"
    domain_name: Annotated[str, check(lambda k, x: x == "" or v.hostname(k, x)), K(
        "ec2, edge alb: the endpoint's DNS name (with hostedZoneId: a DNS-validated ACM certificate and an alias "
        "record).", "a DNS name", "ml.example.com", hosts=CLOUD)] = ""
    hosted_zone_id: Annotated[str, check(lambda k, x: x == "" or limits.zone_id(k, x)), K(
        "ec2, edge alb: the Route 53 hosted zone of domainName.", "a hosted zone ID like Z0123456789ABCDEFGHIJ",
        "Z0123456789ABCDEFGHIJ", hosts=CLOUD)] = ""
    certificate_arn: Annotated[str, check(lambda k, x: x == "" or limits.certificate_arn(k, x)), K(
        "ec2, edge alb: an existing (e.g. imported) ACM certificate instead of a DNS-validated one.",
        "an ACM certificate ARN", "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0123-4567-89ab-0123456789ab",
        hosts=CLOUD)] = ""
    tls_policy: Annotated[Literal["ELBSecurityPolicy-TLS13-1-2-2021-06", "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
                                  "ELBSecurityPolicy-TLS13-1-3-2021-06"], K(
        "ec2, edge alb: the HTTPS listener's security policy (TLS 1.2 or later).", "a TLS 1.2+ ELB security policy",
        "ELBSecurityPolicy-TLS13-1-2-2021-06", hosts=CLOUD)] = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    edge_cidrs: Annotated[tuple[str, ...], check(each(v.cidr)), K(
        "ec2, edge alb: the IPv4 ranges that may reach the HTTPS endpoint, at most 30 (default: everyone; the key is "
        "checked at the edge; its load balancer is IPv4 only).", "IPv4 CIDRs", "[203.0.113.0/24]",
        hosts=CLOUD)] = ("0.0.0.0/0",)
    inference_key_version: Annotated[int, Field(ge=1, le=1000000), K(
        "ec2, edge alb: bump to rotate the inference key deliberately (the previous one stays valid while "
        "inferenceKeyGrace is true).", "an integer from 1", "2", hosts=CLOUD)] = 1
    inference_key_grace: Annotated[bool, K(
        "ec2, edge alb: keep accepting the previous key version after a rotation (set false to revoke it).",
        "true or false", "true", hosts=CLOUD)] = True
    root_volume_gb: Annotated[int, Field(ge=75, le=16384), K(
        "ec2: encrypted gp3 root volume size (the DLAMI needs at least 75).", "an integer from 75 to 16384",
        "100", hosts=CLOUD)] = 100
    model_store_gb: Annotated[int, Field(ge=1, le=16384), K("ec2: size of the encrypted gp3 EBS model store.",
                                                            "an integer from 1 to 16384", "50", hosts=(EC2,))] = 50
    model_store_iops: Annotated[int, Field(ge=3000, le=16000), K(
        "ec2: model store IOPS (3000 to 16000, at most 500 per GiB).", "an integer from 3000 to 16000", "3000",
        hosts=(EC2,))] = 3000
    model_store_throughput_mbs: Annotated[int, Field(ge=125, le=1000), K(
        "ec2: model store throughput in MiB/s (125 to 1000, at most 0.25 per IOPS).", "an integer from 125 to 1000",
        "125", hosts=(EC2,))] = 125
    inference_cidrs: Annotated[tuple[str, ...], check(v.private_cidrs), K(
        "ec2: private CIDRs (v4 or v6) allowed to reach 8080.", "private CIDRs", "[10.0.0.0/16]",
        hosts=(EC2,))] = ()
    inference_security_group_id: Annotated[str, check(aws_id("sg")), K(
        "ec2: a load balancer's security group allowed to reach 8080.", "a security group ID like sg-0123456789abcdef0",
        "sg-0123456789abcdef0", hosts=(EC2,))] = ""
    metrics_cidr: Annotated[str, check(lambda k, x: x == "" or v.private_cidrs(k, [x])), K(
        "ec2: the private monitoring CIDR allowed to reach 8082; empty keeps metrics on loopback.", "a private CIDR",
        "10.0.5.0/24", hosts=CLOUD)] = ""
    ssh_cidrs: Annotated[tuple[str, ...], check(v.private_cidrs), K(
        "ec2: private admin CIDRs allowed on port 22 (default none: use Session Manager).", "private CIDRs",
        "[10.0.9.0/24]", hosts=(EC2,))] = ()
    protect_data: Annotated[bool, K("ec2: protect and keep the EBS model store and model bucket (prod).",
                                    "true or false", "true", hosts=CLOUD)] = False
    log_retention_days: Annotated[int, check(limits.log_retention), K(
        "ec2: CloudWatch retention of the container logs (a value CloudWatch accepts, e.g. 14, 30, 90).",
        "a CloudWatch retention in days", "30", hosts=CLOUD)] = 30
    kms_key_id: Annotated[str, check(lambda k, x: x == "" or limits.kms_key(k, x)), K(
        "ec2: KMS key for the volumes and bucket; empty uses AWS-managed encryption.", "a KMS key ID, ARN or alias",
        "alias/torchserve", hosts=CLOUD)] = ""
    alarm_email: Annotated[str, check(lambda k, x: x == "" or v.email(k, x)), K(
        "ec2/fleet: an e-mail address subscribed to the stack's alarm topic (SNS asks it to confirm once); empty: "
        "the topic only (subscribe a pager or chat integration to it).", "an e-mail address", "ml-oncall@example.com",
        hosts=CLOUD)] = ""
    alarm_p99_ms: Annotated[int, Field(ge=10, le=120000), K(
        "ec2, edge alb: p99 target response time (ms) above which the latency alarm fires (a fleet uses "
        "fleetP99AlarmMs, its rollout alarm).", "an integer from 10 to 120000", "1000", hosts=(EC2,))] = 1000
    alarm_error_rate_percent: Annotated[int, Field(ge=1, le=100), K(
        "ec2/fleet, edge alb: share of requests answered 5xx by the targets (%) at which the error-rate alarm "
        "fires.", "an integer from 1 to 100", "5", hosts=CLOUD)] = 5
    alarm_gpu_memory_percent: Annotated[int, Field(ge=50, le=100), K(
        "ec2: GPU memory in use (%, the CloudWatch agent's nvidia_gpu metrics) at which the GPU memory alarm "
        "fires.", "an integer from 50 to 100", "90", hosts=(EC2,))] = 90
