"""`make bench`, image part: the dev stack's CPU production image size against the 1.2 GB target,
built on the local Docker engine from the stack's captured inputs (base image: the debootstrap
stand-in for debian:bookworm-slim, made with the same dpkg excludes)."""
from __future__ import annotations

import sys

from bench.results import Measurement, measure
from tests.engine import BASE_IMAGE, Engine, build_declared_image, ensure_base_image
from tests.mocks import evaluate_program, named

SIZE_TARGET_BYTES = 1.2e9  # 1.2 GB uncompressed, decimal, as `docker images` reports


def run() -> list[Measurement]:
    engine = Engine()
    try:
        client = engine.client
        ensure_base_image(client)
        inputs = named(evaluate_program("dev"), "torchserve-image").inputs
        image_id, _ = build_declared_image(client, inputs)
        size = client.images.get(image_id).attrs["Size"]
        base = client.images.get(BASE_IMAGE).attrs["Size"]
        client.images.remove(image_id, force=True)
    finally:
        engine.close()
    return [
        measure("cpu production image size", size / 1e9, "GB", SIZE_TARGET_BYTES / 1e9,
                f"baseline is the 1.2 GB target (upstream's CPU image: about 2 GB); base image here {base / 1e9:.3f} GB"),
    ]


if __name__ == "__main__":
    for m in run():
        print(m, file=sys.stderr)
