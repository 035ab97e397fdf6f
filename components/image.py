"""TorchServeImage: the production TorchServe image (CPU or a CUDA variant), built from components/docker/.

Creates one `docker.Image` (child `<name>-image`, local only, never pushed). The tag is
content-addressed — `<repository>:<torchserve version>-<cpu|cuXXX>-<12 hex of the build inputs>` — so the
same Dockerfile, scripts and build args give the same tag and no diff, and any change gives a new one.

Outputs: `image_ref` (repository:tag), `image_id` (what containers run).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_docker as docker

from components import validators as v
from components.variants import Variant, resolve_variant

DOCKER_DIR = Path(__file__).resolve().parent / "docker"
TARGET = "production"


@dataclass(frozen=True)
class TorchServeImageArgs:
    """Build inputs. Every version and index is a build arg, so a stack can pin or mirror them."""

    repository: str = "torchserve-deploy"
    accelerator: str = "cpu"
    """cpu, or cuda with `cuda_version` from components.variants.CUDA_VARIANTS."""
    cuda_version: str | None = None
    torch_version: str | None = None
    """None: the variant's default (CPU 2.13.0; for CUDA the newest torch publishing that variant)."""
    base_image: str | None = None
    """None: the variant's base (debian:bookworm-slim, or the NVIDIA CUDA base image)."""
    torch_index_url: str | None = None
    """None: the variant's torch wheel index (download.pytorch.org/whl/<cpu|cuXXX>)."""
    torchserve_version: str = "0.12.0"
    model_archiver_version: str = "0.12.0"
    pip_index_url: str = "https://pypi.org/simple"
    platform: str = "linux/amd64"
    context_dir: Path = DOCKER_DIR
    project_root: Path | None = None
    """When set, the build context is given to the provider relative to it (the Pulumi.yaml
    directory, which the provider resolves relative paths against), keeping machine paths out of diffs."""
    extra_build_args: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        v.one_of("TorchServeImageArgs.platform", self.platform, ("linux/amd64", "linux/arm64"))
        # Validated and resolved once, by value: the order of settings never changes the result.
        object.__setattr__(self, "variant", resolve_variant(
            accelerator=self.accelerator, cuda_version=self.cuda_version, torch_version=self.torch_version,
            platform=self.platform, key_prefix="TorchServeImageArgs."))
        if not (self.context_dir / "Dockerfile").is_file():
            raise v.ValidationError(
                "TorchServeImageArgs.context_dir", str(self.context_dir), "a directory holding a Dockerfile",
                "point context_dir at components/docker or a copy of it",
            )

    def build_args(self) -> dict[str, str]:
        var: Variant = self.variant  # type: ignore[attr-defined]
        args = {
            "BASE_IMAGE": self.base_image or var.base_image,
            "MODEL_ARCHIVER_VERSION": self.model_archiver_version,
            "PIP_INDEX_URL": self.pip_index_url,
            "PYTHON_VERSION": var.python_version,
            "TORCH_INDEX_URL": self.torch_index_url or var.torch_index,
            "TORCH_VERSION": var.torch_version,
            "TORCHSERVE_VERSION": self.torchserve_version,
        }
        args.update(self.extra_build_args)
        return dict(sorted(args.items()))


def context_files(context_dir: Path) -> list[Path]:
    """Files that reach the build (the wheelhouse only carries test wheels and is ignored here)."""
    return sorted(
        p for p in context_dir.rglob("*")
        if p.is_file() and "wheelhouse" not in p.relative_to(context_dir).parts and "__pycache__" not in p.parts
    )


def content_tag(args: TorchServeImageArgs) -> str:
    """Tag from the content of the build inputs: same inputs → same tag on every machine."""
    digest = hashlib.sha256()
    for path in context_files(args.context_dir):
        digest.update(path.relative_to(args.context_dir).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    for key, value in args.build_args().items():
        digest.update(f"{key}={value}\0".encode())
    digest.update(f"{args.platform}\0{TARGET}".encode())
    return f"{args.torchserve_version}-{args.variant.tag_part}-{digest.hexdigest()[:12]}"  # type: ignore[attr-defined]


class TorchServeImage(pulumi.ComponentResource):
    """Builds the TorchServe production image on the provider's Docker host (see module docstring)."""

    image_ref: pulumi.Output[str]
    image_id: pulumi.Output[str]

    def __init__(self, name: str, args: TorchServeImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:image:TorchServeImage", name, None, opts)
        context = str(args.context_dir)
        if args.project_root is not None:
            context = os.path.relpath(args.context_dir, args.project_root)
        self.ref = f"{args.repository}:{content_tag(args)}"
        self.image = docker.Image(
            f"{name}-image",
            image_name=self.ref,
            build=docker.DockerBuildArgs(
                context=context,
                args=args.build_args(),
                target=TARGET,
                platform=args.platform,
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = pulumi.Output.from_input(self.ref)
        # With skip_push, repo_digest is the local image ID: it changes exactly when the image does.
        self.image_id = self.image.repo_digest
        self.register_outputs({"image_ref": self.image_ref, "image_id": self.image_id})
