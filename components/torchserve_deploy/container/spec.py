"""One description of a container, from which every rendering is made.

`ContainerSpec` is plain, frozen data: ports, shm, ulimits, GPUs, mounts, command, env, files,
healthcheck, user, restart and logging. The Pulumi `docker.Container` arguments
(`torchserve_deploy.container.pulumi_args`), and later a docker-compose service, are pure renderings of it —
never hand-kept copies.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import PurePosixPath
from typing import Literal

from torchserve_deploy.constants import LOOPBACK
from torchserve_deploy.validators import portable_path


@dataclass(frozen=True)
class PortBinding:
    """Publish `container_port` on the host as `host_ip:host_port`."""

    container_port: int
    host_port: int
    host_ip: str = LOOPBACK
    protocol: Literal["tcp", "udp"] = "tcp"


@dataclass(frozen=True)
class Mount:
    """A bind mount (`source` is an absolute host path) or a named volume (`source` is its name)."""

    target: str
    source: str
    kind: Literal["bind", "volume"]
    read_only: bool = False

    def __post_init__(self) -> None:
        # Quoted by construction everywhere they are rendered; refused here when a character would change
        # the meaning of a `--mount type=bind,source=...` value (Docker parses it as CSV).
        portable_path("Mount.source", self.source)
        portable_path("Mount.target", self.target)


@dataclass(frozen=True)
class Ulimit:
    name: str
    soft: int
    hard: int


def serving_ulimits(memlock: int, stack: int) -> tuple[Ulimit, ...]:
    """PyTorch containers' ulimits (soft = hard): memlock (-1 = unlimited) and stack in bytes."""
    return (Ulimit("memlock", memlock, memlock), Ulimit("stack", stack, stack))


@dataclass(frozen=True)
class Healthcheck:
    """Exec-form test plus timings in whole seconds."""

    test: tuple[str, ...]
    interval_s: int = 10
    timeout_s: int = 5
    start_period_s: int = 60
    retries: int = 3
    start_interval_s: int = 0
    """Probe spacing during the start period (Docker engine 25 and later only); 0 leaves it unset."""


@dataclass(frozen=True)
class FileUpload:
    """A text file placed into the container before it starts (e.g. config.properties)."""

    path: str
    content: str


@dataclass(frozen=True)
class Tmpfs:
    """A tmpfs mounted at `path` with mount `options` (e.g. "rw,nosuid,nodev,size=64m,uid=1000,gid=1000,mode=0700")."""

    path: str
    options: str = "rw,nosuid,nodev"


@dataclass(frozen=True)
class LogConfig:
    driver: str = "json-file"
    options: tuple[tuple[str, str], ...] = (("max-file", "3"), ("max-size", "10m"))


@dataclass(frozen=True)
class ContainerSpec:
    """Everything a container runtime needs to run one container.

    `gpus` is None (no GPU), "all", or a device list such as "1,2".
    `shm_size_mb` is in MiB, as both Docker's API (via the provider) and compose expect it.
    """

    name: str
    image: str
    command: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    ports: tuple[PortBinding, ...] = ()
    mounts: tuple[Mount, ...] = ()
    files: tuple[FileUpload, ...] = ()
    ulimits: tuple[Ulimit, ...] = ()
    shm_size_mb: int | None = None
    gpus: str | None = None
    user: str | None = None
    working_dir: str | None = None
    healthcheck: Healthcheck | None = None
    restart: str = "unless-stopped"
    log: LogConfig = field(default_factory=LogConfig)
    labels: tuple[tuple[str, str], ...] = ()
    cap_drop: tuple[str, ...] = ()
    """Linux capabilities removed ("ALL" for none at all)."""
    security_opts: tuple[str, ...] = ()
    """e.g. "no-new-privileges:true": setuid binaries cannot raise privileges."""
    read_only: bool = False
    """Read-only root filesystem; writable places are `tmpfs` entries and mounts."""
    tmpfs: tuple[Tmpfs, ...] = ()


def files_as_mounts(spec: ContainerSpec, host_dir: str) -> tuple[ContainerSpec, dict[str, str]]:
    """For runtimes that cannot place files into a container (compose, `docker run` under systemd):
    the spec with each file bind-mounted read-only from `host_dir/<container name>/<file name>`, plus
    {host path: content} to write there first."""
    files, mounts = {}, list(spec.mounts)
    for f in spec.files:
        source = f"{host_dir}/{spec.name}/{PurePosixPath(f.path).name}"
        files[source] = f.content
        mounts.append(Mount(f.path, source, "bind", read_only=True))
    return replace(spec, files=(), mounts=tuple(mounts)), files


def docker_gpus(gpus: str | None) -> str | None:
    """Docker's `--gpus` value: "all", or "device=1,2" for a device list."""
    if gpus is None:
        return None
    return "all" if gpus == "all" else f"device={gpus}"
