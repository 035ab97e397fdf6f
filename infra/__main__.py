"""torchserve-deploy program: read stack config once, compose the components, export endpoints.

(train →) archive → store → image → server, on the Docker host the docker provider talks to.
"""
from __future__ import annotations

import pulumi
import pulumi.runtime.config as runtime_config

from components import ModelArchive, ModelStore, TorchServeImage, TorchServeServer
from components.errors import ValidationError
from components.training import TrainingImage, TrainingRun, TrainingRunArgs
from infra.program import (ROOT, archive_args, image_args, server_args, store_args, trained, training_image_args,
                           training_run_args)
from infra.ec2 import deploy_ec2
from infra.stack_settings import Settings, load_settings


def stack_config() -> dict:
    """Every config value of the stack (engine-supplied, or PULUMI_CONFIG)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def deploy(s: Settings, image: TorchServeImage) -> TorchServeServer:
    store = ModelStore("model-store", store_args(s))
    runs: dict[str, tuple[TrainingRun, TrainingRunArgs]] = {}
    for m in trained(s):
        train_image = TrainingImage(f"train-{m.name}", training_image_args(s, m))
        run_args = training_run_args(s, m, train_image.image_id)
        runs[m.name] = (TrainingRun(f"train-{m.name}", run_args, opts=pulumi.ResourceOptions(depends_on=[store])),
                        run_args)
    archives, archive_specs = [], []
    for m in s.models:
        run, run_args = runs.get(m.name, (None, None))
        spec = archive_args(s, m, run_args, image.image_id)
        archive_specs.append(spec)
        # A trained model's archive waits for its run: the checkpoint exists only afterwards.
        archives.append(ModelArchive(f"model-{m.name}", spec,
                                     opts=pulumi.ResourceOptions(depends_on=[store, *([run] if run else [])])))
    return TorchServeServer(
        "torchserve", server_args(s, image.image_id, image.ref, archive_specs, store.mount),
        opts=pulumi.ResourceOptions(depends_on=[image, *archives]),
    )


def main() -> None:
    settings = load_settings(stack_config(), stack=pulumi.get_stack(), root=ROOT)
    if not settings["tokenAuth"]:
        pulumi.log.warn(
            "torchserve-deploy:tokenAuth is false: TorchServe answers inference and management requests "
            "without a key. Turn it back on unless this endpoint is protected by something else."
        )
    image = TorchServeImage("torchserve", image_args(settings))
    pulumi.export("imageRef", image.image_ref)
    # buildType codebuild makes a CI image (e.g. an AWS CodeBuild custom image): built, smoke-tested while
    # it builds, pushed if asked; it serves nothing, so no store, archive or server.
    if settings["buildType"] == "codebuild":
        return
    if settings["host"] == "ec2":
        host = deploy_ec2(settings, image, str(stack_config()["aws:region"]))
        port, container = settings["inferencePort"], settings.container_name
        pulumi.export("instanceId", host.instance_id)
        pulumi.export("inferenceUrl", host.public_ip.apply(lambda ip: f"http://{ip}:{port}"))
        pulumi.export("sessionCommand", host.instance_id.apply(lambda i: f"aws ssm start-session --target {i}"))
        pulumi.export("tokenCommand", host.instance_id.apply(
            lambda i: f"aws ssm start-session --target {i}  # then: sudo docker exec {container} "
                      "cat /home/model-server/key_file.json"))
        pulumi.export("modelNames", [m.name for m in settings.models])
        return
    server = deploy(settings, image)
    pulumi.export("inferenceUrl", server.inference_url)
    pulumi.export("managementUrl", server.management_url)
    pulumi.export("metricsUrl", server.metrics_url)
    pulumi.export("modelNames", server.model_names)
    pulumi.export("containerName", server.container_name)
    pulumi.export("tokenCommand", server.token_command)


try:
    main()
except ValidationError as err:
    # RunError: Pulumi prints the message alone, without a Python traceback. Validation runs before the
    # first resource, so nothing has been created.
    raise pulumi.RunError(str(err)) from None
