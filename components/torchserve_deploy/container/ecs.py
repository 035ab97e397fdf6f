"""Render a `ContainerSpec` as an ECS container definition (pure): one more rendering of the one spec.

The output is the camelCase `containerDefinitions[]` entry of ECS RegisterTaskDefinition, for an EC2
task in `bridge` network mode. Every `ContainerSpec` field is rendered or refused (ValidationError):

- name → name (ECS: letters, digits, '_' and '-'); image → image (the `image` argument wins)
- command → command; entrypoint → entryPoint; env → environment [{name, value}] in spec order
- ports → portMappings [{containerPort, hostPort, protocol}]; ports published on 127.0.0.1 are left
  unmapped (ECS has no host IP for a mapping); any other specific host IP is refused
- mounts → mountPoints [{sourceVolume, containerPath, readOnly}] for named volumes (a task
  volume of that name); bind mounts are refused (host paths are not portable across container instances)
- files → refused: ECS cannot place files; the caller converts them (e.g. a task volume) first
- ulimits → ulimits [{name, softLimit, hardLimit}]; shm_size_mb → linuxParameters.sharedMemorySize (MiB)
- gpus → resourceRequirements [{type: GPU, value}]: ECS reserves GPUs by count, not by device
- user → user; working_dir → workingDirectory; read_only → readonlyRootFilesystem
- healthcheck → healthCheck {command: [CMD, ...], interval, timeout, retries, startPeriod} within ECS's ranges
- restart → restartPolicy: "no" → none; "always"/"unless-stopped" → enabled; "on-failure" → enabled,
  exit code 0 ignored (ECS restarts the container in place; the service still replaces a stopped task)
- log → logConfiguration {logDriver, options}; labels → dockerLabels
- cap_drop → linuxParameters.capabilities.drop; security_opts → dockerSecurityOptions
  ("no-new-privileges:true" → "no-new-privileges", ECS's documented form)
- tmpfs → linuxParameters.tmpfs [{containerPath, size (MiB, from size=), mountOptions}]

Leaving a port unmapped hides it only in bridge mode: with awsvpc or host networking every port the
container listens on is reachable, so there TorchServe itself must bind management to 127.0.0.1.
"""
from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import Any

from torchserve_deploy.constants import ANY_IPV4, LOOPBACK
from torchserve_deploy.container.spec import ContainerSpec, Healthcheck, Mount, Tmpfs
from torchserve_deploy.errors import ValidationError

# Values ECS accepts, as the ECS API reference (and botocore's service model) lists them;
# tests/test_ecs_render.py checks these against the model bundled with botocore.
LOG_DRIVERS = ("json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens")
ULIMIT_NAMES = ("core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack")
DEPENDS_ON_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
TMPFS_OPTIONS = tuple(
    "defaults ro rw suid nosuid dev nodev exec noexec sync async dirsync remount mand nomand atime noatime "
    "diratime nodiratime bind rbind unbindable runbindable private rprivate shared rshared slave rslave "
    "relatime norelatime strictatime nostrictatime mode uid gid nr_inodes nr_blocks mpol".split())
CAPABILITIES = tuple(
    "ALL AUDIT_CONTROL AUDIT_WRITE BLOCK_SUSPEND CHOWN DAC_OVERRIDE DAC_READ_SEARCH FOWNER FSETID IPC_LOCK "
    "IPC_OWNER KILL LEASE LINUX_IMMUTABLE MAC_ADMIN MAC_OVERRIDE MKNOD NET_ADMIN NET_BIND_SERVICE NET_BROADCAST "
    "NET_RAW SETFCAP SETGID SETPCAP SETUID SYS_ADMIN SYS_BOOT SYS_CHROOT SYS_MODULE SYS_NICE SYS_PACCT SYS_PTRACE "
    "SYS_RAWIO SYS_RESOURCE SYS_TIME SYS_TTY_CONFIG SYSLOG WAKE_ALARM".split())
# ECS healthCheck limits in seconds (retries: a count), from the API reference.
HEALTHCHECK_RANGES = {"interval": (5, 300), "timeout": (2, 60), "retries": (1, 10), "startPeriod": (0, 300)}
DEFAULT_TMPFS_MB = 64
_ECS_NAME = re.compile(r"[A-Za-z0-9_-]{1,255}")
_SIZE = re.compile(r"(\d+)([kmg]?)", re.IGNORECASE)
_UNIT = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _one_of(key: str, value: str, allowed: Iterable[str]) -> str:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValidationError(key, value, "one of " + ", ".join(allowed), "use a value ECS accepts")
    return value


def _ecs_name(key: str, value: str, what: str) -> str:
    if not _ECS_NAME.fullmatch(value):
        raise ValidationError(key, value, f"an ECS {what} name: up to 255 letters, digits, '_' and '-'",
                              "rename it without dots or other characters")
    return value


def _port_mappings(spec: ContainerSpec) -> list[dict[str, Any]]:
    mappings = []
    for i, p in enumerate(spec.ports):
        if p.host_ip == LOOPBACK:
            # Published on the host's loopback only (management 8081, gRPC management 7071: they can
            # register models and run code). An ECS port mapping has no host IP, so mapping such a port
            # would publish it on every interface: on ECS it is simply not mapped.
            continue
        if p.host_ip != ANY_IPV4:
            raise ValidationError(f"{spec.name}.ports[{i}].host_ip", p.host_ip, f"{ANY_IPV4} or {LOOPBACK} "
                                  "(an ECS port mapping cannot bind one host address)",
                                  "publish on all interfaces and restrict with security groups")
        mappings.append({"containerPort": p.container_port, "hostPort": p.host_port, "protocol": p.protocol})
    return mappings


def _mount_points(spec: ContainerSpec, extra: tuple[Mount, ...]) -> list[dict[str, Any]]:
    points = []
    for i, m in enumerate((*spec.mounts, *extra)):
        key = f"{spec.name}.mounts[{i}] ({m.target})"
        if m.kind != "volume":
            raise ValidationError(key, m.source, "a named volume (ECS cannot bind-mount a host path portably)",
                                  "declare a task volume (host, EFS or Docker volume) and mount it by name")
        points.append({"sourceVolume": _ecs_name(key, m.source, "volume"), "containerPath": m.target,
                       "readOnly": m.read_only})
    return points


def _tmpfs_size_mb(key: str, value: str) -> int:
    match = _SIZE.fullmatch(value)
    if not match:
        raise ValidationError(key, value, "a size in bytes or with k, m or g (ECS needs a fixed size)",
                              "use e.g. size=64m")
    size_bytes = int(match[1]) * _UNIT[match[2].lower()]
    if size_bytes < 1:
        raise ValidationError(key, value, "a non-zero size (ECS refuses size 0)", "use e.g. size=64m")
    return math.ceil(size_bytes / _UNIT["m"])


def _tmpfs(spec: ContainerSpec, t: Tmpfs, default_mb: int) -> dict[str, Any]:
    """ECS takes the size (MiB) apart from the options; each other option must be one ECS lists.
    Options with values (uid=1000, mode=0700) keep them: a bare "uid" or "mode" mounts nothing useful."""
    key = f"{spec.name}.tmpfs[{t.path}]"
    size, options = default_mb, []
    for option in filter(None, (o.strip() for o in t.options.split(","))):
        name, _, value = option.partition("=")
        if name == "size":
            size = _tmpfs_size_mb(key, value)
        else:
            _one_of(f"{key} option {option!r}", name, TMPFS_OPTIONS)
            options.append(option)
    entry: dict[str, Any] = {"containerPath": t.path, "size": size}
    if options:
        entry["mountOptions"] = options
    return entry


def _security_option(key: str, option: str) -> str:
    """ECS documents "no-new-privileges" | "apparmor:PROFILE" | "label:value" | "credentialspec:...";
    Docker's "no-new-privileges:true" and "label=..." are the same options spelled differently."""
    if option in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"):
        return "no-new-privileges"
    kind, sep, value = option.replace("=", ":", 1).partition(":")
    if sep and value and kind in ("apparmor", "label", "credentialspec"):
        return f"{kind}:{value}"
    raise ValidationError(key, option, '"no-new-privileges", "apparmor:PROFILE", "label:value" or '
                          '"credentialspec:PATH" (ECS supports no seccomp profile, and false is the default)',
                          "drop the option or use one of those forms")


def _healthcheck(name: str, hc: Healthcheck) -> dict[str, Any]:
    if not hc.test:
        raise ValidationError(f"{name}.healthcheck.test", hc.test, "a non-empty command", "give the command")
    timings = {"interval": hc.interval_s, "timeout": hc.timeout_s, "retries": hc.retries,
               "startPeriod": hc.start_period_s}
    for field, (low, high) in HEALTHCHECK_RANGES.items():
        if not low <= timings[field] <= high:
            raise ValidationError(f"{name}.healthcheck.{field}", timings[field], f"{low} to {high} on ECS",
                                  f"set it within {low}..{high}")
    return {"command": ["CMD", *hc.test], **timings}


def _restart_policy(name: str, restart: str) -> dict[str, Any] | None:
    if restart == "no":
        return None
    if restart in ("always", "unless-stopped"):
        return {"enabled": True}
    if restart == "on-failure":
        return {"enabled": True, "ignoredExitCodes": [0]}
    raise ValidationError(f"{name}.restart", restart, "no, always, unless-stopped or on-failure (ECS cannot "
                          "count retries)", "use on-failure")


def _gpu_count(name: str, gpus: str | None, gpu_count: int | None) -> int | None:
    if gpus is None:
        if gpu_count is not None:
            raise ValidationError(f"{name}.gpus", None, "a GPU setting in the spec when gpu_count is given",
                                  "set gpus in the spec (the one description) or drop gpu_count")
        return None
    devices = None if gpus == "all" else len(gpus.split(","))
    count = gpu_count if gpu_count is not None else devices
    if count is None:
        raise ValidationError(f"{name}.gpus", gpus, "a GPU count on ECS (it reserves GPUs by number)",
                              "pass gpu_count, e.g. the instance type's GPU count")
    if count < 1 or (devices is not None and count != devices):
        raise ValidationError(f"{name}.gpu_count", count, f"{devices or 'at least 1'} (from gpus={gpus!r})",
                              "make gpu_count match the spec's GPUs")
    return count


def render_container_definition(
    spec: ContainerSpec, *, image: str, essential: bool = True, gpu_count: int | None = None,
    cpu: int | None = None, memory_mb: int | None = None, memory_reservation_mb: int | None = None,
    secrets: tuple[tuple[str, str], ...] = (), depends_on: tuple[tuple[str, str], ...] = (),
    mount_points: tuple[Mount, ...] = (), init_process: bool = False, tmpfs_default_mb: int = DEFAULT_TMPFS_MB,
) -> dict[str, Any]:
    """The ECS container definition for `spec` (see module docstring), with ECS-only settings:
    `image` (e.g. the ECR digest reference), `essential`, `gpu_count` (required for gpus="all"),
    `cpu` units, `memory_mb` / `memory_reservation_mb` (MiB), `secrets` as (env name, Secrets Manager
    or SSM ARN), `depends_on` as (container, START|COMPLETE|SUCCESS|HEALTHY), `mount_points`: more
    named-volume mounts (e.g. where the caller put the spec's files), `init_process`, and the size of
    a tmpfs whose options give none (ECS needs one)."""
    name = _ecs_name(f"{spec.name}.name", spec.name, "container")
    if spec.files:
        raise ValidationError(f"{name}.files", [f.path for f in spec.files], "no files (ECS cannot place files "
                              "into a container)", "provide them from a task volume and pass spec without files")
    out: dict[str, Any] = {"name": name, "image": image, "essential": essential}
    if spec.entrypoint:
        out["entryPoint"] = list(spec.entrypoint)
    if spec.command:
        out["command"] = list(spec.command)
    if spec.env:
        out["environment"] = [{"name": k, "value": v} for k, v in spec.env]
    clash = sorted({k for k, _ in spec.env} & {k for k, _ in secrets})
    if clash:
        raise ValidationError(f"{name}.secrets", clash, "names not also in env", "rename or drop one of them")
    if secrets:
        out["secrets"] = [{"name": k, "valueFrom": arn} for k, arn in secrets]
    if depends_on:
        out["dependsOn"] = [{"containerName": _ecs_name(f"{name}.depends_on", c, "container"),
                             "condition": _one_of(f"{name}.depends_on[{c}]", cond, DEPENDS_ON_CONDITIONS)}
                            for c, cond in depends_on]
    ports = _port_mappings(spec)
    if ports:
        out["portMappings"] = ports
    mounts = _mount_points(spec, mount_points)
    if mounts:
        out["mountPoints"] = mounts
    sizes = (("cpu", cpu, 0), ("memory", memory_mb, 6), ("memoryReservation", memory_reservation_mb, 6))
    for field, value, low in sizes:
        if value is not None:
            if value < low:
                raise ValidationError(f"{name}.{field}", value, f"at least {low}", f"raise {field}")
            out[field] = value
    if memory_mb is not None and memory_reservation_mb is not None and memory_mb <= memory_reservation_mb:
        raise ValidationError(f"{name}.memory", memory_mb, "more than memoryReservation", "raise memory_mb")
    count = _gpu_count(name, spec.gpus, gpu_count)
    if count is not None:
        out["resourceRequirements"] = [{"type": "GPU", "value": str(count)}]
    if spec.user is not None:
        out["user"] = spec.user
    if spec.working_dir is not None:
        out["workingDirectory"] = spec.working_dir
    out["readonlyRootFilesystem"] = spec.read_only
    linux: dict[str, Any] = {}
    if spec.cap_drop:
        linux["capabilities"] = {"drop": [_one_of(f"{name}.cap_drop", c, CAPABILITIES) for c in spec.cap_drop]}
    if init_process:
        linux["initProcessEnabled"] = True
    if spec.shm_size_mb is not None:
        linux["sharedMemorySize"] = spec.shm_size_mb
    if spec.tmpfs:
        linux["tmpfs"] = [_tmpfs(spec, t, tmpfs_default_mb) for t in spec.tmpfs]
    if linux:
        out["linuxParameters"] = linux
    if spec.security_opts:
        out["dockerSecurityOptions"] = [_security_option(f"{name}.security_opts", o) for o in spec.security_opts]
    if spec.ulimits:
        out["ulimits"] = [{"name": _one_of(f"{name}.ulimits", u.name, ULIMIT_NAMES), "softLimit": u.soft,
                           "hardLimit": u.hard} for u in spec.ulimits]
    if spec.healthcheck is not None:
        out["healthCheck"] = _healthcheck(name, spec.healthcheck)
    restart = _restart_policy(name, spec.restart)
    if restart is not None:
        out["restartPolicy"] = restart
    out["logConfiguration"] = {"logDriver": _one_of(f"{name}.log.driver", spec.log.driver, LOG_DRIVERS),
                               "options": dict(spec.log.options)}
    if spec.labels:
        out["dockerLabels"] = dict(spec.labels)
    return out


def render_container_definitions(definitions: Iterable[dict[str, Any]]) -> str:
    """The `containerDefinitions` JSON: sorted keys, compact separators, so the same specs give the same bytes."""
    return json.dumps(list(definitions), sort_keys=True, separators=(",", ":"))
