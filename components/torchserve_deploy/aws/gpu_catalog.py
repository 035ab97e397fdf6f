"""EC2 GPU instance families and what runs on them (pure data + validators).

Facts from shared/reference/ec2-gpu.md: GPU per family, whether the DLAMI Base OSS supports it, whether
NVIDIA's open kernel modules drive it (Turing and newer), and the newest CUDA it can run (Volta stops
at 12.x and needs the proprietary R580 branch or older).
"""
from __future__ import annotations

from dataclasses import dataclass

from torchserve_deploy.aws.limits import instance_type as instance_type_shape
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.variants import Variant

DLAMI_DRIVER = "595"  # DLAMI Base OSS driver branch (Sep–Oct 2026 releases: 595.91.07)
# The ECS GPU-optimized AMI (Amazon Linux 2023) and the driver branch it ships (at least; conservative).
ECS_GPU_SSM = "/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"
ECS_GPU_DRIVER = "570"
DLAMI_SSM = "/aws/service/deeplearning/ami/x86_64/base-oss-nvidia-driver-gpu-ubuntu-{version}/latest/ami-id"
UBUNTU_SSM = "/aws/service/canonical/ubuntu/server/{version}/stable/current/amd64/hvm/ebs-gp3/ami-id"
UBUNTU_VERSIONS = ("22.04", "24.04")
DRIVER_BRANCHES = ("570", "575", "580", "590", "595")


@dataclass(frozen=True)
class GpuFamily:
    family: str
    gpu: str
    architecture: str
    compute_capability: str
    open_modules: bool
    """NVIDIA's open kernel modules support it (Turing and newer); Volta needs the proprietary ones."""
    dlami: bool
    """The DLAMI Base OSS lists it among its supported instances."""
    max_cuda_major: int | None = None
    max_driver_branch: int | None = None


FAMILIES: dict[str, GpuFamily] = {f.family: f for f in (
    GpuFamily("g4dn", "T4", "Turing", "7.5", True, True),
    GpuFamily("g5", "A10G", "Ampere", "8.6", True, True),
    GpuFamily("g6", "L4", "Ada", "8.9", True, True),
    GpuFamily("gr6", "L4", "Ada", "8.9", True, True),
    GpuFamily("g6e", "L40S", "Ada", "8.9", True, True),
    GpuFamily("p4d", "A100", "Ampere", "8.0", True, True),
    GpuFamily("p4de", "A100 80GB", "Ampere", "8.0", True, True),
    GpuFamily("p5", "H100", "Hopper", "9.0", True, True),
    GpuFamily("p5e", "H200", "Hopper", "9.0", True, True),
    GpuFamily("p5en", "H200", "Hopper", "9.0", True, True),
    GpuFamily("p3", "V100", "Volta", "7.0", False, False, max_cuda_major=12, max_driver_branch=580),
)}

# GPUs per instance size (AWS Batch "GPU jobs" table and the EC2 accelerated-computing specifications): a device
# index a stack names must be below it. An instance type not listed is refused (EC2 would refuse it at create).
_SINGLE = ("xlarge", "2xlarge", "4xlarge", "8xlarge", "16xlarge")
GPU_COUNTS: dict[str, int] = {
    **{f"{f}.{s}": 1 for f in ("g4dn", "g5", "g6", "g6e") for s in _SINGLE},
    "g4dn.12xlarge": 4, "g4dn.metal": 8, "g5.12xlarge": 4, "g5.24xlarge": 4, "g5.48xlarge": 8,
    "g6.12xlarge": 4, "g6.24xlarge": 4, "g6.48xlarge": 8, "gr6.4xlarge": 1, "gr6.8xlarge": 1,
    "g6e.12xlarge": 4, "g6e.24xlarge": 4, "g6e.48xlarge": 8, "p3.2xlarge": 1, "p3.8xlarge": 4, "p3.16xlarge": 8,
    "p4d.24xlarge": 8, "p4de.24xlarge": 8, "p5.4xlarge": 1, "p5.48xlarge": 8, "p5e.48xlarge": 8, "p5en.48xlarge": 8,
}

# On-demand Linux list prices, us-east-1, USD per hour (reference notes; check the pricing page).
PRICES_PER_HOUR = {"g4dn.xlarge": 0.526, "g5.xlarge": 1.006, "g6.xlarge": 0.8048, "g6e.xlarge": 1.861,
                   "p3.2xlarge": 3.06}


def gpu_family(key: str, instance_type: object) -> GpuFamily:
    family, size = instance_type_shape(key, instance_type)
    if family not in FAMILIES:
        raise ValidationError(key, instance_type, "a GPU instance type of family " + ", ".join(FAMILIES),
                              f"set {key} to g4dn.xlarge (T4, cheapest), g5.xlarge (A10G) or g6.xlarge (L4)")
    if instance_type not in GPU_COUNTS:  # EC2 would refuse it after the network and the edge exist
        sizes = ", ".join(t.split(".")[1] for t in GPU_COUNTS if t.startswith(family + "."))
        raise ValidationError(key, instance_type, f"an instance type EC2 offers ({family}: {sizes})",
                              f"pick one of those sizes for {key}")
    return FAMILIES[family]


def check_host(prefix: str, family: GpuFamily, variant: Variant, ami_route: str, driver_branch: str) -> None:
    """The CUDA variant and AMI route must suit the GPU and its driver."""
    if variant.accelerator != "cuda":
        raise ValidationError(f"{prefix}accelerator", variant.accelerator, "cuda on a GPU host",
                              f"set {prefix}accelerator to cuda and {prefix}cudaVersion to cu126")
    if ami_route == "ecs" and not family.dlami:
        raise ValidationError(f"{prefix}instanceType", family.family, "a GPU family the ECS GPU-optimized AMI (Amazon "
                              "Linux 2023) supports", f"set {prefix}instanceType to g5.xlarge or g4dn.xlarge")
    if ami_route == "dlami" and not family.dlami:
        raise ValidationError(f"{prefix}amiRoute", ami_route,
                              f"ubuntu for {family.family} ({family.gpu}): the DLAMI Base OSS does not support it",
                              f"set {prefix}amiRoute to ubuntu (proprietary driver branch ≤ {family.max_driver_branch})")
    branch = int({"dlami": DLAMI_DRIVER, "ecs": ECS_GPU_DRIVER}.get(ami_route, driver_branch))
    if family.max_driver_branch is not None and branch > family.max_driver_branch:
        raise ValidationError(f"{prefix}nvidiaDriverBranch", driver_branch,
                              f"≤ {family.max_driver_branch} for {family.gpu} (the last branch that supports {family.architecture})",
                              f"set {prefix}nvidiaDriverBranch to {family.max_driver_branch}")
    cuda_major = int(variant.cuda_version[2:-1]) if variant.cuda_version else 0
    if family.max_cuda_major is not None and cuda_major > family.max_cuda_major:
        raise ValidationError(f"{prefix}cudaVersion", variant.cuda_version,
                              f"CUDA ≤ {family.max_cuda_major}.x on {family.gpu}", f"set {prefix}cudaVersion to cu126")
    needed = int(str(variant.min_driver).split(".")[0])
    if branch < needed:
        raise ValidationError(f"{prefix}nvidiaDriverBranch" if ami_route == "ubuntu" else f"{prefix}cudaVersion",
                              driver_branch if ami_route == "ubuntu" else variant.cuda_version,
                              f"a driver branch ≥ {needed} for {variant.cuda_version} (minimum {variant.min_driver})",
                              f"set {prefix}nvidiaDriverBranch to 580, or pick an older cudaVersion")


def check_gpu_devices(key: str, gpus: str, instance_type: str) -> None:
    """Device indices (gpus "0,2") must exist on the instance type; "all" always does."""
    if gpus == "all":
        return
    count = GPU_COUNTS[instance_type]  # gpu_family refused any other type
    beyond = [i for i in gpus.split(",") if int(i) >= count]
    if beyond:
        raise ValidationError(key, gpus, f"device indexes below {count} ({instance_type} has {count} GPU"
                              f"{'s' if count > 1 else ''})", f"set {key} to all, or to indexes from 0 to {count - 1}")
