"""Deliver a Plan to the Docker host the docker provider talks to: (train →) archive → store → server."""
from __future__ import annotations

import subprocess
from dataclasses import replace

import pulumi
from torchserve_deploy.aws.ecr import EcrRepository
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.serving import TorchServeImage
from torchserve_deploy.model.archive import ModelArchive
from torchserve_deploy.model.training import TrainingImage, TrainingRun
from torchserve_deploy.serve.server import TorchServeServer
from torchserve_deploy.serve.store import ModelStore

from infra.plan import Plan

START_INTERVAL_ENGINE = 25  # the first Docker engine that accepts a healthcheck's start interval
START_INTERVAL_KEY = "torchserve-deploy:healthStartIntervalS"


def engine_version() -> str | None:
    """The Docker engine's version as the docker CLI reports it (DOCKER_HOST honoured), or None."""
    try:
        out = subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True, text=True,
                             timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def supports_start_interval(version: str | None) -> bool:
    major = (version or "").split(".")[0]
    return major.isdigit() and int(major) >= START_INTERVAL_ENGINE


def check_start_interval(seconds: int, version: str | None) -> None:
    """Refuse a start interval the engine would refuse, before any resource is created."""
    if seconds and not supports_start_interval(version):
        raise ValidationError(START_INTERVAL_KEY, seconds,
                              f"0, or seconds on Docker engine {START_INTERVAL_ENGINE} or later (this engine: "
                              f"{version or 'not answering'})",
                              f"set it to 0 (pulumi config set {START_INTERVAL_KEY} 0) or upgrade the Docker engine")


def build_image(plan: Plan) -> TorchServeImage:
    """The image first of all resources, so the engine check before it comes before any resource."""
    if plan.server.health_start_interval_s:
        check_start_interval(plan.server.health_start_interval_s, engine_version())
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
