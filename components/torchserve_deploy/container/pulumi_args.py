"""Render a `ContainerSpec` as `pulumi_docker.Container` keyword arguments (pure, engine-free)."""
from __future__ import annotations

from typing import Any

import pulumi
import pulumi_docker as docker

from torchserve_deploy.container.spec import ContainerSpec, docker_gpus


def _duration(seconds: int) -> str:
    return f"{seconds}s"


def render_container_args(spec: ContainerSpec, image: pulumi.Input[str] | None = None) -> dict[str, Any]:
    """Keyword arguments for `docker.Container`.

    `image` overrides `spec.image` with an Output such as the built image's ID, so the container is
    replaced exactly when the image content changes (a tag alone would not trigger that).
    """
    args: dict[str, Any] = {
        "name": spec.name,
        "image": image if image is not None else spec.image,
        "restart": spec.restart,
        "log_driver": spec.log.driver,
        "log_opts": dict(spec.log.options),
        "must_run": True,
    }
    if spec.command:
        args["command"] = list(spec.command)
    if spec.entrypoint:
        args["entrypoints"] = list(spec.entrypoint)
    if spec.env:
        args["envs"] = [f"{key}={value}" for key, value in spec.env]
    if spec.ports:
        args["ports"] = [
            docker.ContainerPortArgs(
                internal=p.container_port, external=p.host_port, ip=p.host_ip, protocol=p.protocol
            )
            for p in spec.ports
        ]
    if spec.mounts:
        args["mounts"] = [
            docker.ContainerMountArgs(target=m.target, source=m.source, type=m.kind, read_only=m.read_only)
            for m in spec.mounts
        ]
    if spec.files:
        args["uploads"] = [docker.ContainerUploadArgs(file=f.path, content=f.content) for f in spec.files]
    if spec.ulimits:
        args["ulimits"] = [docker.ContainerUlimitArgs(name=u.name, soft=u.soft, hard=u.hard) for u in spec.ulimits]
    if spec.shm_size_mb is not None:
        args["shm_size"] = spec.shm_size_mb
    if spec.gpus is not None:
        args["gpus"] = docker_gpus(spec.gpus)
    if spec.user is not None:
        args["user"] = spec.user
    if spec.working_dir is not None:
        args["working_dir"] = spec.working_dir
    if spec.labels:
        args["labels"] = [docker.ContainerLabelArgs(label=k, value=v) for k, v in spec.labels]
    if spec.cap_drop:
        args["capabilities"] = docker.ContainerCapabilitiesArgs(drops=list(spec.cap_drop))
    if spec.security_opts:
        args["security_opts"] = list(spec.security_opts)
    if spec.read_only:
        args["read_only"] = True
    if spec.tmpfs:
        args["tmpfs"] = {t.path: t.options for t in spec.tmpfs}
    if spec.healthcheck is not None:
        hc = spec.healthcheck
        args["healthcheck"] = docker.ContainerHealthcheckArgs(
            tests=["CMD", *hc.test],
            interval=_duration(hc.interval_s),
            timeout=_duration(hc.timeout_s),
            start_period=_duration(hc.start_period_s),
            retries=hc.retries,
            start_interval=_duration(hc.start_interval_s) if hc.start_interval_s else None,
        )
        # `pulumi up` returns only once the container is healthy, i.e. every model is READY.
        args["wait"] = True
        args["wait_timeout"] = hc.start_period_s + hc.interval_s * (hc.retries + 1) + 60
    return args
