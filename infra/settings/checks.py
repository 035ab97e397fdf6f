"""Checks that relate settings to each other and to the host (pure): variant, stores, ports, GPUs,
URLs and secrets, host paths, and the ec2 host's instance, AMI route, driver and exposure."""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from torchserve_deploy import validators as v
from torchserve_deploy.aws import limits
from torchserve_deploy.aws.ecr import ecr_repository_url
from torchserve_deploy.aws.gpu_catalog import check_gpu_devices, check_host, gpu_family
from torchserve_deploy.constants import ANY_IPV4, LOOPBACK, PROJECT
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.variants import resolve_variant

from infra.settings.cloud_rules import check_cloud
from infra.settings.keys import Ec2Section, FleetSection, ImageSection, ModelDefaults, ServerSection, StoreSection
from infra.settings.paths import confined, host_roots
from infra.settings.types import ModelSettings, Settings

P = PROJECT + ":"
# The stack name reaches resource names: Docker's (local) and AWS's, where S3 bucket prefixes, ALB and target
# group names and ECR repositories want short lowercase names (the bucket prefix `torchserve-<stack>-models-`
# must fit 37 characters).
LOCAL_STACK = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_-]{0,38}[A-Za-z0-9])?")
CLOUD_STACK = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,16}[a-z0-9])?")


def stack_name(stack: str, host: str) -> str:
    if host == "local":
        allowed = "letters, digits, - and _ (at most 40, starting and ending with a letter or digit)"
        pattern = LOCAL_STACK
    else:
        allowed = ("lowercase letters, digits and - (at most 18, starting and ending with a letter or digit) for a "
                   "cloud stack: AWS bucket, load balancer and repository names are built from it")
        pattern = CLOUD_STACK
    if not pattern.fullmatch(stack):
        raise ValidationError("stack name", stack, allowed,
                              "pulumi stack rename <name> (and rename stacks/Pulumi.<name>.yaml), e.g. staging-eu")
    return stack


def _urls(image: ImageSection, secrets: frozenset[str]) -> None:
    for name, value, what in (("pipIndexUrl", image.pip_index_url, "package index"),
                              ("torchIndexUrl", image.torch_index_url, "package index"),
                              ("devSourceRepo", image.dev_source_repo, "git repository")):
        if not value:
            continue
        v.url(P + name, value, allow_http=image.allow_insecure_indexes and what == "package index", what=what)
        if v.has_credentials(value) and name not in secrets:
            raise ValidationError(P + name, v.without_credentials(value) + " (with credentials)",
                                  "credentials only in a secret value (they would be stored in plain text)",
                                  f"pulumi config set --secret {P}{name} <url>")


def _ports(server: ServerSection) -> None:
    v.distinct_ports(P + "*Port", {"inferencePort": server.inference_port, "managementPort": server.management_port,
                                   "metricsPort": server.metrics_port, "grpcInferencePort": server.grpc_inference_port,
                                   "grpcManagementPort": server.grpc_management_port,
                                   "healthPort": server.health_port})


def _fleet(ec2: Ec2Section, fleet: FleetSection) -> None:
    if ec2.edge != "alb":
        raise ValidationError(P + "edge", ec2.edge, "alb for a fleet (its service registers with the edge's target "
                              "group)", f"pulumi config rm {P}edge")
    if fleet.fleet_min_tasks > fleet.fleet_max_tasks:
        raise ValidationError(P + "fleetMinTasks", fleet.fleet_min_tasks, f"at most fleetMaxTasks "
                              f"({fleet.fleet_max_tasks})", f"lower {P}fleetMinTasks or raise {P}fleetMaxTasks")
    if ec2.metrics_cidr:
        raise ValidationError(P + "metricsCidr", ec2.metrics_cidr, "unset on a fleet (tasks report through "
                              "Container Insights and CloudWatch; 8082 stays inside each task)",
                              f"pulumi config rm {P}metricsCidr")


def _ec2(image: ImageSection, server: ServerSection, ec2: Ec2Section, gpus: str | None,
         config: Mapping[str, Any], host: str) -> str:
    """The cloud hosts' own rules (ec2 and fleet); returns the region."""
    family = gpu_family(P + "instanceType", ec2.instance_type)
    variant = resolve_variant(accelerator=image.accelerator, cuda_version=image.cuda_version or None,
                              torch_version=image.torch_version or None, platform=image.platform, key_prefix=P)
    check_host(P, family, variant, "ecs" if host == "fleet" else ec2.ami_route, ec2.nvidia_driver_branch)
    if not config.get("aws:region"):
        raise ValidationError("aws:region", None, "the AWS region of the ec2 stack", "pulumi config set aws:region us-east-1")
    region = limits.region("aws:region", config["aws:region"])
    if gpus is None:
        raise ValidationError(P + "gpus", "", '"all" or device indexes on a GPU host', f"pulumi config set {P}gpus all")
    if host == "fleet" and gpus != "all":
        raise ValidationError(P + "gpus", gpus, "all on a fleet (each task reserves one GPU of its instance: ECS hands "
                              "out GPUs by count, not by index)", f"pulumi config set {P}gpus all")
    check_gpu_devices(P + "gpus", gpus, ec2.instance_type)
    _network(ec2)
    _edge(ec2, server)
    check_cloud(ec2, region, host=host)
    if server.inference_bind != ANY_IPV4:
        raise ValidationError(P + "inferenceBind", server.inference_bind,
                              "0.0.0.0 on an ec2 host (the security group decides who reaches 8080)",
                              f"pulumi config set {P}inferenceBind 0.0.0.0")
    if bool(ec2.metrics_cidr) != (server.metrics_bind == ANY_IPV4):
        raise ValidationError(P + "metricsBind", server.metrics_bind,
                              "0.0.0.0 when metricsCidr is set, 127.0.0.1 when it is not",
                              f"set {P}metricsBind to match {P}metricsCidr")
    if host == "ec2":
        limits.check_gp3((P + "modelStoreGb", P + "modelStoreIops", P + "modelStoreThroughputMbs"),
                         ec2.model_store_gb, ec2.model_store_iops, ec2.model_store_throughput_mbs)
    return region


def egress(ec2: Ec2Section) -> str:
    """auto: an existing VPC brings its own egress, a created one gets endpoints."""
    if ec2.egress != "auto":
        return ec2.egress
    return "none" if ec2.vpc_id else "endpoints"


def _network(ec2: Ec2Section) -> None:
    overlap = sorted(set(ec2.private_subnet_ids) & set(ec2.public_subnet_ids))
    if overlap:
        raise ValidationError(P + "publicSubnetIds", overlap, "subnets other than privateSubnetIds (hosts must not "
                              "share the edge's public subnets)", "list each subnet once, in the right key")
    if not ec2.vpc_id and egress(ec2) == "none":
        raise ValidationError(P + "egress", "none", "endpoints or nat for a VPC the stack creates (none leaves the "
                              "hosts without ECR, S3 and SSM)", f"pulumi config set {P}egress endpoints")
    if ec2.vpc_id:
        if not ec2.private_subnet_ids:
            raise ValidationError(P + "privateSubnetIds", [], "the VPC's private subnets for the hosts",
                                  f"set {P}privateSubnetIds (hosts get no public IP), or clear {P}vpcId")
        if egress(ec2) != "none":
            raise ValidationError(P + "egress", ec2.egress, "none with an existing VPC (its own NAT or endpoints)",
                                  f"pulumi config set {P}egress none, or clear {P}vpcId to create a VPC")
    elif ec2.private_subnet_ids or ec2.public_subnet_ids:
        raise ValidationError(P + "vpcId", "", "the VPC of privateSubnetIds and publicSubnetIds",
                              f"pulumi config set {P}vpcId vpc-..., or remove the subnet IDs to create a VPC")
    if ec2.ami_route == "ubuntu" and egress(ec2) == "endpoints" and "ami_route" in ec2.model_fields_set:
        raise ValidationError(P + "egress", "endpoints", "nat for the ubuntu route (it installs the driver and the "
                              "container toolkit from package mirrors)", f"pulumi config set {P}egress nat")


def _edge(ec2: Ec2Section, server: ServerSection) -> None:
    if ec2.edge == "none":
        if not ec2.inference_cidrs and not ec2.inference_security_group_id:
            raise ValidationError(P + "inferenceCidrs", [], "at least one private client CIDR, or "
                                  "inferenceSecurityGroupId, when there is no edge",
                                  f"set {P}inferenceCidrs to your clients' private CIDRs, or use edge alb")
        if not server.token_auth:
            raise ValidationError(P + "tokenAuth", False, "true on a cloud host without the edge (TorchServe's keys are "
                                  "then the only check on who calls it: a private range is no identity)",
                                  f"pulumi config rm {P}tokenAuth, or put the edge in front (edge alb)")
        return
    for name, value in (("inferenceCidrs", list(ec2.inference_cidrs)),
                        ("inferenceSecurityGroupId", ec2.inference_security_group_id)):
        if value:
            raise ValidationError(P + name, value, "unset with edge alb: the edge is the only way to the host (a "
                                  "direct path would skip its key check)", f"pulumi config rm {P}{name}, or use edge none")
    if not ec2.certificate_arn and not (ec2.domain_name and ec2.hosted_zone_id):
        raise ValidationError(P + "domainName", ec2.domain_name, "a domainName with its hostedZoneId (a DNS-validated "
                              "ACM certificate), or a certificateArn", f"pulumi config set {P}domainName ml.example.com "
                              f"and {P}hostedZoneId Z..., or set {P}certificateArn")
    if ec2.certificate_arn and ec2.hosted_zone_id:
        raise ValidationError(P + "hostedZoneId", ec2.hosted_zone_id, "no zone with a certificateArn (the zone is "
                              "for a certificate the stack creates)", f"remove {P}hostedZoneId or {P}certificateArn")
    if ec2.vpc_id and len(ec2.public_subnet_ids) < 2:
        raise ValidationError(P + "publicSubnetIds", list(ec2.public_subnet_ids), "public subnets in at least two "
                              "AZs for the load balancer", f"set {P}publicSubnetIds")
    if "token_auth" in server.model_fields_set:
        raise ValidationError(P + "tokenAuth", server.token_auth, "unset with edge alb: the edge checks the stack's key (TorchServe "
                              "0.12 cannot be given one, and clients cannot send two)", f"pulumi config rm {P}tokenAuth")


def relate(*, stack: str, root: Path, host: Literal["local", "ec2", "fleet"], config: Mapping[str, Any],
           secrets: frozenset[str], image: ImageSection, server: ServerSection, defaults: ModelDefaults,
           store: StoreSection, ec2: Ec2Section, fleet: FleetSection) -> Settings:
    """Settings without models: every check that does not need the model directories."""
    stack_name(stack, host)
    variant = resolve_variant(accelerator=image.accelerator, cuda_version=image.cuda_version or None,
                              torch_version=image.torch_version or None, platform=image.platform, key_prefix=P)
    _urls(image, secrets)
    if image.ecr_repository:
        if host == "local" and not image.image_push:
            raise ValidationError(P + "ecrRepository", image.ecr_repository, "a repository only when imagePush is true",
                                  f"pulumi config set {P}imagePush true, or clear {P}ecrRepository")
        ecr_repository_url(P + "ecrRepository", image.ecr_repository)
    v.one_of(P + "modelStore", store.model_store, {"ec2": ("ebs",), "fleet": ("task",)}.get(host, ("hostDir", "volume")))
    _ports(server)
    gpus = v.gpus(P + "gpus", server.gpus)
    if gpus is not None and variant.accelerator != "cuda":
        raise ValidationError(P + "gpus", gpus, "no GPUs for a cpu image (its torch has no CUDA)",
                              f"set {P}accelerator to cuda with a {P}cudaVersion, or clear {P}gpus")
    if server.cpu_launcher and (gpus is not None or variant.accelerator == "cuda"):
        raise ValidationError(P + "cpuLauncher", True, "the CPU launcher only for a cpu image without gpus (it pins "
                              "CPU cores for CPU inference)", f"remove {P}cpuLauncher from this stack")
    region = _ec2(image, server, ec2, gpus, config, host) if host != "local" else None
    if host == "fleet":
        _fleet(ec2, fleet)
    if host == "local" and server.inference_bind == ANY_IPV4 and server.metrics_bind == LOOPBACK:
        pass  # publishing inference on every interface is allowed locally; management never moves
    roots = host_roots(P + "hostPathRoots", store.host_path_roots)
    container = server.container_name or f"torchserve-{stack}"
    v.container_name(P + "containerName", container)
    return Settings(
        stack=stack, root=root, host=host, image=image, server=server, defaults=defaults, store=store, ec2=ec2, fleet=fleet,
        models=(), region=region, secret_keys=secrets, variant=variant, gpus=gpus,
        shm_size_mb=v.size_to_mb(P + "shmSize", server.shm_size, low_mb=16, high_mb=256 * 1024),
        log_max_size_mb=v.size_to_mb(P + "logMaxSize", server.log_max_size, high_mb=1024),
        container_name=container,
        store_path=confined(P + "modelStorePath", store.model_store_path or f".build/{stack}/model-store", root, roots,
                            writable=True),
        store_volume=store.model_store_volume or f"torchserve-{stack}-models",
        training_outputs=confined(P + "trainingOutputsPath", store.training_outputs_path or f".build/{stack}/training",
                                  root, roots, writable=True),
        roots=roots)


def finish(s: Settings, models: tuple[ModelSettings, ...]) -> Settings:
    """Models in name order (the same set in any order gives the same resources); each trained model's
    outputs directory resolved again (a link placed there must not lead out)."""
    v.unique(P + "models", [m.name for m in models], as_read=str.lower, allowed="names that differ in more than "
             "case (each is a file, <name>.mar, and macOS's file system ignores case)")
    for m in models:
        if m.training is not None:
            confined(P + "trainingOutputsPath", str(s.training_outputs / m.name), s.root, s.roots, writable=True)
    return replace(s, models=tuple(sorted(models, key=lambda m: m.name)))
