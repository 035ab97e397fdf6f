"""Print a TorchServe key of a local stack's container (`make token STACK=dev`), or rotate one.

usage: python -m infra.token [--stack dev] [--kind inference|management] [--rotate]
Keys live in /home/model-server/key_file.json inside the container; they expire after
tokenExpirationMin minutes. --rotate asks TorchServe for a new key with the API key
(POST /token?type=<kind> on the management port, loopback only) and prints the new one.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request

from torchserve_deploy.serve.config_properties import CONTAINER_KEY_FILE

from infra.offline import stack_settings


def keys(container: str) -> dict:
    raw = subprocess.run(["docker", "exec", container, "cat", CONTAINER_KEY_FILE],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(raw)


def rotate(management_port: int, api_key: str, kind: str) -> None:
    req = urllib.request.Request(f"http://127.0.0.1:{management_port}/token?type={kind}", method="POST",
                                 headers={"Authorization": f"Bearer {api_key}"})
    urllib.request.urlopen(req, timeout=10).read()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stack", default="dev")
    p.add_argument("--kind", choices=("inference", "management"), default="inference")
    p.add_argument("--rotate", action="store_true")
    a = p.parse_args()
    s = stack_settings(a.stack)
    if a.rotate:
        rotate(s.server.management_port, keys(s.container_name)["API"]["key"], a.kind)
    print(keys(s.container_name)[a.kind]["key"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
