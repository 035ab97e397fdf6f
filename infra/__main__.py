"""torchserve-deploy program: read stack config once, compose the components, export endpoints.

model → archive → store → image → server, on the Docker host the docker provider talks to.
"""
from __future__ import annotations

from pathlib import Path

import pulumi
import pulumi.runtime.config as runtime_config

from components import (
    ModelArchive,
    ModelArchiveArgs,
    ModelStore,
    ModelStoreArgs,
    TorchServeImage,
    TorchServeImageArgs,
    TorchServeServer,
    TorchServeServerArgs,
)
from components.registry import EcrPush
from components.server_config import ModelServing, ServerPorts
from infra.stack_settings import Settings, load_settings

# The engine runs this file from infra/, so repo paths come from __file__, never the working directory.
ROOT = Path(__file__).resolve().parent.parent
# Pulumi.yaml's runtime virtualenv; the archive command runs in the project root.
ARCHIVER = ".venv/bin/torch-model-archiver"


def stack_config() -> dict:
    """Every config value of the stack (engine-supplied, or PULUMI_CONFIG)."""
    return {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}


def build_image(s: Settings) -> TorchServeImage:
    return TorchServeImage(
        "torchserve",
        TorchServeImageArgs(
            repository=s["imageRepository"],
            build_type=s["buildType"],
            accelerator=s["accelerator"],
            cuda_version=s["cudaVersion"] or None,
            torch_version=s["torchVersion"] or None,
            base_image=s["baseImage"] or None,
            torchserve_version=s["torchserveVersion"],
            model_archiver_version=s["torchserveVersion"],
            pip_index_url=s["pipIndexUrl"],
            torch_index_url=s["torchIndexUrl"] or None,
            python_version=s["pythonVersion"] or None,
            platform=s["platform"],
            extra_pip_packages=tuple(s["extraPipPackages"]),
            extra_apt_packages=tuple(s["extraAptPackages"]),
            dev_source_repo=s["devSourceRepo"],
            dev_source_ref=s["devSourceRef"],
            tags=tuple(s["imageTags"]),
            push=EcrPush(s["ecrRepository"] or None) if s["imagePush"] else None,
            project_root=ROOT,
        ),
    )


def deploy(s: Settings, image: TorchServeImage) -> TorchServeServer:
    labels = (("torchserve-deploy.stack", s.stack),)
    on_volume = s["modelStore"] == "volume"
    store = ModelStore(
        "model-store",
        ModelStoreArgs(
            kind=s["modelStore"],
            host_path=None if on_volume else s.store_path,
            volume_name=s.store_volume if on_volume else None,
            protect=s["protectModelStore"],
            labels=labels,
        ),
    )
    export_dir = ROOT / ".build" / s.stack / "archives" if on_volume else s.store_path
    archives = [
        ModelArchive(
            f"model-{m.name}",
            ModelArchiveArgs(
                source=m,
                export_dir=export_dir,
                project_root=ROOT,
                archiver=ARCHIVER,
                volume_name=s.store_volume if on_volume else None,
                helper_image=image.image_id if on_volume else None,
            ),
            opts=pulumi.ResourceOptions(depends_on=[store]),
        )
        for m in s.models
    ]
    workers = s["workersPerModel"]
    serving = tuple(
        ModelServing(
            name=m.name,
            version=m.version,
            min_workers=workers,
            max_workers=workers,
            batch_size=s["batchSize"],
            max_batch_delay_ms=s["maxBatchDelayMs"],
            response_timeout_s=s["responseTimeoutS"],
        )
        for m in s.models
    )
    # The archives' digests as a label: a changed .mar replaces the container so TorchServe loads it.
    digests = ",".join(f"{m.name}={a.content_hash_value[:12]}" for m, a in zip(s.models, archives))
    return TorchServeServer(
        "torchserve",
        TorchServeServerArgs(
            container_name=s.container_name,
            image=image.image_id,
            image_ref=image.ref,
            models=serving,
            store=store.mount,
            host_ports=ServerPorts(
                inference=s["inferencePort"],
                management=s["managementPort"],
                metrics=s["metricsPort"],
                grpc_inference=s["grpcInferencePort"],
                grpc_management=s["grpcManagementPort"],
            ),
            inference_bind=s["inferenceBind"],
            metrics_bind=s["metricsBind"],
            grpc_inference_bind=s["grpcInferenceBind"],
            shm_size_mb=s.shm_size_mb,
            ulimit_memlock=s["ulimitMemlock"],
            ulimit_stack=s["ulimitStack"],
            gpus=s.gpus,
            token_auth=s["tokenAuth"],
            token_expiration_min=s["tokenExpirationMin"],
            restart=s["restartPolicy"],
            log_max_size_mb=s.log_max_size_mb,
            log_max_files=s["logMaxFiles"],
            labels=labels + (("torchserve-deploy.models", digests),),
        ),
        opts=pulumi.ResourceOptions(depends_on=[image, *archives]),
    )


settings = load_settings(stack_config(), stack=pulumi.get_stack(), root=ROOT)
if not settings["tokenAuth"]:
    pulumi.log.warn(
        "torchserve-deploy:tokenAuth is false: TorchServe answers inference and management requests "
        "without a key. Turn it back on unless this endpoint is protected by something else."
    )
image = build_image(settings)
pulumi.export("imageRef", image.image_ref)
# buildType codebuild makes a CI image (e.g. an AWS CodeBuild custom image): built, smoke-tested while
# it builds, pushed if asked; it serves nothing, so no store, archive or server.
if settings["buildType"] != "codebuild":
    server = deploy(settings, image)
    pulumi.export("inferenceUrl", server.inference_url)
    pulumi.export("managementUrl", server.management_url)
    pulumi.export("metricsUrl", server.metrics_url)
    pulumi.export("modelNames", server.model_names)
    pulumi.export("containerName", server.container_name)
    pulumi.export("tokenCommand", server.token_command)
