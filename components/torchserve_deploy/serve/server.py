"""TorchServeServer: the serving container on a Docker host.

Creates one `docker.Container` (child `<name>-container`) from a `ContainerSpec`: ports
8080/8081/8082/7070/7071 and the health endpoint 8090 (management and gRPC management on 127.0.0.1 only),
shm 1 GiB, ulimits memlock=-1 and stack=67108864, optional GPUs, the model store mounted read-only,
a generated config.properties, restart policy, log rotation, and a healthcheck that is healthy only when
every configured model has READY workers. Hardened by default: no capabilities, no-new-privileges,
read-only root filesystem with tmpfs for TorchServe's run directory and /tmp.

With a read-only root the container's files (config.properties) cannot be uploaded into it, so they are
written under `files_dir` on the Docker host (child `<name>-files-<n>`, a command that writes its stdin)
and bind-mounted read-only — the same rendering compose and the EC2 host's systemd unit use. A label
carries the files' digest, so a changed config replaces the container.

Outputs: `container_name`, `inference_url`, `management_url`, `metrics_url`, `health_url`, `model_names`,
`token_command` (how a client reads the inference key).
"""
from __future__ import annotations

import dataclasses
import hashlib
import shlex
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from torchserve_deploy import validators as v
from torchserve_deploy.constants import (
    ANY_IPV4,
    CONTAINER_CONFIG,
    CONTAINER_KEY_FILE,
    CONTAINER_MODEL_STORE,
    CONTAINER_RUN_DIR,
    CONTAINER_TMP,
    CONTAINER_UID,
    CONTAINER_USER,
    HEALTH_PATH,
    LOOPBACK,
)
from torchserve_deploy.container.pulumi_args import render_container_args
from torchserve_deploy.container.spec import (
    ContainerSpec,
    FileUpload,
    Healthcheck,
    LogConfig,
    Mount,
    PortBinding,
    Tmpfs,
    files_as_mounts,
    serving_ulimits,
)
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.serve.config_properties import (
    ModelServing,
    ServerPorts,
    render_config_properties,
    torch_threads_env,
)

HEALTHCHECK_BIN = "/usr/local/bin/ts-healthcheck"
CONFIG_LABEL = "torchserve-deploy.config"
# Where a read-only root leaves TorchServe room to write: keys in its run directory, archives unpacked in /tmp.
HARDENED_TMPFS = (
    Tmpfs(CONTAINER_RUN_DIR, f"rw,noexec,nosuid,nodev,size=64m,uid={CONTAINER_UID},gid={CONTAINER_UID},mode=0700"),
    Tmpfs(CONTAINER_TMP, "rw,nosuid,nodev,size=4g,mode=1777"),
)


@dataclass(frozen=True)
class TorchServeServerArgs:
    """Arguments of TorchServeServer. Defaults are the secure, production-ready ones."""

    container_name: str
    image: pulumi.Input[str]
    """Image to run: the built image's ID/digest (an Output), so a new image replaces the container."""
    image_ref: str
    """Human-readable image reference (repository:tag), used in renderings such as compose."""
    models: tuple[ModelServing, ...]
    store: Mount
    """The model store, mounted read-only at /home/model-server/model-store."""
    host_ports: ServerPorts = ServerPorts()
    inference_bind: str = LOOPBACK
    """Also where the health endpoint is published (a load balancer probes it beside inference)."""
    metrics_bind: str = LOOPBACK
    grpc_inference_bind: str = LOOPBACK
    shm_size_mb: int = 1024
    ulimit_memlock: int = -1
    ulimit_stack: int = 67108864
    gpus: str | None = None
    token_auth: bool = True
    token_expiration_min: int = 60
    cpu_launcher: bool = False
    """TorchServe's CPU launcher: each model's workers pinned to their own share of the cores (CPU hosts)."""
    health_start_interval_s: int = 0
    """Healthcheck probe spacing during start (Docker engine 25+); 0 leaves it unset."""
    restart: str = "unless-stopped"
    log_max_size_mb: int = 10
    log_max_files: int = 3
    log: LogConfig | None = None
    """Another log driver (e.g. awslogs to CloudWatch on EC2); None rotates json-file logs locally."""
    labels: tuple[tuple[str, str], ...] = ()
    hardened: bool = True
    """cap-drop ALL, no-new-privileges, read-only root with tmpfs where TorchServe writes."""
    management_in_container_loopback: bool = False
    """TorchServe's management listeners on the container's own loopback (runtimes that cannot publish a port
    on the host's loopback, e.g. ECS): only the in-container healthcheck reaches them."""
    files_dir: Path | None = None
    """Absolute host directory the container's files are written to and bind-mounted from (needed by
    the TorchServeServer component when `hardened`: a read-only root takes no uploads)."""

    def __post_init__(self) -> None:
        arg = "TorchServeServerArgs."
        v.container_name(arg + "container_name", self.container_name)
        if not self.models:
            raise ValidationError(arg + "models", self.models, "at least one ModelServing", "add a model")
        v.unique(arg + "models", [m.name for m in self.models])
        for name, number in self.host_ports.as_dict().items():
            v.port(f"{arg}host_ports.{name}", number)
        v.distinct_ports(arg + "host_ports", self.host_ports.as_dict())
        for name in ("inference_bind", "metrics_bind", "grpc_inference_bind"):
            v.bind_address(arg + name, getattr(self, name))
        v.gpus(arg + "gpus", self.gpus or "")
        v.one_of(arg + "restart", self.restart, v.RESTART_POLICIES)
        v.int_range(arg + "health_start_interval_s", self.health_start_interval_s, 0, 60,
                    "a number of seconds (0 leaves it unset)")
        if self.cpu_launcher and self.gpus:
            raise ValidationError(arg + "cpu_launcher", True, "the CPU launcher only on a server without GPUs (it "
                                  "pins CPU cores for CPU inference)", "leave cpu_launcher off when gpus is set")
        if self.shm_size_mb < 1:
            raise ValidationError(arg + "shm_size_mb", self.shm_size_mb, "at least 1 (MiB)", "use 1024")
        if self.files_dir is not None and not self.files_dir.is_absolute():
            raise ValidationError(arg + "files_dir", str(self.files_dir), "an absolute directory",
                                  "resolve the path before passing it")


def _client_host(bind: str) -> str:
    """Where a client on the Docker host reaches a port published on `bind`."""
    return LOOPBACK if bind == ANY_IPV4 else bind


def build_server_spec(args: TorchServeServerArgs) -> ContainerSpec:
    """The one description of the serving container (pure)."""
    inside = ServerPorts()
    hp = args.host_ports
    ports = (
        PortBinding(inside.inference, hp.inference, args.inference_bind),
        # Management and gRPC management can register models and run code (ShellTorch):
        # they are published on the host's loopback only, whatever the other settings.
        PortBinding(inside.management, hp.management, LOOPBACK),
        PortBinding(inside.metrics, hp.metrics, args.metrics_bind),
        PortBinding(inside.grpc_inference, hp.grpc_inference, args.grpc_inference_bind),
        PortBinding(inside.grpc_management, hp.grpc_management, LOOPBACK),
        PortBinding(inside.health, hp.health, args.inference_bind),
    )
    config = render_config_properties(
        args.models, token_auth=args.token_auth, token_expiration_min=args.token_expiration_min,
        management_host=LOOPBACK if args.management_in_container_loopback else None,
        cpu_launcher=args.cpu_launcher,
    )
    names = tuple(m.name for m in args.models)
    threads = torch_threads_env(args.models)
    digest = hashlib.sha256(config.encode()).hexdigest()[:12]
    return ContainerSpec(
        name=args.container_name,
        image=args.image_ref,
        command=("serve",),
        env=(("TS_CONFIG_FILE", CONTAINER_CONFIG), ("TS_HEALTH_PORT", str(inside.health)),
             ("TS_HEALTH_MODELS", " ".join(names)), *((("TS_TORCH_THREADS", threads),) if threads else ())),
        ports=ports,
        mounts=(Mount(CONTAINER_MODEL_STORE, args.store.source, args.store.kind, read_only=True),),
        files=(FileUpload(CONTAINER_CONFIG, config),),
        ulimits=serving_ulimits(args.ulimit_memlock, args.ulimit_stack),
        shm_size_mb=args.shm_size_mb,
        gpus=args.gpus,
        user=CONTAINER_USER,
        healthcheck=Healthcheck(test=(HEALTHCHECK_BIN, *names), start_interval_s=args.health_start_interval_s),
        restart=args.restart,
        log=args.log or LogConfig(options=(("max-file", str(args.log_max_files)),
                                           ("max-size", f"{args.log_max_size_mb}m"))),
        labels=(*args.labels, (CONFIG_LABEL, digest)),
        cap_drop=("ALL",) if args.hardened else (),
        security_opts=("no-new-privileges:true",) if args.hardened else (),
        read_only=args.hardened,
        tmpfs=HARDENED_TMPFS if args.hardened else (),
    )


def config_in_env(spec: ContainerSpec) -> ContainerSpec:
    """The spec with config.properties passed as TS_CONFIG_PROPERTIES (the entrypoint writes it to its run
    directory), for runtimes that can neither upload nor bind-mount a file (ECS)."""
    contents = {f.path: f.content for f in spec.files}
    if set(contents) != {CONTAINER_CONFIG}:
        raise ValidationError("ContainerSpec.files", sorted(contents), f"only {CONTAINER_CONFIG}",
                              "pass other files through the image or a volume")
    env = tuple((k, val) for k, val in spec.env if k != "TS_CONFIG_FILE")
    return dataclasses.replace(spec, files=(), env=(*env, ("TS_CONFIG_PROPERTIES", contents[CONTAINER_CONFIG])))


class TorchServeServer(pulumi.ComponentResource):
    """The TorchServe container on the provider's Docker host (see module docstring)."""

    container_name: pulumi.Output[str]
    inference_url: pulumi.Output[str]
    management_url: pulumi.Output[str]
    metrics_url: pulumi.Output[str]
    health_url: pulumi.Output[str]
    model_names: pulumi.Output[list[str]]
    token_command: pulumi.Output[str]

    def __init__(self, name: str, args: TorchServeServerArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:server:TorchServeServer", name, None, opts)
        self.spec = build_server_spec(args)
        spec, writers = self.spec, []
        if args.files_dir is not None:
            spec, files = files_as_mounts(self.spec, str(args.files_dir))
            writers = [command.local.Command(
                f"{name}-files-{i}",
                create=f"mkdir -p {shlex.quote(str(Path(path).parent))} && cat > {shlex.quote(path)}",
                stdin=content, triggers=[hashlib.sha256(content.encode()).hexdigest()],
                opts=pulumi.ResourceOptions(parent=self)) for i, (path, content) in enumerate(sorted(files.items()))]
        elif args.hardened:
            raise ValidationError("TorchServeServerArgs.files_dir", None, "a host directory when hardened (a read-only "
                                  "root filesystem takes no uploads)", "pass files_dir, e.g. <repo>/.build/<stack>/files")
        self.container = docker.Container(
            f"{name}-container",
            **render_container_args(spec, image=args.image),
            # The replacement reuses the name and host ports, so the old container must go first
            # (pulumi-docker#1356); almost every container input forces a replacement.
            opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True, depends_on=writers),
        )
        hp = args.host_ports
        self.container_name = self.container.name
        self.inference_url = pulumi.Output.from_input(f"http://{_client_host(args.inference_bind)}:{hp.inference}")
        self.management_url = pulumi.Output.from_input(f"http://{LOOPBACK}:{hp.management}")
        self.metrics_url = pulumi.Output.from_input(f"http://{_client_host(args.metrics_bind)}:{hp.metrics}/metrics")
        self.health_url = pulumi.Output.from_input(f"http://{_client_host(args.inference_bind)}:{hp.health}{HEALTH_PATH}")
        self.model_names = pulumi.Output.from_input([m.name for m in args.models])
        self.token_command = self.container.name.apply(
            lambda c: f"docker exec {c} cat {CONTAINER_KEY_FILE}  # use .inference.key as 'Authorization: Bearer <key>'"
        )
        self.register_outputs({
            "container_name": self.container_name, "inference_url": self.inference_url,
            "management_url": self.management_url, "metrics_url": self.metrics_url, "health_url": self.health_url,
            "model_names": self.model_names, "token_command": self.token_command,
        })


__all__ = ["HARDENED_TMPFS", "TorchServeServer", "TorchServeServerArgs", "build_server_spec"]
