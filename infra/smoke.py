"""After `pulumi up`: print the endpoint and send every model its own sample request.

usage: python -m infra.cli smoke --stack dev   (the last step of `make deploy`; also `make smoke`)
Each model's sample is the `sample` field of its torchserve-model.yaml: the JSON body of one
POST /predictions/<model>. A model passes when it answers HTTP 200 with JSON. Local stacks read the
inference key from their container; for ec2 and fleet stacks set TORCHSERVE_INFERENCE_KEY (see the
stack's keyCommand output), or the requests are skipped.
"""
from __future__ import annotations

import json
import os
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from torchserve_deploy.constants import PROJECT
from torchserve_deploy.model.manifest import MANIFEST
from torchserve_deploy.yaml_strict import load_yaml

from infra import token
from infra.cli import Failure
from infra.offline import ROOT, engine_config, stack_settings
from infra.settings.keys import MODELS_DEFAULT, MODELS_KEY
from infra.settings.paths import confined

KEY_ENV = "TORCHSERVE_INFERENCE_KEY"
TIMEOUT_S = 60
MAX_ANSWER = 1 << 20


def samples(stack: str, names: list[str], roots: tuple[Path, ...]) -> dict[str, tuple[str, dict[str, Any] | None]]:
    """model name → (its manifest's path, its sample request or None), from the committed stack file."""
    entries = json.loads(engine_config(stack).values.get(f"{PROJECT}:{MODELS_KEY}") or json.dumps(MODELS_DEFAULT))
    out: dict[str, tuple[str, dict[str, Any] | None]] = {}
    for name in names:
        entry = entries.get(name) if isinstance(entries, dict) else None
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise Failure(f"model {name} is deployed but stacks/Pulumi.{stack}.yaml no longer declares it: run "
                          f"make deploy STACK={stack} to bring the stack in line, then retry", 2)
        directory = confined(f"{PROJECT}:{MODELS_KEY}.{name}.path", entry["path"], ROOT, roots)
        where = f"{entry['path'].rstrip('/')}/{MANIFEST}"
        data = load_yaml((directory / MANIFEST).read_text(encoding="utf-8"), where)
        out[name] = (where, data.get("sample") if isinstance(data, dict) else None)
    return out


def post(url: str, body: dict[str, Any], key: str) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            return resp.status, resp.read(MAX_ANSWER)
    except urllib.error.HTTPError as err:
        return err.code, err.read(MAX_ANSWER)


def check_model(stack: str, url: str, name: str, where: str, sample: dict[str, Any] | None, key: str,
                logs: str) -> str | None:
    """Send one model its sample; print the answer and return None, or return the one-line problem."""
    if sample is None:
        return (f"model {name} was not checked: {where} declares no sample request; add one, e.g. "
                f"`sample: {{data: [1.0, 2.0]}}` (the JSON body POST /predictions/{name} expects), then run "
                f"make smoke STACK={stack}")
    endpoint = f"{url}/predictions/{name}"
    try:
        status, raw = post(endpoint, sample, key)
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        return f"model {name}: {endpoint} did not answer ({reason}): {logs}, then run make smoke STACK={stack}"
    text = raw.decode("utf-8", errors="replace")
    if status != 200:
        return (f"model {name} answered HTTP {status} to its sample ({' '.join(text.split())[:200]}): {logs}; "
                f"503 while the workers start: wait a minute and run make smoke STACK={stack}")
    try:
        answer = json.loads(text)
    except ValueError:
        return (f"model {name} answered HTTP 200 but not JSON ({text[:120]!r}): its handler's postprocess must "
                f"return JSON; fix it and run make deploy STACK={stack}")
    print(f"prediction of {name} for {json.dumps(sample)}: {json.dumps(answer)[:2000]}")
    return None


def run(stack: str, outputs: dict[str, Any]) -> int:
    url, names = outputs.get("inferenceUrl"), outputs.get("modelNames")
    if url is None and outputs.get("imageRef"):  # buildType codebuild: an image only, no server
        print(f"stack {stack} serves nothing (image {outputs['imageRef']}): no sample requests to send")
        return 0
    if not isinstance(url, str) or not isinstance(names, list) or not names:
        raise Failure(f"stack {stack} exports no inference endpoint (inferenceUrl, modelNames): it serves nothing "
                      f"yet; run make deploy STACK={stack} first", 2)
    url = url.rstrip("/")
    container = outputs.get("containerName")
    print(f"inference endpoint: {url}/predictions/<model>   models: {', '.join(map(str, names))}")
    if container:
        print(f"management (loopback only): {outputs.get('managementUrl')}   metrics: {outputs.get('metricsUrl')}")
        print(f"token: {outputs.get('tokenCommand')}")
    else:
        print(f"key: {outputs.get('keyCommand')}")
    settings = stack_settings(stack)  # validates the stack and every manifest (samples included)
    key = os.environ.get(KEY_ENV)
    if key is None and container:  # tokenAuth false: TorchServe writes no key and wants none
        key = token.key(str(container), "inference") if settings.server.token_auth else ""
    if key is None:
        print(f"sample requests skipped: set {KEY_ENV} to the inference key (keyCommand above) and run "
              f"make smoke STACK={stack}")
        return 0
    logs = f"see docker logs {container}" if container else "see the stack's container logs (CloudWatch)"
    found = samples(stack, [str(n) for n in names], settings.roots)
    problems = [p for name, (where, sample) in found.items()
                if (p := check_model(stack, url, name, where, sample, key, logs)) is not None]
    for problem in problems:
        print(f"smoke: {problem}", file=sys.stderr)
    return 1 if problems else 0


def main() -> int:
    from infra import cli

    return cli.main(["smoke", *sys.argv[1:]])


if __name__ == "__main__":
    sys.exit(main())

