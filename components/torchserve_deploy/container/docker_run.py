"""Render a `ContainerSpec` as a `docker run` argv (pure): one more rendering of the one spec."""
from __future__ import annotations

from torchserve_deploy.container.spec import ContainerSpec, docker_gpus


def render_docker_run(spec: ContainerSpec, image: str | None = None, *, detach: bool = False,
                      supervised: bool = False, docker: str = "docker") -> list[str]:
    """`docker run` flags for every field `docker run` can express (files need mounts: see
    container_spec.files_as_mounts). `supervised`: a service manager (systemd) restarts the
    container, so Docker's restart policy is left out and the container is removed when it stops."""
    if spec.files:
        raise ValueError(f"{spec.name}: files cannot be placed by `docker run`; use files_as_mounts first")
    argv = [docker, "run", "--name", spec.name]
    if detach:
        argv.append("--detach")
    if supervised:
        argv.append("--rm")
    if spec.user:
        argv += ["--user", spec.user]
    if spec.working_dir:
        argv += ["--workdir", spec.working_dir]
    if spec.shm_size_mb is not None:
        argv += ["--shm-size", f"{spec.shm_size_mb}m"]
    for u in spec.ulimits:
        argv += ["--ulimit", f"{u.name}={u.soft}:{u.hard}"]
    gpus = docker_gpus(spec.gpus)
    if gpus is not None:
        argv += ["--gpus", gpus]
    for cap in spec.cap_drop:
        argv += ["--cap-drop", cap]
    for opt in spec.security_opts:
        argv += ["--security-opt", opt]
    if spec.read_only:
        argv.append("--read-only")
    for t in spec.tmpfs:
        argv += ["--tmpfs", f"{t.path}:{t.options}"]
    for p in spec.ports:
        argv += ["--publish", f"{p.host_ip}:{p.host_port}:{p.container_port}/{p.protocol}"]
    for m in spec.mounts:
        argv += ["--mount", f"type={m.kind},source={m.source},target={m.target}" + (",readonly" if m.read_only else "")]
    for key, value in spec.env:
        argv += ["--env", f"{key}={value}"]
    for key, value in spec.labels:
        argv += ["--label", f"{key}={value}"]
    if spec.restart != "no" and not supervised:
        argv += ["--restart", spec.restart]
    argv += ["--log-driver", spec.log.driver]
    for key, value in spec.log.options:
        argv += ["--log-opt", f"{key}={value}"]
    if spec.healthcheck is not None:
        hc = spec.healthcheck
        argv += ["--health-cmd", " ".join(hc.test), "--health-interval", f"{hc.interval_s}s",
                 "--health-timeout", f"{hc.timeout_s}s", "--health-start-period", f"{hc.start_period_s}s",
                 "--health-retries", str(hc.retries)]
        if hc.start_interval_s:
            argv += ["--health-start-interval", f"{hc.start_interval_s}s"]
    entrypoint = list(spec.entrypoint)
    if entrypoint:
        argv += ["--entrypoint", entrypoint[0]]
    return argv + [image or spec.image, *entrypoint[1:], *spec.command]
