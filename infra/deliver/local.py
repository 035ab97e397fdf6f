"""Deliver a Plan to the Docker host the docker provider talks to: (train →) archive → store → server."""
from __future__ import annotations

from dataclasses import replace

import pulumi
from torchserve_deploy.aws.ecr import EcrRepository
from torchserve_deploy.image.serving import TorchServeImage
from torchserve_deploy.model.archive import ModelArchive
from torchserve_deploy.model.training import TrainingImage, TrainingRun
from torchserve_deploy.serve.server import TorchServeServer
from torchserve_deploy.serve.store import ModelStore

from infra.plan import Plan


def build_image(plan: Plan) -> TorchServeImage:
    image_args = plan.image
    if plan.push is not None:
        image_args = replace(image_args, push=EcrRepository("torchserve", plan.push).registry)
    return TorchServeImage("torchserve", image_args)


def deliver(plan: Plan, image: TorchServeImage) -> TorchServeServer:
    assert plan.store is not None, "a local plan has a local store"
    store = ModelStore("model-store", plan.store)
    archives = []
    for m in plan.models:
        run = None
        archive_args = m.archive
        if m.training_image is not None and m.training_run is not None:
            train_image = TrainingImage(f"train-{m.name}", m.training_image)
            run = TrainingRun(f"train-{m.name}", replace(m.training_run, image=train_image.image_id),
                              opts=pulumi.ResourceOptions(depends_on=[store]))
        if archive_args.volume_name is not None:
            archive_args = replace(archive_args, helper_image=image.image_id)
        # A trained model's archive waits for its run: the checkpoint exists only afterwards.
        archives.append(ModelArchive(f"model-{m.name}", archive_args,
                                     opts=pulumi.ResourceOptions(depends_on=[store, *([run] if run else [])])))
    return TorchServeServer("torchserve", replace(plan.server, image=image.image_id),
                            opts=pulumi.ResourceOptions(depends_on=[image, *archives]))
