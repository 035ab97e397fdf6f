"""Real Docker engine for `-m docker` tests: start or reuse dockerd, make the local base image,
prepare a wheelhouse, build the declared image, and realize a declared container through the Docker SDK.

Test overrides are named here and nowhere else:
- TEST_BUILD_OVERRIDES: the base image (no registry is reachable: a debootstrap stand-in for
  debian:bookworm-slim instead) and the wheelhouse (pip inside a build cannot verify TLS here: wheels
  are downloaded on the host and served to the build over loopback HTTP: WHEELHOUSE_ONLY + PIP_FIND_LINKS).
- TEST_MEMLOCK_BYTES: this machine refuses memlock=-1 (hard cap 8 MiB); production keeps -1.
- TEST_LABEL: every container and volume a test or the bench creates carries it, so one an interrupted run left
  behind (a restart policy revives it with dockerd) is removed at the next start, while a real deployment
  under the same name (no label) is never touched: the tests refuse to run beside it instead.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import docker
import docker.errors
import docker.types

from infra.plan import PROVIDER_CWD
from tests.loopback import QuietFiles, serving
from tests.mocks import ROOT

BASE_IMAGE = "torchserve-deploy-test/bookworm-slim:1"
TEST_BUILD_OVERRIDES = {"BASE_IMAGE": BASE_IMAGE, "WHEELHOUSE_ONLY": "true"}  # + PIP_FIND_LINKS per build
TEST_MEMLOCK_BYTES = 8 * 1024 * 1024
TEST_LABEL = "torchserve-deploy.test"
COMPOSE_TEST_PROJECT = "tsdeploytest"
CACHE = ROOT / ".cache"


class Engine:
    """A Docker client, plus the dockerd process if this harness started it (stopped by `close`)."""

    def __init__(self) -> None:
        self.started: subprocess.Popen | None = None
        self.client = self._connect() or self._start()
        self.removed = remove_leftovers(self.client)

    @staticmethod
    def _connect():
        try:
            client = docker.from_env(timeout=600)
            client.ping()
            return client
        except Exception:
            return None

    def _start(self):
        dockerd = shutil.which("dockerd")
        assert dockerd, "no Docker engine answers and dockerd is not installed: apt-get install docker.io (make test runs tools/prereqs.sh, which does)"
        assert os.geteuid() == 0, "no Docker engine answers and starting dockerd needs root"
        CACHE.mkdir(exist_ok=True)
        log = open(CACHE / "dockerd.log", "ab")
        self.started = subprocess.Popen([dockerd], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        for _ in range(60):
            client = self._connect()
            if client:
                return client
            assert self.started.poll() is None, "dockerd exited at start; see .cache/dockerd.log"
            time.sleep(1)
        raise AssertionError("dockerd did not answer within 60 s; see .cache/dockerd.log")

    def close(self) -> None:
        if self.started is not None:
            self.started.terminate()
            self.started.wait(timeout=60)


def remove_leftovers(client) -> list[str]:
    """Remove the containers and volumes an interrupted test or bench run left (by TEST_LABEL or the compose
    test's project label); returns their names."""
    removed = []
    for label in (TEST_LABEL, f"com.docker.compose.project={COMPOSE_TEST_PROJECT}"):
        for container in client.containers.list(all=True, filters={"label": label}):
            removed.append(container.name)
            container.remove(force=True)
        for volume in client.volumes.list(filters={"label": label}):
            removed.append(volume.name)
            volume.remove(force=True)
    if removed:
        print(f"tests.engine: removed what an interrupted run left: {', '.join(removed)}", file=sys.stderr)
    return removed


def ensure_base_image(client) -> str:
    """A Debian bookworm minbase image made with debootstrap, cached by name."""
    try:
        client.images.get(BASE_IMAGE)
        return BASE_IMAGE
    except docker.errors.ImageNotFound:
        pass
    assert shutil.which("debootstrap"), "debootstrap is missing: apt-get install debootstrap (make test runs tools/prereqs.sh, which does)"
    with tempfile.TemporaryDirectory() as tmp:
        rootfs, tar = Path(tmp) / "rootfs", Path(tmp) / "rootfs.tar"
        subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(rootfs), "http://deb.debian.org/debian"],
                       check=True, stdout=subprocess.DEVNULL)
        _slim(rootfs)
        subprocess.run(["tar", "-C", str(rootfs), "-cf", str(tar), "."], check=True)
        repo, tag = BASE_IMAGE.rsplit(":", 1)
        client.api.import_image_from_file(str(tar), repository=repo, tag=tag)
    return BASE_IMAGE


# What debian:bookworm-slim leaves out (its dpkg path excludes), so the local stand-in weighs the same.
SLIM_EXCLUDES = """path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
"""


def _slim(rootfs: Path) -> None:
    (rootfs / "etc/dpkg/dpkg.cfg.d/docker-slim").write_text(SLIM_EXCLUDES)
    for pattern in ("usr/share/doc/*", "usr/share/man/*", "usr/share/info/*", "usr/share/locale/*",
                    "var/cache/apt/*.bin", "var/cache/apt/archives/*.deb", "var/lib/apt/lists/*"):
        for path in rootfs.glob(pattern):
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path)
            elif path.name not in ("copyright", "locale.alias"):
                path.unlink()


def wheelhouse(build_args: dict[str, str]) -> Path:
    """The images' pinned Python packages, downloaded on the host (cached by requirement set)."""
    docker_dir = ROOT / "components/torchserve_deploy/image/docker"
    # The model-sync target takes no torch: its wheelhouse is its own requirements.
    reqs = [f"torch=={build_args['TORCH_VERSION']}"] if "TORCH_VERSION" in build_args else _requirements(
        docker_dir / "requirements-sync.txt")
    if "TORCHSERVE_VERSION" in build_args:
        reqs += [f"torchserve=={build_args['TORCHSERVE_VERSION']}",
                 f"torch-model-archiver=={build_args['MODEL_ARCHIVER_VERSION']}"]
        for name in ("requirements-image.txt", "requirements-ci.txt", "requirements-sync.txt"):
            reqs += _requirements(ROOT / "components/torchserve_deploy/image/docker" / name)
    key = hashlib.sha256("\n".join(reqs).encode()).hexdigest()[:12]
    target = CACHE / f"wheelhouse-{key}"
    if not (target / ".complete").exists():
        target.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
                        "--only-binary=:all:", "-d", str(target), *reqs], check=True)
        (target / ".complete").touch()
    return target


def _requirements(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line and not line.startswith("#")]


@contextlib.contextmanager
def serve_directory(directory: Path):
    """A loopback HTTP server listing `directory` (pip --find-links reads the listing)."""
    with serving(functools.partial(QuietFiles, directory=str(directory))) as url:
        yield url + "/"


def build_declared_image(client, image_inputs: dict, *, nocache: bool = False) -> tuple[str, list[str]]:
    """Build what a captured `docker:index/image:Image` declares: same context, Dockerfile, target,
    platform and build args, except TEST_BUILD_OVERRIDES. Returns the image ID and the build log lines."""
    build = image_inputs["build"]
    args = {**build["args"], **TEST_BUILD_OVERRIDES}
    wheels = wheelhouse(args)
    # The build paths are relative to where the engine starts the docker provider (the program's directory).
    user_reqs = PROVIDER_CWD / build["context"] / args.get("REQUIREMENTS", "-")  # a training source's requirements
    if user_reqs.is_file() and _requirements(user_reqs):
        subprocess.run([sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "-q",
                        "--only-binary=:all:", "-d", str(wheels), *_requirements(user_reqs)], check=True)
    options = {"target": build["target"]} if "target" in build else {}
    if "dockerfile" in build:
        options["dockerfile"] = str((PROVIDER_CWD / build["dockerfile"]).resolve())
    log: list[str] = []
    with serve_directory(wheels) as url:
        for chunk in client.api.build(path=str((PROVIDER_CWD / build["context"]).resolve()), buildargs={**args, "PIP_FIND_LINKS": url},
                                      platform=build["platform"], tag=image_inputs["imageName"], network_mode="host",
                                      rm=True, forcerm=True, nocache=nocache, decode=True, **options):
            if "error" in chunk:
                raise AssertionError("image build failed: " + chunk["error"] + "\n" + "".join(log[-40:]))
            log.append(chunk.get("stream", ""))
    image = client.images.get(image_inputs["imageName"])
    return image.id, "".join(log).splitlines()


def _ns(duration: str) -> int:
    units = {"ms": 1_000_000, "s": 1_000_000_000, "m": 60_000_000_000, "h": 3_600_000_000_000}
    for suffix in ("ms", "s", "m", "h"):
        if duration.endswith(suffix):
            return int(float(duration[: -len(suffix)]) * units[suffix])
    raise ValueError(duration)


def realize_container(client, inputs: dict, image_id: str, *, memlock_bytes: int | None = TEST_MEMLOCK_BYTES):
    """Create and start what a captured `docker:index/container:Container` declares, field by field.

    Only `image` (the mock's fake ID → the image really built) and, when given, memlock change.
    """
    ulimits = []
    for u in inputs.get("ulimits", []):
        soft, hard = int(u["soft"]), int(u["hard"])
        if u["name"] == "memlock" and memlock_bytes is not None:
            soft = hard = memlock_bytes
        ulimits.append(docker.types.Ulimit(name=u["name"], soft=soft, hard=hard))
    ports = {}
    for p in inputs.get("ports", []):
        ports.setdefault(f"{int(p['internal'])}/{p.get('protocol', 'tcp')}", []).append((p["ip"], int(p["external"])))
    mounts = [docker.types.Mount(target=m["target"], source=m["source"], type=m["type"], read_only=m.get("readOnly", False))
              for m in inputs.get("mounts", [])]
    hc = inputs.get("healthcheck")
    healthcheck = None if hc is None else {
        "test": hc["tests"], "interval": _ns(hc["interval"]), "timeout": _ns(hc["timeout"]),
        "start_period": _ns(hc["startPeriod"]), "retries": int(hc["retries"])}
    device_requests = None
    if "gpus" in inputs:
        ids = None if inputs["gpus"] == "all" else inputs["gpus"].removeprefix("device=").split(",")
        device_requests = [docker.types.DeviceRequest(count=-1 if ids is None else None, device_ids=ids,
                                                      capabilities=[["gpu"]])]
    container = client.containers.create(
        image_id,
        name=inputs["name"],
        command=inputs.get("command"),
        entrypoint=inputs.get("entrypoints"),
        environment=inputs.get("envs"),
        user=inputs.get("user"),
        ports=ports,
        mounts=mounts,
        shm_size=f"{int(inputs['shmSize'])}m" if "shmSize" in inputs else None,
        ulimits=ulimits,
        healthcheck=healthcheck,
        restart_policy={"Name": inputs.get("restart", "no")},
        log_config=docker.types.LogConfig(type=inputs.get("logDriver", "json-file"), config=inputs.get("logOpts", {})),
        labels={**{lab["label"]: lab["value"] for lab in inputs.get("labels", [])}, TEST_LABEL: "1"},
        device_requests=device_requests,
        cap_drop=(inputs.get("capabilities") or {}).get("drops"),
        security_opt=inputs.get("securityOpts"),
        read_only=inputs.get("readOnly", False),
        tmpfs=inputs.get("tmpfs"),
    )
    try:
        if inputs.get("uploads"):
            container.put_archive("/", _upload_tar(inputs["uploads"], inputs.get("user")))
        container.start()
    except Exception:
        container.remove(force=True)  # a container that cannot start must not block the next test's name
        raise
    return container


def _upload_tar(uploads: list[dict], user: str | None) -> bytes:
    uid, gid = (int(x) for x in (user or "0:0").split(":"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for up in uploads:
            data = up["content"].encode()
            info = tarfile.TarInfo(up["file"].lstrip("/"))
            info.size, info.mode, info.uid, info.gid = len(data), 0o644, uid, gid
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def wait_healthy(container, timeout_s: float = 240) -> float:
    started = time.time()
    while time.time() - started < timeout_s:
        container.reload()
        state = container.attrs["State"]
        health = state.get("Health", {}).get("Status")
        if health == "healthy":
            return time.time() - started
        assert state["Status"] in ("created", "running", "restarting"), (
            f"container {state['Status']}: " + container.logs(tail=60).decode(errors="replace"))
        time.sleep(1)
    last = (container.attrs["State"].get("Health", {}).get("Log") or [{}])[-1].get("Output", "")
    raise AssertionError(f"not healthy after {timeout_s}s; last healthcheck: {last}\n"
                         + container.logs(tail=60).decode(errors="replace"))


def exec_json(container, *cmd):
    code, out = container.exec_run(list(cmd))
    assert code == 0, out.decode(errors="replace")
    return json.loads(out)


def with_test_memlock(run_script: str) -> str:
    """The declared `docker run` script with memlock lowered to TEST_MEMLOCK_BYTES (the named override)."""
    declared = "--ulimit memlock=-1:-1"
    assert declared in run_script, "the declared run no longer sets memlock=-1: update this override"
    return run_script.replace(declared, f"--ulimit memlock={TEST_MEMLOCK_BYTES}:{TEST_MEMLOCK_BYTES}")
