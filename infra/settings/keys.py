"""The ONE declaration of every stack setting: type, default, doc, constraint, the hosts it applies to,
and whether it may hold a secret. Pulumi.yaml's config block and the README table are generated from it.

Each section is a frozen pydantic model whose field names are the snake_case of the config keys
(`inference_port` ↔ `torchserve-deploy:inferencePort`). Types and ranges are pydantic's; shapes that
reach a shell, a unit file or a Dockerfile are full-match validators from torchserve_deploy. The ec2
host's keys are in keys_ec2.py.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel
from torchserve_deploy import validators as v
from torchserve_deploy.image.variants import BUILD_TYPES, PYTHON_VERSIONS, TORCHSERVE_VERSIONS
from torchserve_deploy.serve.config_properties import MAX_TORCH_THREADS, MAX_WORKERS_PER_MODEL

from infra.settings.declare import BOTH, EC2, LOCAL, PORT_ALLOWED, K, Port, Section, check, full_key
from infra.settings.keys_ec2 import Ec2Section
from infra.settings.keys_fleet import FleetSection

__all__ = ["BOTH", "EC2", "LOCAL", "Ec2Section", "FleetSection", "K", "full_key"]


class ImageSection(Section):
    image_repository: Annotated[str, check(v.image_repository), K(
        "Repository name of the TorchServe image (local; on ec2 the per-stack ECR repository is named from it).",
        "a Docker repository name: lowercase letters and digits, separated by '.', '_', '-' or '/'",
        "torchserve-deploy")] = "torchserve-deploy"
    build_type: Annotated[Literal["production", "dev", "codebuild"], K(
        "Image build type: production (serves), dev (TorchServe from source, serves) or codebuild (CI image only, "
        "no server).", "one of " + ", ".join(BUILD_TYPES), "production")] = "production"
    accelerator: Annotated[Literal["cpu", "cuda"], K("Image variant: cpu or cuda.", "cpu or cuda", "cpu")] = "cpu"
    cuda_version: Annotated[str, K("CUDA variant when accelerator is cuda: cu118, cu121, cu124, cu126 or cu128.",
                                   "a CUDA variant such as cu128", "cu128")] = ""
    base_image: Annotated[str, check(lambda k, x: x == "" or v.image_reference(k, x)), K(
        "Base image; empty means the variant's (debian:bookworm-slim or nvidia/cuda:*-base).",
        "a Docker image reference", "debian:bookworm-slim")] = ""
    torchserve_version: Annotated[str, check(lambda k, x: v.one_of(k, x, TORCHSERVE_VERSIONS)), K(
        "torchserve and torch-model-archiver version in the image (0.11.1 or later: earlier ones ignore token auth).",
        "one of " + ", ".join(TORCHSERVE_VERSIONS), "0.12.0")] = "0.12.0"
    torch_version: Annotated[str, K("torch version; empty means the variant's default (CPU: 2.13.0).",
                                    "a torch release the variant publishes", "2.13.0")] = ""
    python_version: Annotated[str, check(lambda k, x: x == "" or v.one_of(k, x, PYTHON_VERSIONS)), K(
        "Python in the image; empty means the base distribution's (3.11 / 3.10 / 3.12).",
        "one of " + ", ".join(PYTHON_VERSIONS), "3.11")] = ""
    pip_index_url: Annotated[str, K("Package index for the image build (https; may hold a token: set it as a secret).",
                                    "an https package index URL", "https://pypi.org/simple",
                                    secret=True)] = "https://pypi.org/simple"
    torch_index_url: Annotated[str, K("torch wheel index; empty means download.pytorch.org/whl/<cpu or cuXXX>.",
                                      "an https package index URL", "https://download.pytorch.org/whl/cpu",
                                      secret=True)] = ""
    allow_insecure_indexes: Annotated[bool, K("Accept http:// package indexes (a trusted local mirror only).",
                                              "true or false", "false")] = False
    platform: Annotated[Literal["linux/amd64", "linux/arm64"], K(
        "Image platform: linux/amd64, or linux/arm64 for CPU images.", "linux/amd64 or linux/arm64",
        "linux/amd64")] = "linux/amd64"
    extra_pip_packages: Annotated[tuple[str, ...], check(v.pinned_requirements), K(
        "Pinned pip requirements added to the image, e.g. torchvision==0.28.0.", "a list of name==version",
        "[torchvision==0.28.0]")] = ()
    extra_apt_packages: Annotated[tuple[str, ...], check(v.apt_packages), K(
        "Distribution packages added to the image, e.g. libgl1.", "a list of Debian/Ubuntu package names",
        "[libgl1]")] = ()
    image_tags: Annotated[tuple[str, ...], check(v.docker_tags), K(
        "Custom tags beside the content-addressed one (never latest by default).", "a list of Docker tags",
        "[v1.2.0]")] = ()
    image_push: Annotated[bool, K("Push the image to ECR (for remote hosts).", "true or false", "false",
                                  hosts=(LOCAL,))] = False
    ecr_repository: Annotated[str, K("ECR repository URL or ARN to push to; empty with imagePush (or on ec2) creates "
                                     "one per stack.", "an ECR repository URL or ARN",
                                     "123456789012.dkr.ecr.us-east-1.amazonaws.com/torchserve")] = ""
    dev_source_repo: Annotated[str, K("Git repository TorchServe is built from (buildType dev).",
                                      "an https git repository URL", "https://github.com/pytorch/serve.git",
                                      secret=True)] = "https://github.com/pytorch/serve.git"
    dev_source_ref: Annotated[str, check(v.git_ref), K("Branch, tag or commit of devSourceRepo (buildType dev).",
                                                       "a git branch, tag or commit", "v0.12.0")] = "v0.12.0"


class ServerSection(Section):
    container_name: Annotated[str, check(lambda k, x: x == "" or v.container_name(k, x)), K(
        "Container name; empty means torchserve-<stack> (a fleet's task names its container itself).",
        "a Docker container name", "torchserve-dev", hosts=(LOCAL, EC2))] = ""
    inference_bind: Annotated[str, check(v.bind_address), K(
        "Host address the inference port 8080 is published on.", "an IPv4 address", "127.0.0.1")] = "127.0.0.1"
    metrics_bind: Annotated[str, check(v.bind_address), K(
        "Host address the metrics port 8082 is published on.", "an IPv4 address", "127.0.0.1")] = "127.0.0.1"
    grpc_inference_bind: Annotated[str, check(v.bind_address), K(
        "Host address the gRPC inference port 7070 is published on.", "an IPv4 address", "127.0.0.1",
        hosts=(LOCAL,))] = "127.0.0.1"
    inference_port: Annotated[Port, K("Host port for inference.", PORT_ALLOWED, "8080")] = 8080
    management_port: Annotated[Port, K("Host port for management (always on 127.0.0.1).", PORT_ALLOWED, "8081")] = 8081
    metrics_port: Annotated[Port, K("Host port for metrics.", PORT_ALLOWED, "8082")] = 8082
    grpc_inference_port: Annotated[Port, K("Host port for gRPC inference.", PORT_ALLOWED, "7070")] = 7070
    grpc_management_port: Annotated[Port, K("Host port for gRPC management (always on 127.0.0.1).", PORT_ALLOWED,
                                            "7071")] = 7071
    health_port: Annotated[Port, K("Host port of the token-free health endpoint (GET /healthz: 200 only when every "
                                   "model's workers are READY), published beside inference.", PORT_ALLOWED,
                                   "8090")] = 8090
    health_start_interval_s: Annotated[int, Field(ge=0, le=60), K(
        "Docker engine 25 or later: seconds between health probes during the start period, so the container (and "
        "pulumi up) turns healthy about that long after the models are READY instead of up to a whole interval "
        "later; 0 leaves it unset (older engines refuse it: make deploy's check says which you have).",
        "an integer from 0 to 60", "1", hosts=(LOCAL,))] = 0
    cpu_launcher: Annotated[bool, K(
        "TorchServe's CPU launcher: each model's workers pinned to their own share of the cores, with that many "
        "OMP threads each (CPU servers only; make tune tries it).", "true or false", "false",
        hosts=(LOCAL,))] = False
    shm_size: Annotated[str, check(lambda k, x: v.size_to_mb(k, x, low_mb=16, high_mb=256 * 1024)), K(
        "Size of /dev/shm, e.g. 512m or 1g (16m to 256g).", "a size from 16m to 256g", "1g")] = "1g"
    ulimit_memlock: Annotated[int, Field(ge=-1, le=2**40), check(v.memlock),
                              K("memlock ulimit in bytes (soft = hard); -1 is unlimited.",
                                "-1 (unlimited) or 65536 to 2^40 bytes", "-1")] = -1
    ulimit_stack: Annotated[int, Field(ge=1048576, le=2**34), K(
        "stack ulimit in bytes (soft = hard).", "an integer from 1048576 to 17179869184", "67108864")] = 67108864
    gpus: Annotated[str, check(v.gpus), K('GPUs for the container: "" (none), "all", or device indexes like "1,2".',
                                          '"", "all" or device indexes like "0,1"', "all")] = ""
    token_auth: Annotated[bool, K("TorchServe token authorization: off only on a local stack (with a warning); a "
                                  "cloud host keeps it on without the edge, and behind the edge the edge checks the "
                                  "stack's key instead.",
                                  "true or false", "true")] = True
    token_expiration_min: Annotated[int, Field(ge=1, le=525600), K(
        "Minutes an inference/management key lives.", "an integer from 1 to 525600", "60")] = 60
    restart_policy: Annotated[Literal["no", "on-failure", "always", "unless-stopped"], K(
        "Container restart policy (local host; systemd restarts it on ec2).",
        "one of " + ", ".join(v.RESTART_POLICIES), "unless-stopped", hosts=(LOCAL,))] = "unless-stopped"
    log_max_size: Annotated[str, check(lambda k, x: v.size_to_mb(k, x, low_mb=1, high_mb=1024)), K(
        "Container log file size before rotation (1m to 1g).", "a size from 1m to 1g", "10m",
        hosts=(LOCAL,))] = "10m"
    log_max_files: Annotated[int, Field(ge=1, le=100), K("Rotated container log files kept.",
                                                         "an integer from 1 to 100", "3", hosts=(LOCAL,))] = 3


class ModelDefaults(Section):
    """Stack-wide defaults for every model; `models.<name>` overrides them per model."""

    workers_per_model: Annotated[int, Field(ge=1, le=MAX_WORKERS_PER_MODEL), K("Default workers per model (min = max).",
                                                             "an integer from 1 to 64", "1")] = 1
    batch_size: Annotated[int, Field(ge=1, le=1024), K("Default dynamic batch size per model.",
                                                        "an integer from 1 to 1024", "4")] = 4
    max_batch_delay_ms: Annotated[int, Field(ge=0, le=60000), K("Default longest wait to fill a batch, in ms.",
                                                                 "an integer from 0 to 60000", "5")] = 5
    response_timeout_s: Annotated[int, Field(ge=1, le=86400), K("Default seconds a worker may take for one batch.",
                                                                 "an integer from 1 to 86400", "120")] = 120
    torch_threads: Annotated[int, Field(ge=0, le=MAX_TORCH_THREADS), K(
        "Default torch threads per worker (torch.set_num_threads before the handler loads); 0 leaves torch's "
        "default, one per core (oversubscribing the cores when several workers share them), or under cpuLauncher "
        "the launcher's share of the cores per worker; a value set here wins over the launcher's.",
        f"an integer from 0 to {MAX_TORCH_THREADS}", "0")] = 0
    p99_target_ms: Annotated[int, Field(ge=1, le=600000), K(
        "The p99 latency bound make tune keeps to when it picks each model's workers and batching, in ms.",
        "an integer from 1 to 600000", "100", hosts=(LOCAL,))] = 100
    train: Annotated[bool, K("Default for models that declare a trainer: train them and serve the checkpoint.",
                             "true or false", "false", hosts=(LOCAL,))] = False


class StoreSection(Section):
    model_store: Annotated[Literal["hostDir", "volume", "ebs", "task"], K(
        "Model store kind: hostDir or volume (local host), ebs (ec2 host), task (fleet: a task volume filled from "
        "the model bucket before the server starts).", "hostDir or volume (local), ebs (ec2), task (fleet)",
        "hostDir")] = "hostDir"
    model_store_path: Annotated[str, K("hostDir store path, inside the repo or a hostPathRoots entry; empty means "
                                       ".build/<stack>/model-store.", "a directory inside the repo or hostPathRoots",
                                       ".build/dev/model-store", hosts=(LOCAL,))] = ""
    model_store_volume: Annotated[str, check(lambda k, x: x == "" or v.container_name(k, x)), K(
        "volume store name; empty means torchserve-<stack>-models.", "a Docker volume name",
        "torchserve-dev-models", hosts=(LOCAL,))] = ""
    protect_model_store: Annotated[bool, K("Protect the model-store volume from pulumi destroy.", "true or false",
                                           "true", hosts=(LOCAL,))] = False
    training_outputs_path: Annotated[str, K(
        "Training outputs directory (in the repo or hostPathRoots); empty means .build/<stack>/training.",
        "a directory inside the repo or hostPathRoots", ".build/dev/training", hosts=(LOCAL,))] = ""
    host_path_roots: Annotated[tuple[str, ...], K(
        "Absolute directories outside the repo that host paths (store, training outputs and data, model "
        "directories) may use; none by default.", "absolute directories that are not system directories",
        "[/srv/ml]", hosts=(LOCAL,))] = ()


class ModelEntry(BaseModel):
    """One entry of `models`: where the model lives and how it is served (unset fields take the defaults)."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel,
                              populate_by_name=True)
    path: str
    workers: Annotated[int, Field(ge=1, le=MAX_WORKERS_PER_MODEL)] | None = None
    batch_size: Annotated[int, Field(ge=1, le=1024)] | None = None
    max_batch_delay_ms: Annotated[int, Field(ge=0, le=60000)] | None = None
    response_timeout_s: Annotated[int, Field(ge=1, le=86400)] | None = None
    torch_threads: Annotated[int, Field(ge=0, le=MAX_TORCH_THREADS)] | None = None
    train: bool | dict[str, Any] | None = None
    """true/false, or the trainer's parameters ({epochs: 5}); a mapping means train."""


MODELS_KEY = "models"
MODELS_DOC = ("Models to serve, a map from name to {path, workers, batchSize, maxBatchDelayMs, responseTimeoutS, "
              "torchThreads, train}; path is a directory with a torchserve-model.yaml.")
MODELS_DEFAULT: dict[str, dict[str, Any]] = {"demo": {"path": "models/demo"}}
HOST_KEY = "host"
HOST_DOC = ("Where the server runs: local (the Docker host pulumi talks to), ec2 (one GPU instance the stack creates) "
            "or fleet (ECS tasks on an auto-scaled group of GPU instances), the cloud ones behind the HTTPS edge.")

SECTIONS: dict[str, type[Section]] = {"image": ImageSection, "server": ServerSection, "defaults": ModelDefaults,
                                      "store": StoreSection, "ec2": Ec2Section, "fleet": FleetSection}
RETIRED = {"trainingParams": "per-model parameters moved to models.<name>.train, e.g. models: {demo: {path: "
                             "models/demo, train: {epochs: 5}}}",
           "subnetId": "hosts now sit in private subnets: set vpcId with privateSubnetIds (the first holds the "
                       "host) and publicSubnetIds (the edge), or leave all three unset to create a VPC"}


@dataclass(frozen=True)
class KeyDecl:
    """A config key as the generators and the loader see it."""

    name: str
    field: str
    section: str
    type: str
    default: Any
    meta: K


def _pulumi_type(annotation: Any) -> str:
    text = str(annotation)
    if annotation is bool:
        return "boolean"
    if annotation is int:
        return "integer"
    if "tuple" in text:
        return "array"
    return "string"


def _meta(metadata: list[Any]) -> K:
    found = [m for m in metadata if isinstance(m, K)]
    assert len(found) == 1, metadata
    return found[0]


def declarations() -> tuple[KeyDecl, ...]:
    """Every flat key, in declaration order (host first)."""
    out = [KeyDecl(HOST_KEY, "host", "", "string", LOCAL,
                   K(HOST_DOC, "local, ec2 or fleet", "local"))]
    for section, model in SECTIONS.items():
        for field, info in model.model_fields.items():
            default = list(info.default) if isinstance(info.default, tuple) else info.default
            out.append(KeyDecl(to_camel(field), field, section, _pulumi_type(info.annotation), default,
                               _meta(info.metadata)))
    return tuple(out)


KEYS = declarations()
KEY_BY_NAME = {k.name: k for k in KEYS}
