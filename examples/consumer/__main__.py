"""A small Pulumi program that serves one model with the installed torchserve-deploy package.

It imports nothing from the torchserve-deploy repository: only the package's public API. The image is
built from the Dockerfile shipped inside the package; the model comes from ./model.
"""
from __future__ import annotations

from pathlib import Path

import pulumi
from torchserve_deploy import (
    ModelArchive,
    ModelArchiveArgs,
    ModelServing,
    ModelStore,
    ModelStoreArgs,
    TorchServeImage,
    TorchServeImageArgs,
    TorchServeServer,
    TorchServeServerArgs,
)
from torchserve_deploy.model.manifest import MANIFEST, load_manifest

HERE = Path(__file__).resolve().parent
MODEL_DIR = HERE / "model"

config = pulumi.Config()
# Docker bind mounts need an absolute directory: a configured one, or .model-store next to this program.
store_dir = Path(config.get("storeDir") or HERE / ".model-store").resolve()

source = load_manifest(MODEL_DIR, f"model/{MANIFEST}")

# Defaults: the CPU production image, built from the package's own Dockerfile (its package data).
image = TorchServeImage("torchserve", TorchServeImageArgs())
store = ModelStore("model-store", ModelStoreArgs(kind="hostDir", host_path=store_dir))
archive = ModelArchive(
    f"model-{source.name}",
    ModelArchiveArgs(source=source, export_dir=store_dir),
    opts=pulumi.ResourceOptions(depends_on=[store]),
)
server = TorchServeServer(
    "torchserve",
    TorchServeServerArgs(
        container_name=f"torchserve-consumer-{pulumi.get_stack()}",
        image=image.image_id,
        image_ref=image.ref,
        models=(ModelServing(name=source.name, version=source.version),),
        store=store.mount,
        # Hardened (read-only root): config.properties is written here and bind-mounted read-only.
        files_dir=store_dir.parent / ".files",
    ),
    opts=pulumi.ResourceOptions(depends_on=[image, archive]),
)

pulumi.export("inference_url", server.inference_url)
pulumi.export("model_names", server.model_names)
pulumi.export("token_command", server.token_command)
