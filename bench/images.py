"""`make bench`, image part: the dev stack's CPU production image size against the 0.80 GB target, and the
size of each of its layers, built on the local Docker engine from the stack's captured inputs (base image:
the debootstrap stand-in for debian:bookworm-slim, made with the same dpkg excludes)."""
from __future__ import annotations

import sys

from bench.results import Measurement, measure
from bench.stats import AT_MOST
from tests.engine import BASE_IMAGE, Engine, build_declared_image, ensure_base_image
from tests.mocks import evaluate_program, named

SIZE_TARGET_BYTES = 0.80e9  # uncompressed, decimal, as `docker images` reports


def run() -> tuple[list[Measurement], str]:
    engine = Engine()
    try:
        client = engine.client
        ensure_base_image(client)
        inputs = named(evaluate_program("dev"), "torchserve-image").inputs
        image_id, _ = build_declared_image(client, inputs)
        image = client.images.get(image_id)
        size, base = image.attrs["Size"], client.images.get(BASE_IMAGE).attrs["Size"]
        layers = [(h["Size"], " ".join(h["CreatedBy"].replace("/bin/sh -c #(nop) ", "").split())[:110])
                  for h in image.history() if h["Size"] > 0]
    finally:
        engine.close()
    table = "\n".join(f"| {s / 1e6:.1f} MB | `{c.replace('|', '/')}` |" for s, c in layers)
    report = f"""
## The CPU production image, layer by layer (newest first)

| Size | Layer |
|---|---|
{table}
"""
    return [
        measure("cpu production image size", size / 1e9, "GB", SIZE_TARGET_BYTES / 1e9,
                f"baseline is the 0.80 GB target (upstream's CPU image: about 2 GB); base image here {base / 1e9:.3f} GB",
                AT_MOST(1.0)),
    ], report


if __name__ == "__main__":
    rows, text = run()
    for m in rows:
        print(m, file=sys.stderr)
    print(text)
