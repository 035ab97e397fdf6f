"""A local stack's TorchServe keys, read from its container (`make token STACK=dev`), or rotated.

usage: python -m infra.cli token [--stack dev] [--kind inference|management] [--rotate]
       (python -m infra.token ... is the same command)
Keys live in /home/model-server/key_file.json inside the container; they expire after
tokenExpirationMin minutes. --rotate asks TorchServe for a new key with the API key
(POST /token?type=<kind> on the management port, loopback only) and prints the new one.
Every failure is a one-line infra.cli.Failure saying what to do (exit 2), never a traceback.
"""
from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from typing import Any

from torchserve_deploy.serve.config_properties import CONTAINER_KEY_FILE

from infra.cli import Failure

DOCKER_TIMEOUT_S = 30
KINDS = ("inference", "management", "API")


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no message"


def docker(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the docker CLI; a missing CLI or a hung engine is a Failure."""
    try:
        return subprocess.run(["docker", *args], capture_output=True, text=True, timeout=DOCKER_TIMEOUT_S)
    except FileNotFoundError:
        raise Failure("docker is not installed (or not on PATH): install Docker Engine, then run make deploy", 2) from None
    except subprocess.TimeoutExpired:
        raise Failure(f"docker did not answer within {DOCKER_TIMEOUT_S}s: check the Docker engine (docker info) "
                      "and retry", 2) from None
    except OSError as err:
        raise Failure(f"cannot run docker ({err.strerror}): check your Docker installation and retry", 2) from None


def ensure_running(container: str) -> None:
    inspect = docker("container", "inspect", "--format", "{{.State.Running}}", container)
    if inspect.returncode != 0:
        problem = _last_line(inspect.stderr)
        if "no such" not in problem.lower():
            raise Failure(f"docker cannot inspect {container} ({problem}): start the Docker engine (or fix your "
                          "access to it: docker info), then retry", 2)
    if inspect.returncode != 0 or inspect.stdout.strip() != "true":
        raise Failure(f"no container {container} is running: run make deploy first", 2)


def keys(container: str) -> dict[str, Any]:
    """The container's key file: {"inference": {"key": ...}, "management": {...}, "API": {...}}."""
    ensure_running(container)
    read = docker("exec", container, "cat", CONTAINER_KEY_FILE)
    if read.returncode != 0:
        raise Failure(f"container {container} has no key file {CONTAINER_KEY_FILE} ({_last_line(read.stderr)}): "
                      "with tokenAuth false no key is needed; otherwise wait for TorchServe to start "
                      f"(docker logs {container}) and retry", 2)
    try:
        data = json.loads(read.stdout)
        for kind in KINDS:
            if not isinstance(data[kind]["key"], str):
                raise TypeError(kind)
    except (ValueError, KeyError, TypeError):
        raise Failure(f"{CONTAINER_KEY_FILE} in {container} is not TorchServe's key file (no inference, management "
                      "and API keys): run make deploy again to recreate the container", 2) from None
    return dict(data)


def key(container: str, kind: str) -> str:
    return str(keys(container)[kind]["key"])


def rotate(container: str, management_port: int, kind: str) -> None:
    api_key = key(container, "API")
    url = f"http://127.0.0.1:{management_port}/token?type={kind}"
    req = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {api_key}"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            resp.read()
    except urllib.error.HTTPError as err:
        raise Failure(f"TorchServe refused to rotate the {kind} key (POST {url}: HTTP {err.code}): check the "
                      f"container (docker logs {container}) and retry", 2) from None
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise Failure(f"the management API did not answer (POST {url}: {reason}): it listens on 127.0.0.1 "
                      f"only, so run this on the Docker host; check docker logs {container}", 2) from None


def main() -> int:
    from infra import cli

    return cli.main(["token", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())
