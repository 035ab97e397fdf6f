"""The validated build matrix: build types, accelerators and CUDA variants (pure data + lookups).

Each CUDA variant maps to its NVIDIA CUDA base image, its torch wheel index, the torch versions
that publish that variant, and the minimum NVIDIA driver (the driver of the CUDA release the base
image carries). Settings are looked up by value, never by position, so the result does not depend
on the order in which settings are given (upstream's build_image.sh resets the CUDA version when
`-g` follows `-cv`).
"""
from __future__ import annotations

from dataclasses import dataclass

from torchserve_deploy.errors import ValidationError

BUILD_TYPES = ("production", "dev", "codebuild")
# Dockerfile targets the components build; model-sync is the fleet's init container (not a user build type).
TARGETS = (*BUILD_TYPES, "model-sync")
# The supported sets, kept here and nowhere else. TorchServe before 0.11.1 ignores the token-auth and
# model-API settings (it would serve with no auth); 0.12.0 is the last upstream release.
TORCHSERVE_VERSIONS = ("0.11.1", "0.12.0")
PYTHON_VERSIONS = ("3.10", "3.11", "3.12")
ACCELERATORS = ("cpu", "cuda")
PLATFORMS = ("linux/amd64", "linux/arm64")
TORCH_INDEX = "https://download.pytorch.org/whl"
# Values build_image.sh once accepted and no current torch publishes.
RETIRED_CUDA = ("cu92", "cu101", "cu102", "cu111", "cu113", "cu116", "cu117")


@dataclass(frozen=True)
class CudaVariant:
    name: str
    base_image: str
    python_version: str  # the python3 the base image's distribution ships
    torch_versions: tuple[str, ...]  # torch releases that publish this variant (newest last)
    min_driver: str

    @property
    def torch_index(self) -> str:
        return f"{TORCH_INDEX}/{self.name}"

    @property
    def default_torch(self) -> str:
        return self.torch_versions[-1]


CUDA_VARIANTS: dict[str, CudaVariant] = {
    v.name: v
    for v in (
        CudaVariant("cu118", "nvidia/cuda:11.8.0-base-ubuntu22.04", "3.10", ("2.4.1", "2.5.1", "2.6.0", "2.7.1"), "520.61.05"),
        CudaVariant("cu121", "nvidia/cuda:12.1.1-base-ubuntu22.04", "3.10", ("2.4.1", "2.5.1"), "530.30.02"),
        CudaVariant("cu124", "nvidia/cuda:12.4.1-base-ubuntu22.04", "3.10", ("2.4.1", "2.5.1", "2.6.0"), "550.54.15"),
        CudaVariant("cu126", "nvidia/cuda:12.6.3-base-ubuntu24.04", "3.12", ("2.6.0", "2.7.1", "2.8.0"), "560.35.05"),
        CudaVariant("cu128", "nvidia/cuda:12.8.1-base-ubuntu24.04", "3.12", ("2.7.1", "2.8.0"), "570.124.06"),
    )
}

CPU_BASE_IMAGE = "debian:bookworm-slim"
CPU_PYTHON = "3.11"
CPU_TORCH = "2.13.0"
CPU_TORCH_VERSIONS = ("2.4.1", "2.5.1", "2.6.0", "2.7.1", "2.8.0", CPU_TORCH)


@dataclass(frozen=True)
class Variant:
    """What one accelerator choice resolves to for the image build."""

    accelerator: str
    cuda_version: str | None
    base_image: str
    python_version: str
    torch_version: str
    torch_index: str
    min_driver: str | None

    @property
    def tag_part(self) -> str:
        return self.cuda_version or "cpu"


def resolve_variant(
    *, accelerator: str, cuda_version: str | None, torch_version: str | None, platform: str, key_prefix: str = ""
) -> Variant:
    """Resolve and validate an accelerator choice; `key_prefix` names the config namespace or argument."""
    k = key_prefix
    if accelerator not in ACCELERATORS:
        raise ValidationError(f"{k}accelerator", accelerator, "cpu or cuda", f"set {k}accelerator to cpu")
    if platform not in PLATFORMS:
        raise ValidationError(f"{k}platform", platform, ", ".join(PLATFORMS), f"set {k}platform to linux/amd64")
    supported = ", ".join(CUDA_VARIANTS)
    if accelerator == "cpu":
        if cuda_version:
            raise ValidationError(f"{k}cudaVersion", cuda_version, "empty when accelerator is cpu",
                                  f"set {k}accelerator to cuda, or clear {k}cudaVersion")
        torch = torch_version or CPU_TORCH
        if torch not in CPU_TORCH_VERSIONS:
            raise ValidationError(f"{k}torchVersion", torch, "a torch release with a CPU wheel: " + ", ".join(CPU_TORCH_VERSIONS),
                                  f"set {k}torchVersion to {CPU_TORCH}, or leave it empty")
        return Variant("cpu", None, CPU_BASE_IMAGE, CPU_PYTHON, torch, f"{TORCH_INDEX}/cpu", None)
    if platform != "linux/amd64":
        raise ValidationError(f"{k}platform", platform, "linux/amd64 for CUDA images (arm64 is CPU-only here)",
                              f"set {k}platform to linux/amd64 or {k}accelerator to cpu")
    if cuda_version not in CUDA_VARIANTS:
        why = " (retired: no current torch publishes it)" if cuda_version in RETIRED_CUDA else ""
        raise ValidationError(f"{k}cudaVersion", cuda_version, f"one of {supported}{why}", f"set {k}cudaVersion to cu128")
    variant = CUDA_VARIANTS[cuda_version]
    torch = torch_version or variant.default_torch
    if torch not in variant.torch_versions:
        raise ValidationError(
            f"{k}torchVersion", torch,
            f"a torch release that publishes {cuda_version}: " + ", ".join(variant.torch_versions),
            f"set {k}torchVersion to {variant.default_torch} or pick another cudaVersion",
        )
    return Variant("cuda", cuda_version, variant.base_image, variant.python_version, torch, variant.torch_index,
                   variant.min_driver)
