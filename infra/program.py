"""Stack settings → component arguments (pure). The Pulumi program (infra/__main__.py) and the compose
writer (infra/compose.py) both build their containers from these, so neither keeps its own copy."""
from __future__ import annotations

from pathlib import Path

import pulumi

from components import ModelArchiveArgs, ModelStoreArgs, TorchServeImageArgs, TorchServeServerArgs
from components.archive import ModelSource, content_hash
from components.container_spec import LogConfig
from components.registry import EcrPush
from components.server_config import ModelServing, ServerPorts
from components.training import TrainingImageArgs, TrainingRunArgs, training_tag
from components.training_params import render_args
from infra.stack_settings import Settings

ROOT = Path(__file__).resolve().parent.parent
# Pulumi.yaml's runtime virtualenv; the archive command runs in the project root.
ARCHIVER = ".venv/bin/torch-model-archiver"


def labels(s: Settings) -> tuple[tuple[str, str], ...]:
    return (("torchserve-deploy.stack", s.stack),)


def image_args(s: Settings) -> TorchServeImageArgs:
    return TorchServeImageArgs(
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
        # An ec2 host pulls from ECR, so its image is always pushed.
        push=EcrPush(s["ecrRepository"] or None) if s["imagePush"] or s["host"] == "ec2" else None,
        project_root=ROOT,
    )


def store_args(s: Settings) -> ModelStoreArgs:
    on_volume = s["modelStore"] == "volume"
    return ModelStoreArgs(
        kind=s["modelStore"],
        host_path=None if on_volume else s.store_path,
        volume_name=s.store_volume if on_volume else None,
        protect=s["protectModelStore"],
        labels=labels(s),
    )


def trained(s: Settings) -> list[ModelSource]:
    return [m for m in s.models if m.name in s.training_values]


def training_image_args(s: Settings, m: ModelSource) -> TrainingImageArgs:
    t = m.training
    assert t is not None
    return TrainingImageArgs(
        source_dir=t.source_dir, entrypoint=t.entrypoint, requirements=t.requirements,
        repository=f"{s['imageRepository']}-train-{m.name}", accelerator=s["accelerator"],
        cuda_version=s["cudaVersion"] or None, torch_version=s["torchVersion"] or None,
        base_image=s["baseImage"] or None, pip_index_url=s["pipIndexUrl"], platform=s["platform"],
        project_root=ROOT,
    )


def training_run_args(s: Settings, m: ModelSource, image: pulumi.Input[str]) -> TrainingRunArgs:
    t = m.training
    assert t is not None
    ref = f"{s['imageRepository']}-train-{m.name}:{training_tag(training_image_args(s, m))}"
    return TrainingRunArgs(
        container_name=f"train-{s.stack}-{m.name}", image=image, image_ref=ref,
        arguments=tuple(render_args(s.training_values[m.name])), data_dir=t.data_dir,
        outputs_dir=s.training_outputs / m.name, checkpoint=t.checkpoint, gpus=s.gpus,
        shm_size_mb=s.shm_size_mb, ulimit_memlock=s["ulimitMemlock"], ulimit_stack=s["ulimitStack"],
        data_ref=str(t.data_dir.relative_to(ROOT)) if t.data_dir.is_relative_to(ROOT) else str(t.data_dir),
    )


def archive_args(s: Settings, m: ModelSource, run: TrainingRunArgs | None,
                 helper_image: pulumi.Input[str] | None, upload_uri: pulumi.Input[str] | None = None) -> ModelArchiveArgs:
    """Where the archive goes: into the host-dir store, or staged for a volume store or an upload."""
    on_volume = s["modelStore"] == "volume"
    staged = s["modelStore"] in ("volume", "ebs")
    return ModelArchiveArgs(
        source=m,
        export_dir=ROOT / ".build" / s.stack / "archives" if staged else s.store_path,
        project_root=ROOT,
        archiver=ARCHIVER,
        volume_name=s.store_volume if on_volume else None,
        helper_image=helper_image if on_volume else None,
        trained_checkpoint=run.outputs_dir / run.checkpoint if run else None,
        trained_by=run.run_digest if run else None,
        upload_uri=upload_uri,
    )


def server_args(s: Settings, image: pulumi.Input[str], image_ref: str,
                archives: list[ModelArchiveArgs], store_mount, log: LogConfig | None = None) -> TorchServeServerArgs:
    workers = s["workersPerModel"]
    serving = tuple(
        ModelServing(name=m.name, version=m.version, min_workers=workers, max_workers=workers,
                     batch_size=s["batchSize"], max_batch_delay_ms=s["maxBatchDelayMs"],
                     response_timeout_s=s["responseTimeoutS"])
        for m in s.models
    )
    # The archives' digests as a label: a changed .mar replaces the container so TorchServe loads it.
    digests = ",".join(f"{a.source.name}={content_hash(a.source, a.trained_by)[:12]}" for a in archives)
    return TorchServeServerArgs(
        container_name=s.container_name,
        image=image,
        image_ref=image_ref,
        models=serving,
        store=store_mount,
        host_ports=ServerPorts(inference=s["inferencePort"], management=s["managementPort"],
                               metrics=s["metricsPort"], grpc_inference=s["grpcInferencePort"],
                               grpc_management=s["grpcManagementPort"]),
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
        labels=labels(s) + (("torchserve-deploy.models", digests),),
        log=log,
    )
