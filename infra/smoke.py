"""After `pulumi up`: print the endpoint and make one prediction with the inference key.

usage: python -m infra.smoke --stack dev   (run by `make deploy`; needs the pulumi and docker CLIs)
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import urllib.request

from torchserve_deploy.serve.config_properties import CONTAINER_KEY_FILE

SAMPLE = {"data": [1.0, 2.0, 3.0, 4.0]}


def inference_key(container: str) -> str:
    raw = subprocess.run(["docker", "exec", container, "cat", CONTAINER_KEY_FILE],
                         check=True, capture_output=True, text=True).stdout
    return json.loads(raw)["inference"]["key"]


def predict(url: str, model: str, key: str, body: dict) -> dict:
    req = urllib.request.Request(f"{url}/predictions/{model}", data=json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--stack", default="dev")
    stack = parser.parse_args().stack
    outputs = json.loads(subprocess.run(["pulumi", "stack", "output", "--json", "--stack", stack],
                                        check=True, capture_output=True, text=True).stdout)
    url, model = outputs["inferenceUrl"], outputs["modelNames"][0]
    print(f"inference endpoint: {url}/predictions/{model}")
    print(f"management (loopback only): {outputs['managementUrl']}   metrics: {outputs['metricsUrl']}")
    print(f"token: {outputs['tokenCommand']}")
    answer = predict(url, model, inference_key(outputs["containerName"]), SAMPLE)
    print(f"prediction for {json.dumps(SAMPLE)}: {json.dumps(answer)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
