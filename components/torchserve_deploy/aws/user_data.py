"""cloud-init user data for a GPU host that runs the serving container under systemd (pure).

The container is the `docker run` rendering of the same ContainerSpec the local host runs; its
files (config.properties) are written beside it and bind-mounted read-only. Units:
  model-store.service     mount the EBS model store (formats only a blank volume)      every boot
  gpu-host-setup.service  driver/toolkit (ubuntu route) or verify only (dlami); the CloudWatch agent (GPU
                          metrics); ready marker
  torchserve.service      pull the image from ECR, sync .mar files from S3, run the container
"""
from __future__ import annotations

import base64
import gzip
import shlex
from dataclasses import dataclass
from pathlib import Path

import yaml

from torchserve_deploy.aws.ebs_store import MODEL_STORE_DIR
from torchserve_deploy.aws.observability import AGENT_CONFIG, agent_config
from torchserve_deploy.container.docker_run import render_docker_run
from torchserve_deploy.container.spec import ContainerSpec, files_as_mounts
from torchserve_deploy.errors import ValidationError

HOST_DIR = Path(__file__).resolve().parent / "host"
CONFIG_DIR = "/etc/torchserve-deploy"
READY_MARKER = "/run/gpu-host/ready"
SCRIPTS = {"mount-model-store": "mount-model-store.sh", "gpu-host-setup": "gpu-host-setup.sh",
           "torchserve-fetch": "torchserve-fetch.sh"}


@dataclass(frozen=True)
class HostPlan:
    """Everything the host needs to know; all plain values (resolved Outputs)."""

    spec: ContainerSpec
    image: str
    registry: str
    region: str
    volume_id: str
    model_bucket: str
    model_prefix: str
    ami_route: str = "dlami"
    driver_branch: str = "580"
    driver_flavor: str = "open"


def systemd_quote(argv: list[str]) -> str:
    """An Exec*= command line: systemd expands % and $, splits on unquoted spaces and ends a setting at
    a newline, so every argument is quoted by construction and control characters are escaped."""
    out = []
    for arg in argv:
        escaped = arg.replace("%", "%%").replace("$", "$$")
        if escaped and all(c.isprintable() and c not in ' "\'\\;' for c in escaped):
            out.append(escaped)
            continue
        body = escaped.replace("\\", "\\\\").replace('"', '\\"')
        body = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in body)
        out.append(f'"{body}"')
    return " ".join(out)


def _unit(sections: dict[str, list[tuple[str, str]]]) -> str:
    lines = []
    for section, items in sections.items():
        lines.append(f"[{section}]")
        for k, v in items:
            if not v.isprintable():
                raise ValidationError(f"unit {section}.{k}", v, "one line of printable text", "fix the value that reached it")
            lines.append(f"{k}={v}")
        lines.append("")
    return "\n".join(lines)


def _units(plan: HostPlan, run_argv: list[str]) -> dict[str, str]:
    name = plan.spec.name
    return {
        "model-store.service": _unit({
            "Unit": [("Description", "Mount the EBS model store"), ("Before", "torchserve.service")],
            "Service": [("Type", "oneshot"), ("RemainAfterExit", "yes"),
                        ("ExecStart", systemd_quote(["/usr/local/sbin/mount-model-store", plan.volume_id, MODEL_STORE_DIR]))],
            "Install": [("WantedBy", "multi-user.target")]}),
        "gpu-host-setup.service": _unit({
            "Unit": [("Description", "NVIDIA driver, container toolkit and GPU check"),
                     ("Wants", "network-online.target"), ("After", "network-online.target docker.service")],
            # A failed install or check is retried (it may be a mirror or a race at boot), never ignored.
            "Service": [("Type", "oneshot"), ("RemainAfterExit", "yes"), ("TimeoutStartSec", "1800"),
                        ("Restart", "on-failure"), ("RestartSec", "30"),
                        ("ExecStart", "/usr/local/sbin/gpu-host-setup")],
            "Install": [("WantedBy", "multi-user.target")]}),
        "torchserve.service": _unit({
            "Unit": [("Description", f"TorchServe ({name})"),
                     ("Requires", "docker.service gpu-host-setup.service model-store.service"),
                     ("After", "docker.service gpu-host-setup.service model-store.service"),
                     ("RequiresMountsFor", MODEL_STORE_DIR)],
            "Service": [("Restart", "always"), ("RestartSec", "10"), ("TimeoutStartSec", "900"),
                        # The readiness gate: the marker exists only after this boot's GPU checks passed (it
                        # lives on /run, so a reboot clears it; the ubuntu route reboots before its checks).
                        ("ExecStartPre", systemd_quote(["/usr/bin/test", "-f", READY_MARKER])),
                        ("ExecStartPre", "/usr/local/sbin/torchserve-fetch models"),
                        ("ExecStartPre", "-" + systemd_quote(["/usr/bin/docker", "rm", "--force", name])),
                        ("ExecStart", systemd_quote(run_argv)),
                        ("ExecStop", systemd_quote(["/usr/bin/docker", "stop", "--time", "30", name]))],
            "Install": [("WantedBy", "multi-user.target")]}),
    }


def host_env(plan: HostPlan) -> str:
    values = {"AMI_ROUTE": plan.ami_route, "DRIVER_BRANCH": plan.driver_branch, "DRIVER_FLAVOR": plan.driver_flavor,
              "IMAGE": plan.image, "REGISTRY": plan.registry, "REGION": plan.region,
              "MODEL_BUCKET": plan.model_bucket, "MODEL_PREFIX": plan.model_prefix, "MODEL_STORE_DIR": MODEL_STORE_DIR,
              "READY_MARKER": READY_MARKER, "CWAGENT_CONFIG": AGENT_CONFIG}
    return "".join(f"{k}={shlex.quote(v)}\n" for k, v in values.items())


USER_DATA_LIMIT = 16384  # EC2's limit on raw user data


def _packed(text: str) -> str:
    """gzip (no timestamp: same text, same bytes) then base64."""
    return base64.b64encode(gzip.compress(text.encode(), mtime=0)).decode()


def written_files(user_data: str) -> dict[str, str]:
    """path → content of each write_files entry of rendered user data, as cloud-init writes it."""
    doc = yaml.safe_load(user_data.split("\n", 1)[1])
    return {f["path"]: gzip.decompress(base64.b64decode(f["content"])).decode() if f.get("encoding") == "gz+b64"
            else f["content"] for f in doc["write_files"]}


def render_user_data(plan: HostPlan) -> str:
    """#cloud-config text. Same plan → same bytes."""
    spec, files = files_as_mounts(plan.spec, f"{CONFIG_DIR}/files")
    run_argv = render_docker_run(spec, plan.image, supervised=True, docker="/usr/bin/docker")
    write_files = [{"path": f"{CONFIG_DIR}/host.env", "permissions": "0600", "content": host_env(plan)}]
    # The scripts travel gzipped (cloud-init's gz+b64 encoding): EC2 allows 16 KiB of user data.
    write_files += [{"path": f"/usr/local/sbin/{name}", "permissions": "0755", "encoding": "gz+b64",
                     "content": _packed((HOST_DIR / src).read_text())} for name, src in SCRIPTS.items()]
    write_files += [{"path": path, "permissions": "0644", "content": content} for path, content in sorted(files.items())]
    write_files.append({"path": AGENT_CONFIG, "permissions": "0644", "content": agent_config()})
    write_files += [{"path": f"/etc/systemd/system/{unit}", "permissions": "0644", "content": text}
                    for unit, text in _units(plan, run_argv).items()]
    config = {
        "write_files": write_files,
        "runcmd": [
            ["systemctl", "daemon-reload"],
            ["systemctl", "enable", "model-store.service", "gpu-host-setup.service", "torchserve.service"],
            # --no-block: cloud-init finishes while the setup (and its one reboot, on ubuntu) proceeds.
            ["systemctl", "start", "--no-block", "torchserve.service"],
        ],
    }
    text = "#cloud-config\n" + yaml.safe_dump(config, sort_keys=False, width=120)
    if len(text.encode()) > USER_DATA_LIMIT:
        # EC2 refuses the launch; say so at preview, with the size.
        raise ValueError(f"the host's user data is {len(text.encode())} bytes; EC2 allows {USER_DATA_LIMIT} (before "
                         "base64). Fix: ship fewer or smaller config files with the server (configProperties), or "
                         "move them into the image")
    return text
