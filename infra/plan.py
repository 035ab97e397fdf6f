"""Settings → Plan (pure): every component's arguments, container specs, image references, mounts and
labels, computed once. The local Docker host, the EC2 host and compose only deliver a Plan.

Values that exist only during `pulumi up` (the built image's ID, a bucket's name, an availability zone)
are the delivery's business: it fills them in with `dataclasses.replace`, never by re-deriving.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from torchserve_deploy.aws.bucket import ModelBucketArgs
from torchserve_deploy.aws.ebs_store import MODEL_STORE_DIR, EbsModelStoreArgs
from torchserve_deploy.aws.ecr import EcrRepositoryArgs
from torchserve_deploy.aws.edge import EdgeArgs
from torchserve_deploy.aws.fleet import MODELS_VOLUME
from torchserve_deploy.aws.gpu_catalog import gpu_family
from torchserve_deploy.aws.inference_keys import InferenceKeysArgs
from torchserve_deploy.aws.network import NetworkArgs
from torchserve_deploy.aws.observability import ObservabilityArgs
from torchserve_deploy.constants import CONTAINER_MODEL_STORE, MODELS_LABEL, STACK_LABEL
from torchserve_deploy.container.spec import LogConfig, Mount
from torchserve_deploy.image.serving import TorchServeImageArgs, content_tag
from torchserve_deploy.model.archive import ModelArchiveArgs, content_hash
from torchserve_deploy.model.params import render_args
from torchserve_deploy.model.training import TrainingImageArgs, TrainingRunArgs, training_tag
from torchserve_deploy.serve.config_properties import ModelServing, ServerPorts
from torchserve_deploy.serve.server import TorchServeServerArgs
from torchserve_deploy.serve.store import ModelStoreArgs

from infra.plan_fleet import FleetPlan, awslogs, fleet_plan
from infra.settings import ModelSettings, Settings
from infra.settings.checks import egress

ROOT = Path(__file__).resolve().parent.parent
# Where Pulumi starts the providers, so where commands run and relative build paths resolve: the program's main
# directory (Pulumi.yaml main: infra/; pulumi/pulumi pkg/engine/project.go getPwdMain, plugin.go cmd.Dir = pwd).
PROVIDER_CWD = ROOT / "infra"
# Pulumi.yaml's runtime virtualenv, from there.
ARCHIVER = "../.venv/bin/torch-model-archiver"
UPLOADER = ("../.venv/bin/python", "-m", "torchserve_deploy.aws.upload")
# Config keys that may hold credentials → the build args they become.
ECS_ENDPOINTS = ("ecs", "ecs-agent", "ecs-telemetry")
SECRET_ARGS = {"pipIndexUrl": "PIP_INDEX_URL", "torchIndexUrl": "TORCH_INDEX_URL", "devSourceRepo": "TS_REPO_URL"}


@dataclass(frozen=True)
class ModelPlan:
    name: str
    archive: ModelArchiveArgs
    serving: ModelServing
    training_image: TrainingImageArgs | None = None
    training_run: TrainingRunArgs | None = None
    """Its `image` is the content-addressed ref; the delivery puts the built image's ID in its place."""


@dataclass(frozen=True)
class Ec2Plan:
    region: str
    log_group: str
    tags: tuple[tuple[str, str], ...]
    network: NetworkArgs
    ecr: EcrRepositoryArgs
    bucket: ModelBucketArgs
    store: EbsModelStoreArgs
    """availability_zone is filled in by the delivery (the subnet's AZ)."""
    edge: EdgeArgs | None
    """The HTTPS edge; vpc and subnets (and the keys) are filled in by the delivery."""
    keys: InferenceKeysArgs | None
    instance_type: str
    ami_id: str | None
    ami_route: str
    ubuntu_version: str
    driver_branch: str
    driver_flavor: str
    egress_http: bool
    inference_cidrs: tuple[str, ...]
    inference_security_group_id: str | None
    metrics_cidr: str | None
    ssh_cidrs: tuple[str, ...]
    root_volume_gb: int
    kms_key_id: str | None
    log_retention_days: int
    observe: ObservabilityArgs
    """Dashboard, alarms and saved queries; the delivery fills in the topic and the resources they watch."""
    alarm_email: str | None


@dataclass(frozen=True)
class Plan:
    stack: str
    host: str
    serves: bool
    """False for buildType codebuild: the image is built (and pushed) and nothing serves."""
    image: TorchServeImageArgs
    image_ref: str
    """repository:content-tag of the local image (compose and `docker run` renderings name it)."""
    models: tuple[ModelPlan, ...]
    server: TorchServeServerArgs
    """Its `image` is image_ref; the delivery puts the built (or pushed) image's ID in its place."""
    store: ModelStoreArgs | None
    """The local store (host directory or volume); None on ec2 (its store is ec2.store)."""
    push: EcrRepositoryArgs | None
    """Where a local stack pushes its image (imagePush); ec2 stacks push to ec2.ecr."""
    ec2: Ec2Plan | None
    """The cloud parts (network, edge, keys, repository, bucket, instance type): ec2 and fleet stacks."""
    token_auth: bool
    """Some key is checked: TorchServe's own, or the edge's (False only when tokenAuth is turned off)."""
    fleet: FleetPlan | None = None


def edge_checks_keys(s: Settings) -> bool:
    """Behind the HTTPS edge the load balancer checks the stack's inference key, and TorchServe, reachable
    only from the edge, runs without its own (which clients could not send through it)."""
    return s.host in ("ec2", "fleet") and s.ec2.edge == "alb"


def _labels(s: Settings) -> tuple[tuple[str, str], ...]:
    return ((STACK_LABEL, s.stack),)


def _secret_args(s: Settings) -> frozenset[str]:
    return frozenset(arg for key, arg in SECRET_ARGS.items() if key in s.secret_keys)


def image_args(s: Settings) -> TorchServeImageArgs:
    i = s.image
    return TorchServeImageArgs(
        repository=i.image_repository, build_type=i.build_type, accelerator=i.accelerator,
        cuda_version=i.cuda_version or None, torch_version=i.torch_version or None, base_image=i.base_image or None,
        torchserve_version=i.torchserve_version, model_archiver_version=i.torchserve_version,
        pip_index_url=i.pip_index_url, allow_http_indexes=i.allow_insecure_indexes,
        torch_index_url=i.torch_index_url or None, python_version=i.python_version or None, platform=i.platform,
        extra_pip_packages=i.extra_pip_packages, extra_apt_packages=i.extra_apt_packages,
        dev_source_repo=i.dev_source_repo, dev_source_ref=i.dev_source_ref, tags=i.image_tags,
        secret_build_args=_secret_args(s), project_root=PROVIDER_CWD)


def _training(s: Settings, m: ModelSettings) -> tuple[TrainingImageArgs, TrainingRunArgs] | tuple[None, None]:
    t = m.source.training
    if m.training is None or t is None:
        return None, None
    i = s.image
    image = TrainingImageArgs(
        source_dir=t.source_dir, entrypoint=t.entrypoint, requirements=t.requirements,
        repository=f"{i.image_repository}-train-{m.name}", accelerator=i.accelerator,
        cuda_version=i.cuda_version or None, torch_version=i.torch_version or None, base_image=i.base_image or None,
        pip_index_url=i.pip_index_url, allow_http_indexes=i.allow_insecure_indexes, platform=i.platform,
        secret_build_args=_secret_args(s) & {"PIP_INDEX_URL"}, project_root=PROVIDER_CWD)
    ref = f"{image.repository}:{training_tag(image)}"
    run = TrainingRunArgs(
        container_name=f"train-{s.stack}-{m.name}", image=ref, image_ref=ref,
        arguments=tuple(render_args(m.training)), data_dir=t.data_dir, outputs_dir=s.training_outputs / m.name,
        checkpoint=t.checkpoint, gpus=s.gpus, shm_size_mb=s.shm_size_mb, ulimit_memlock=s.server.ulimit_memlock,
        ulimit_stack=s.server.ulimit_stack,
        data_ref=str(t.data_dir.relative_to(ROOT)) if t.data_dir.is_relative_to(ROOT) else str(t.data_dir))
    return image, run


def _model(s: Settings, m: ModelSettings, image_ref: str) -> ModelPlan:
    """Where the archive goes: into the host-dir store, or staged for a volume store or an upload."""
    train_image, run = _training(s, m)
    on_volume = s.host == "local" and s.store.model_store == "volume"
    staged = s.host != "local" or on_volume
    archive = ModelArchiveArgs(
        source=m.source, export_dir=ROOT / ".build" / s.stack / "archives" if staged else s.store_path,
        project_root=PROVIDER_CWD, archiver=ARCHIVER, volume_name=s.store_volume if on_volume else None,
        helper_image=image_ref if on_volume else None,
        trained_checkpoint=run.outputs_dir / run.checkpoint if run else None,
        trained_by=run.run_digest if run else None, upload_command=UPLOADER)
    serving = ModelServing(name=m.name, version=m.source.version, min_workers=m.workers, max_workers=m.workers,
                           batch_size=m.batch_size, max_batch_delay_ms=m.max_batch_delay_ms,
                           response_timeout_s=m.response_timeout_s, torch_threads=m.torch_threads)
    return ModelPlan(m.name, archive, serving, train_image, run)


def _server(s: Settings, models: tuple[ModelPlan, ...], image_ref: str, store: Mount,
            log: LogConfig | None) -> TorchServeServerArgs:
    sv = s.server
    # The archives' digests as a label: a changed .mar replaces the container so TorchServe loads it.
    digests = ",".join(f"{p.name}={content_hash(p.archive.source, p.archive.trained_by)[:12]}" for p in models)
    return TorchServeServerArgs(
        container_name=s.container_name, image=image_ref, image_ref=image_ref,
        models=tuple(p.serving for p in models), store=store,
        host_ports=ServerPorts(inference=sv.inference_port, management=sv.management_port, metrics=sv.metrics_port,
                               grpc_inference=sv.grpc_inference_port, grpc_management=sv.grpc_management_port,
                               health=sv.health_port),
        inference_bind=sv.inference_bind, metrics_bind=sv.metrics_bind, grpc_inference_bind=sv.grpc_inference_bind,
        shm_size_mb=s.shm_size_mb, ulimit_memlock=sv.ulimit_memlock, ulimit_stack=sv.ulimit_stack, gpus=s.gpus,
        token_auth=sv.token_auth and not edge_checks_keys(s), token_expiration_min=sv.token_expiration_min,
        health_start_interval_s=sv.health_start_interval_s, cpu_launcher=sv.cpu_launcher,
        restart=sv.restart_policy,
        log_max_size_mb=s.log_max_size_mb, log_max_files=sv.log_max_files,
        labels=_labels(s) + ((MODELS_LABEL, digests),), log=log,
        files_dir=ROOT / ".build" / s.stack / "files" if s.host == "local" else None)


def _edge(s: Settings, tags: tuple[tuple[str, str], ...]) -> EdgeArgs | None:
    e = s.ec2
    if e.edge != "alb":
        return None
    return EdgeArgs(vpc_id="", vpc_cidr="", public_subnet_ids=[], target_port=s.server.inference_port,
                    health_port=s.server.health_port, domain_name=e.domain_name or None,
                    zone_id=e.hosted_zone_id or None, certificate_arn=e.certificate_arn or None, tls_policy=e.tls_policy,
                    allowed_cidrs=e.edge_cidrs, keys=[], deletion_protection=e.protect_data, tags=tags)


def _ec2(s: Settings) -> Ec2Plan:
    e, region, log_group = s.ec2, str(s.region), f"/torchserve-deploy/{s.stack}"
    tags = (("torchserve-deploy:stack", s.stack),)
    kms = e.kms_key_id or None
    return Ec2Plan(
        region=region, log_group=log_group, tags=tags,
        network=NetworkArgs(region=region, cidr=e.vpc_cidr, egress=egress(e), vpc_id=e.vpc_id or None,  # type: ignore[arg-type]
                            private_subnet_ids=e.private_subnet_ids, public_subnet_ids=e.public_subnet_ids, tags=tags),
        edge=_edge(s, tags),
        keys=InferenceKeysArgs(secret_name=f"torchserve-deploy/{s.stack}/inference-key", version=e.inference_key_version,
                               grace=e.inference_key_grace, kms_key_id=kms, protect=e.protect_data, tags=tags)
        if e.edge == "alb" else None,
        egress_http=e.ami_route == "ubuntu",
        ecr=EcrRepositoryArgs(name=f"{s.image.image_repository}-{s.stack}", existing_url=s.image.ecr_repository or None,
                              force_delete=not e.protect_data),
        bucket=ModelBucketArgs(name_prefix=f"torchserve-{s.stack}-models-", protect=e.protect_data, kms_key_id=kms,
                               tags=tags),
        store=EbsModelStoreArgs(availability_zone="", size_gb=e.model_store_gb, iops=e.model_store_iops,
                                throughput_mbs=e.model_store_throughput_mbs, kms_key_id=kms, protect=e.protect_data,
                                tags=tags),
        instance_type=e.instance_type, ami_id=e.ami_id or None, ami_route=e.ami_route, ubuntu_version=e.ubuntu_version,
        driver_branch=e.nvidia_driver_branch,
        driver_flavor="open" if gpu_family("torchserve-deploy:instanceType", e.instance_type).open_modules
        else "proprietary",
        inference_cidrs=e.inference_cidrs,
        inference_security_group_id=e.inference_security_group_id or None, metrics_cidr=e.metrics_cidr or None,
        ssh_cidrs=e.ssh_cidrs, root_volume_gb=e.root_volume_gb, kms_key_id=kms, log_retention_days=e.log_retention_days,
        observe=ObservabilityArgs(prefix=f"torchserve-{s.stack}", region=region, log_group_name=log_group,
                                  p99_ms=e.alarm_p99_ms if s.host == "ec2" else s.fleet.fleet_p99_alarm_ms,
                                  error_rate_percent=e.alarm_error_rate_percent,
                                  gpu_memory_percent=e.alarm_gpu_memory_percent, tags=tags),
        alarm_email=e.alarm_email or None)


def make_plan(s: Settings) -> Plan:
    image = image_args(s)
    image_ref = f"{image.repository}:{content_tag(image)}"
    models = tuple(_model(s, m, image_ref) for m in s.models)
    if s.host == "fleet":
        cloud = _ec2(s)
        # ECS instances in private subnets reach the ECS control plane through these (AWS ECS PrivateLink docs).
        cloud = replace(cloud, network=replace(cloud.network, extra_endpoints=ECS_ENDPOINTS
                                                if cloud.network.egress == "endpoints" else ()))
        store = Mount(CONTAINER_MODEL_STORE, MODELS_VOLUME, "volume", read_only=True)
        server = replace(_server(s, models, image_ref, store, awslogs(cloud)), management_in_container_loopback=True)
        return Plan(s.stack, s.host, s.image.build_type != "codebuild", image, image_ref, models, server, None, None,
                    cloud, True, fleet_plan(s, cloud, image, ROOT))
    if s.host == "ec2":
        ec2 = _ec2(s)
        # Container logs go to CloudWatch (the host's role may write this one log group).
        log = LogConfig(driver="awslogs", options=(("awslogs-group", ec2.log_group), ("awslogs-region", ec2.region),
                                                   ("tag", "{{.Name}}")))
        server = _server(s, models, image_ref, Mount(CONTAINER_MODEL_STORE, MODEL_STORE_DIR, "bind", read_only=True),
                         log)
        return Plan(s.stack, s.host, s.image.build_type != "codebuild", image, image_ref, models, server, None, None,
                    ec2, s.server.token_auth or edge_checks_keys(s))
    store = ModelStoreArgs(kind="volume" if s.store.model_store == "volume" else "hostDir",
                           host_path=None if s.store.model_store == "volume" else s.store_path,
                           volume_name=s.store_volume if s.store.model_store == "volume" else None,
                           protect=s.store.protect_model_store, labels=_labels(s))
    push = EcrRepositoryArgs(name=s.image.image_repository, existing_url=s.image.ecr_repository or None) \
        if s.image.image_push else None
    return Plan(s.stack, s.host, s.image.build_type != "codebuild", image, image_ref, models,
                _server(s, models, image_ref, store.mount, None), store, push, None, s.server.token_auth)
