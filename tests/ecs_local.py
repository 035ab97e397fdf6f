"""Run an ECS task's containerDefinitions (the ECS API's JSON, as rendered by container/ecs.py) on the local
Docker engine, field by field, for `-m docker` tests.

Like the ECS agent: one fresh Docker volume per task volume (`sourceVolume`), removed afterwards; a container
is created and started only once its dependsOn conditions hold (START, COMPLETE, SUCCESS, HEALTHY).

Every key is mapped or refused: a key this module does not know fails the run before anything is created,
so a field the renderer starts to emit is never silently dropped. What cannot be the same here is changed
openly, each change printed as a note (and kept in `LocalTask.notes`):
- image: the container's local image, looked up by container name (the definition names a registry image);
- an init container's S3 source (`command: [s3://..., DEST]`) becomes `--source-dir /bucket DEST`, with the
  stand-in bucket directory bind-mounted read-only at /bucket;
- resourceRequirements GPU: dropped (no GPU on this machine);
- memlock ulimit: lowered to tests.engine.TEST_MEMLOCK_BYTES (this machine refuses unlimited);
- portMappings: published on 127.0.0.1 only, on host ports free at run time (ECS: hostPort on the instance);
- logConfiguration awslogs: json-file (no CloudWatch here).
Not emulated: `essential` (ECS stops the task when an essential container stops: the caller watches the
containers) and ECS's restart-attempt period.
"""
from __future__ import annotations

import contextlib
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker.errors
import docker.types

from tests.engine import TEST_LABEL, TEST_MEMLOCK_BYTES

BUCKET_MOUNT = "/bucket"
GPU_NOTE = "GPU requirement dropped: no GPU on this machine"
NS = 1_000_000_000
# ECS healthCheck defaults (seconds), for keys a definition leaves out.
HEALTHCHECK_DEFAULTS = {"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0}

KNOWN = {
    "container": {"name", "image", "essential", "command", "entryPoint", "environment", "user", "workingDirectory",
                  "readonlyRootFilesystem", "linuxParameters", "dockerSecurityOptions", "ulimits", "healthCheck",
                  "mountPoints", "dockerLabels", "portMappings", "logConfiguration", "resourceRequirements",
                  "dependsOn", "cpu", "memory", "memoryReservation", "restartPolicy"},
    "linuxParameters": {"capabilities", "sharedMemorySize", "tmpfs", "initProcessEnabled"},
    "capabilities": {"add", "drop"},
    "tmpfs": {"containerPath", "size", "mountOptions"},
    "environment": {"name", "value"},
    "ulimits": {"name", "softLimit", "hardLimit"},
    "healthCheck": {"command", "interval", "timeout", "retries", "startPeriod"},
    "mountPoints": {"sourceVolume", "containerPath", "readOnly"},
    "portMappings": {"containerPort", "hostPort", "protocol"},
    "logConfiguration": {"logDriver", "options"},
    "resourceRequirements": {"type", "value"},
    "dependsOn": {"containerName", "condition"},
    "restartPolicy": {"enabled", "ignoredExitCodes", "restartAttemptPeriod"},
}


def _known(where: str, kind: str, value: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(value) - KNOWN[kind])
    if unknown:
        raise AssertionError(f"ecs_local: {where} has keys this translator does not map: {unknown} "
                             "(map them in tests/ecs_local.py; nothing is ignored silently)")
    return value


# Where a local task publishes its port mappings (ECS publishes on the instance; here: loopback only).
PUBLISH_ADDRESS = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((PUBLISH_ADDRESS, 0))
        return s.getsockname()[1]


@dataclass
class _Planned:
    name: str
    create: dict[str, Any]
    depends_on: list[tuple[str, str]]


@dataclass
class LocalTask:
    """A running local task: containers by ECS container name, published ports, Docker volumes, notes."""

    containers: dict[str, Any] = field(default_factory=dict)
    ports: dict[tuple[str, int], int] = field(default_factory=dict)
    """(container name, containerPort) → host port on 127.0.0.1."""
    volumes: dict[str, str] = field(default_factory=dict)
    """task volume (sourceVolume) → Docker volume name."""
    notes: list[str] = field(default_factory=list)

    def url(self, container: str, port: int, path: str = "") -> str:
        return f"http://{PUBLISH_ADDRESS}:{self.ports[(container, port)]}{path}"


class _Translator:
    def __init__(self, images: dict[str, str], bucket_dir: Path, prefix: str, memlock_bytes: int | None,
                 note: Callable[[str], None]) -> None:
        self.images, self.bucket_dir, self.prefix = images, bucket_dir, prefix
        self.memlock_bytes, self.note = memlock_bytes, note
        self.volumes: dict[str, str] = {}
        self.ports: dict[tuple[str, int], int] = {}

    def translate(self, d: dict[str, Any]) -> _Planned:
        name = d["name"]
        _known(name, "container", d)
        if name not in self.images:
            raise AssertionError(f"ecs_local: no local image for container {name} (given: {sorted(self.images)})")
        kw: dict[str, Any] = {"image": self.images[name], "name": f"{self.prefix}{name}",
                              "read_only": bool(d.get("readonlyRootFilesystem", False))}
        command = list(d.get("command", [])) or None
        mounts = [self._mount(name, m) for m in d.get("mountPoints", [])]
        if command and len(command) == 2 and command[0].startswith("s3://"):
            self.note(f"{name}: source {command[0]} → {BUCKET_MOUNT} (the stand-in bucket {self.bucket_dir}, "
                      "bind-mounted read-only)")
            command = ["--source-dir", BUCKET_MOUNT, command[1]]
            mounts.append(docker.types.Mount(target=BUCKET_MOUNT, source=str(self.bucket_dir.resolve()), type="bind",
                                             read_only=True))
        kw.update(command=command, entrypoint=d.get("entryPoint"), mounts=mounts, user=d.get("user"),
                  working_dir=d.get("workingDirectory"), labels={**d.get("dockerLabels", {}), TEST_LABEL: "1"})
        kw["environment"] = [f"{e['name']}={e['value']}" for e in
                             (_known(f"{name}.environment", "environment", e) for e in d.get("environment", []))]
        kw.update(self._linux(name, d.get("linuxParameters", {})))
        kw["security_opt"] = [self._security_opt(name, o) for o in d.get("dockerSecurityOptions", [])] or None
        kw["ulimits"] = [self._ulimit(name, u) for u in d.get("ulimits", [])] or None
        if "healthCheck" in d:
            kw["healthcheck"] = self._healthcheck(name, d["healthCheck"])
        kw["ports"] = self._ports(name, d.get("portMappings", []))
        kw["log_config"] = self._log(name, d.get("logConfiguration"))
        self._resources(name, d.get("resourceRequirements", []))
        if "cpu" in d:
            kw["cpu_shares"] = max(2, int(d["cpu"]))  # ECS cpu units are Docker CPU shares
        if "memory" in d:
            kw["mem_limit"] = f"{int(d['memory'])}m"
        if "memoryReservation" in d:
            kw["mem_reservation"] = f"{int(d['memoryReservation'])}m"
        kw["restart_policy"] = self._restart(name, d.get("restartPolicy"))
        depends = [(x["containerName"], x["condition"])
                   for x in (_known(f"{name}.dependsOn", "dependsOn", x) for x in d.get("dependsOn", []))]
        return _Planned(name, kw, depends)

    def _mount(self, name: str, m: dict[str, Any]) -> docker.types.Mount:
        _known(f"{name}.mountPoints", "mountPoints", m)
        volume = self.volumes.setdefault(m["sourceVolume"], f"{self.prefix}{m['sourceVolume']}")
        return docker.types.Mount(target=m["containerPath"], source=volume, type="volume",
                                  read_only=bool(m.get("readOnly", False)))

    def _linux(self, name: str, linux: dict[str, Any]) -> dict[str, Any]:
        _known(f"{name}.linuxParameters", "linuxParameters", linux)
        caps = _known(f"{name}.linuxParameters.capabilities", "capabilities", linux.get("capabilities", {}))
        tmpfs = {}
        for t in linux.get("tmpfs", []):
            _known(f"{name}.linuxParameters.tmpfs", "tmpfs", t)
            tmpfs[t["containerPath"]] = ",".join([*t.get("mountOptions", []), f"size={int(t['size'])}m"])
        shm = linux.get("sharedMemorySize")
        return {"cap_drop": caps.get("drop"), "cap_add": caps.get("add"), "tmpfs": tmpfs or None,
                "shm_size": None if shm is None else f"{int(shm)}m",
                "init": True if linux.get("initProcessEnabled") else None}

    @staticmethod
    def _security_opt(name: str, option: str) -> str:
        # ECS spells them "no-new-privileges" and "kind:value"; Docker "no-new-privileges:true" and "kind=value".
        if option == "no-new-privileges":
            return "no-new-privileges:true"
        kind, sep, value = option.partition(":")
        if sep and value and kind in ("apparmor", "label"):
            return f"{kind}={value}"
        raise AssertionError(f"ecs_local: {name}.dockerSecurityOptions {option!r} has no local equivalent here")

    def _ulimit(self, name: str, u: dict[str, Any]) -> docker.types.Ulimit:
        _known(f"{name}.ulimits", "ulimits", u)
        soft, hard = int(u["softLimit"]), int(u["hardLimit"])
        if u["name"] == "memlock" and self.memlock_bytes is not None:
            self.note(f"{name}: memlock ulimit {soft}:{hard} → {self.memlock_bytes}:{self.memlock_bytes} "
                      "(TEST_MEMLOCK_BYTES: this machine refuses more)")
            soft = hard = self.memlock_bytes
        return docker.types.Ulimit(name=u["name"], soft=soft, hard=hard)

    @staticmethod
    def _healthcheck(name: str, hc: dict[str, Any]) -> dict[str, Any]:
        _known(f"{name}.healthCheck", "healthCheck", hc)
        t = {**HEALTHCHECK_DEFAULTS, **hc}
        return {"test": list(hc["command"]), "interval": int(t["interval"]) * NS, "timeout": int(t["timeout"]) * NS,
                "retries": int(t["retries"]), "start_period": int(t["startPeriod"]) * NS}

    def _ports(self, name: str, mappings: list[dict[str, Any]]) -> dict[str, tuple[str, int]]:
        ports = {}
        for p in mappings:
            _known(f"{name}.portMappings", "portMappings", p)
            container_port, protocol = int(p["containerPort"]), p.get("protocol", "tcp")
            host = _free_port()
            ports[f"{container_port}/{protocol}"] = (PUBLISH_ADDRESS, host)
            self.ports[(name, container_port)] = host
            self.note(f"{name}: port {container_port}/{protocol} (ECS hostPort {p.get('hostPort')}) → "
                      f"{PUBLISH_ADDRESS}:{host}")
        return ports

    def _log(self, name: str, log: dict[str, Any] | None) -> docker.types.LogConfig:
        if log is None:
            return docker.types.LogConfig(type="json-file")
        _known(f"{name}.logConfiguration", "logConfiguration", log)
        if log["logDriver"] == "awslogs":
            group = log.get("options", {}).get("awslogs-group")
            self.note(f"{name}: logs awslogs (group {group}) → json-file (no CloudWatch here)")
            return docker.types.LogConfig(type="json-file")
        if log["logDriver"] == "json-file":
            return docker.types.LogConfig(type="json-file", config=dict(log.get("options", {})))
        raise AssertionError(f"ecs_local: {name}: log driver {log['logDriver']} is not emulated here")

    def _resources(self, name: str, requirements: list[dict[str, Any]]) -> None:
        for r in requirements:
            _known(f"{name}.resourceRequirements", "resourceRequirements", r)
            if r["type"] != "GPU":
                raise AssertionError(f"ecs_local: {name}: resource {r['type']} is not emulated here")
            self.note(f"{name}: {GPU_NOTE} (resourceRequirements GPU={r['value']})")

    def _restart(self, name: str, policy: dict[str, Any] | None) -> dict[str, str]:
        if not policy or not policy.get("enabled"):
            return {"Name": "no"}
        _known(f"{name}.restartPolicy", "restartPolicy", policy)
        if "restartAttemptPeriod" in policy:
            self.note(f"{name}: restartAttemptPeriod {policy['restartAttemptPeriod']}s not emulated (Docker has none)")
        ignored = policy.get("ignoredExitCodes", [])
        if ignored == [0]:
            return {"Name": "on-failure"}
        if not ignored:
            return {"Name": "unless-stopped"}
        raise AssertionError(f"ecs_local: {name}: ignoredExitCodes {ignored} have no Docker equivalent")


def _order(planned: list[_Planned]) -> list[_Planned]:
    """Dependencies first, otherwise in definition order; unknown names and cycles fail."""
    by_name = {p.name: p for p in planned}
    done: list[_Planned] = []
    visiting: set[str] = set()

    def visit(p: _Planned) -> None:
        if p in done:
            return
        assert p.name not in visiting, f"ecs_local: dependsOn cycle through {p.name}"
        visiting.add(p.name)
        for dep, _ in p.depends_on:
            assert dep in by_name, f"ecs_local: {p.name} depends on {dep}, which is not in the task"
            visit(by_name[dep])
        visiting.discard(p.name)
        done.append(p)

    for p in planned:
        visit(p)
    return done


def _logs(container: Any) -> str:
    return container.logs(tail=60).decode(errors="replace")


def _wait_condition(container: Any, dependency: str, condition: str, target: str, timeout_s: float) -> None:
    assert condition in ("START", "COMPLETE", "SUCCESS", "HEALTHY"), f"ecs_local: condition {condition}"
    deadline = time.time() + timeout_s
    while True:
        container.reload()
        state = container.attrs["State"]
        status, code = state["Status"], state.get("ExitCode")
        health = (state.get("Health") or {}).get("Status")
        exited = status in ("exited", "dead")
        if condition == "START" and status != "created":
            return
        if condition == "COMPLETE" and exited:
            return
        if condition == "SUCCESS" and exited:
            assert code == 0, f"ecs_local: {target} waits for {dependency} to succeed; it exited {code}:\n" + \
                _logs(container)
            return
        if condition == "HEALTHY":
            if health == "healthy":
                return
            assert not exited and health != "unhealthy", (
                f"ecs_local: {target} waits for {dependency} to be healthy; it is {status}/{health}:\n"
                + _logs(container))
        assert time.time() < deadline, (f"ecs_local: {target}: {dependency} not {condition} after {timeout_s}s:\n"
                                        + _logs(container))
        time.sleep(0.5)


@contextlib.contextmanager
def run_task(client: Any, container_definitions: list[dict[str, Any]], images: dict[str, str], *, bucket_dir: Path,
             memlock_bytes: int | None = TEST_MEMLOCK_BYTES, name_prefix: str = "fleet-test-",
             dependency_timeout_s: float = 300, say: Callable[[str], None] = print) -> Iterator[LocalTask]:
    """Run the task's containers (see module docstring); everything is removed on exit."""
    prefix = f"{name_prefix}{secrets.token_hex(3)}-"
    task = LocalTask()

    def note(text: str) -> None:
        task.notes.append(text)
        say(f"ecs_local: {text}")

    translator = _Translator(images, bucket_dir, prefix, memlock_bytes, note)
    planned = _order([translator.translate(d) for d in container_definitions])  # all checked before any change
    task.ports, task.volumes = translator.ports, translator.volumes
    try:
        for volume in task.volumes.values():
            client.volumes.create(name=volume, driver="local", labels={"fleet-test": "1", TEST_LABEL: "1"})
        for p in planned:
            for dep, condition in p.depends_on:
                _wait_condition(task.containers[dep], dep, condition, p.name, dependency_timeout_s)
            container = client.containers.create(**p.create)
            task.containers[p.name] = container
            container.start()
        yield task
    finally:
        for container in reversed(list(task.containers.values())):
            with contextlib.suppress(docker.errors.NotFound):
                container.remove(force=True)
        for volume in task.volumes.values():
            with contextlib.suppress(docker.errors.NotFound):
                client.volumes.get(volume).remove(force=True)
