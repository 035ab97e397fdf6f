"""TorchServeImage: the CPU production TorchServe image, built from components/docker/.

Creates one `docker.Image` (child `<name>-image`, local only, never pushed). The tag is
content-addressed — `<repository>:<torchserve version>-cpu-<12 hex of the build inputs>` — so the
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

DOCKER_DIR = Path(__file__).resolve().parent / "docker"
TARGET = "production"


@dataclass(frozen=True)
class TorchServeImageArgs:
    """Build inputs. Every version and index is a build arg, so a stack can pin or mirror them."""

    repository: str = "torchserve-deploy"
    base_image: str = "debian:bookworm-slim"
    torchserve_version: str = "0.12.0"
    model_archiver_version: str = "0.12.0"
    torch_version: str = "2.13.0"
    pip_index_url: str = "https://pypi.org/simple"
    torch_index_url: str = "https://download.pytorch.org/whl/cpu"
    platform: str = "linux/amd64"
    context_dir: Path = DOCKER_DIR
    project_root: Path | None = None
    """When set, the build context is given to the provider relative to it (the Pulumi.yaml
    directory, which the provider resolves relative paths against), keeping machine paths out of diffs."""
    extra_build_args: tuple[tuple[str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        v.one_of("TorchServeImageArgs.platform", self.platform, ("linux/amd64", "linux/arm64"))
        if not (self.context_dir / "Dockerfile").is_file():
            raise v.ValidationError(
                "TorchServeImageArgs.context_dir", str(self.context_dir), "a directory holding a Dockerfile",
                "point context_dir at components/docker or a copy of it",
            )

    def build_args(self) -> dict[str, str]:
        args = {
            "BASE_IMAGE": self.base_image,
            "MODEL_ARCHIVER_VERSION": self.model_archiver_version,
            "PIP_INDEX_URL": self.pip_index_url,
            "TORCH_INDEX_URL": self.torch_index_url,
            "TORCH_VERSION": self.torch_version,
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
    return f"{args.torchserve_version}-cpu-{digest.hexdigest()[:12]}"


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
