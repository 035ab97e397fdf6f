"""`make bench`, redeploy part: a redeploy with no change must do no image or archive work.

Cold: the dev stack's image built with no cache plus its archive command, on the local engine.
No-change redeploy: the program evaluated again (offline, as the engine would run it) — its image and
archive inputs are byte-identical to the first evaluation, so the engine's diff is empty for both: the
docker provider rebuilds only when the build inputs or context digest change, and a command runs only when
its triggers (the inputs' content digests) change. The measured time is that evaluation.
"""
from __future__ import annotations

import json
import subprocess
import time

from bench.results import Measurement, measure
from infra.plan import PROVIDER_CWD
from tests.engine import Engine, build_declared_image, ensure_base_image
from tests.mocks import evaluate_program, named

WORK_KINDS = ("docker:index/image:Image", "command:local:Command")


def work_inputs(resources) -> str:
    return json.dumps(sorted((r.name, r.inputs) for r in resources if r.typ in WORK_KINDS), sort_keys=True)


def run() -> list[Measurement]:
    first = evaluate_program("dev", {"models": {"demo": {"path": "models/demo"}}})
    engine = Engine()
    try:
        client = engine.client
        ensure_base_image(client)
        started = time.monotonic()
        image_id, _ = build_declared_image(client, named(first, "torchserve-image").inputs, nocache=True)
        subprocess.run(["/bin/sh", "-c", named(first, "model-demo-archive").inputs["create"]], cwd=PROVIDER_CWD, check=True,
                       capture_output=True)
        cold = time.monotonic() - started
        client.images.remove(image_id, force=True)
    finally:
        engine.close()
    started = time.monotonic()
    again = evaluate_program("dev", {"models": {"demo": {"path": "models/demo"}}})
    redeploy = time.monotonic() - started
    assert work_inputs(again) == work_inputs(first), "unchanged config produced different image/archive inputs"
    return [measure("redeploy with no change vs cold build (image + archive)", redeploy, "s", cold,
                    "image and archive inputs byte-identical, so no build and no archive run; target ratio <= 0.05")]
