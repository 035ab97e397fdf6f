"""The fleet's part of the Plan (pure): the model-sync init container, scaling and its rollout alarms."""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from torchserve_deploy.aws.fleet import MODELS_VOLUME
from torchserve_deploy.aws.fleet_scaling import ScalingArgs
from torchserve_deploy.constants import CONTAINER_MODEL_STORE, CONTAINER_TMP, CONTAINER_USER
from torchserve_deploy.container.spec import ContainerSpec, LogConfig, Mount, Tmpfs
from torchserve_deploy.image.serving import TorchServeImageArgs, content_tag

from infra.fleet_capacity import Capacity, derived_target
from infra.settings import Settings

if TYPE_CHECKING:
    from infra.plan import Ec2Plan


@dataclass(frozen=True)
class FleetPlan:
    cluster_name: str
    scaling: ScalingArgs
    sync_image: TorchServeImageArgs
    """The model-sync init container's image (same Dockerfile, target model-sync)."""
    sync: ContainerSpec
    """The init container: copies the archives from the bucket into the task's model volume."""
    capacity: Capacity | None
    """Where the autoscaling target came from when it was derived (None: set in config)."""


def awslogs(e: Ec2Plan) -> LogConfig:
    # Container logs go to CloudWatch (the host's or task's role may write this one log group).
    return LogConfig(driver="awslogs", options=(("awslogs-group", e.log_group), ("awslogs-region", e.region),
                                                ("awslogs-stream-prefix", "torchserve")))


def fleet_plan(s: Settings, e: Ec2Plan, image: TorchServeImageArgs, root: Path) -> FleetPlan:
    f = s.fleet
    capacity = None if f.fleet_target_requests_per_task else derived_target(root)
    # Python and boto3 only: a CPU base whatever the server's accelerator (no CUDA image for a file copy).
    sync_image = replace(image, build_type="model-sync", tags=(), accelerator="cpu", cuda_version=None,
                         torch_version=None, base_image=None, python_version=None, torch_index_url=None)
    sync = ContainerSpec(
        name="model-sync", image=f"{sync_image.repository}:{content_tag(sync_image)}",
        # command: the delivery gives it (`s3://<bucket>/<prefix> <store>`) once the bucket exists.
        env=(("AWS_REGION", e.region), ("AWS_DEFAULT_REGION", e.region)),  # not left to IMDS from the task
        mounts=(Mount(CONTAINER_MODEL_STORE, MODELS_VOLUME, "volume"),), user=CONTAINER_USER, restart="no",
        cap_drop=("ALL",), security_opts=("no-new-privileges:true",), read_only=True,
        tmpfs=(Tmpfs(CONTAINER_TMP, "rw,noexec,nosuid,nodev,size=64m,mode=1777"),), log=awslogs(e))
    return FleetPlan(
        cluster_name=f"torchserve-{s.stack}", sync_image=sync_image, sync=sync, capacity=capacity,
        scaling=ScalingArgs(min_tasks=f.fleet_min_tasks, max_tasks=f.fleet_max_tasks,
                            requests_per_task_per_minute=f.fleet_target_requests_per_task or (
                                capacity.target_per_minute if capacity else 1),
                            scale_out_cooldown_s=f.fleet_scale_out_cooldown_s,
                            scale_in_cooldown_s=f.fleet_scale_in_cooldown_s, p99_alarm_ms=f.fleet_p99_alarm_ms,
                            errors_alarm_count=f.fleet_error_alarm_count))
