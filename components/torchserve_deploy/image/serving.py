"""TorchServeImage: a TorchServe image (production, dev or codebuild; CPU or a CUDA variant).

Creates a `docker.Image` (child `<name>-image`) from image/docker/Dockerfile and one `docker.Tag` per
custom tag (`<name>-tag-<tag>`); pushes to `push` (a Registry, e.g. from aws.ecr.EcrRepository) when
given. The default tag is content-addressed —
`<repository>:<torchserve version>-<cpu|cuXXX>[-<build type>]-<12 hex of the build inputs>` — so the
same Dockerfile, scripts and build args give the same tag and no diff; never `latest` by default.

Outputs: `image_ref` (repository:tag, the registry URL when pushed), `image_id` (local image ID, or
the pushed `repo@sha256:` digest; what containers run).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_docker as docker

from torchserve_deploy import validators as v
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.build_hash import build_digest
from torchserve_deploy.image.registry import Registry
from torchserve_deploy.image.variants import PYTHON_VERSIONS, TARGETS, TORCHSERVE_VERSIONS, Variant, resolve_variant

DOCKER_DIR = Path(__file__).resolve().parent / "docker"
URL_ARGS = ("PIP_INDEX_URL", "TORCH_INDEX_URL", "TS_REPO_URL")


@dataclass(frozen=True)
class TorchServeImageArgs:
    """Build inputs. Every version, index and source is a build arg, so a stack can pin or mirror them."""

    repository: str = "torchserve-deploy"
    build_type: str = "production"
    """production | dev (TorchServe from source at dev_source_repo@dev_source_ref) | codebuild (CI image)."""
    accelerator: str = "cpu"
    """cpu, or cuda with `cuda_version` from torchserve_deploy.image.variants.CUDA_VARIANTS."""
    cuda_version: str | None = None
    torch_version: str | None = None
    """None: the variant's default (CPU 2.13.0; for CUDA the newest torch publishing that variant)."""
    base_image: str | None = None
    """None: the variant's base (debian:bookworm-slim, or the NVIDIA CUDA base image)."""
    python_version: str | None = None
    """None: the python the base distribution ships (set it with a custom base image)."""
    torch_index_url: str | None = None
    """None: the variant's torch wheel index (download.pytorch.org/whl/<cpu|cuXXX>)."""
    torchserve_version: str = "0.12.0"
    model_archiver_version: str = "0.12.0"
    pip_index_url: str = "https://pypi.org/simple"
    allow_http_indexes: bool = False
    """Accept http:// package indexes (an explicit opt-in for a trusted local mirror)."""
    platform: str = "linux/amd64"
    extra_pip_packages: tuple[str, ...] = ()
    """Pinned requirements added to the serving venv, e.g. ("torchvision==0.28.0", "pillow==12.0.0")."""
    extra_apt_packages: tuple[str, ...] = ()
    """Distribution packages added to the runtime, e.g. ("libgl1",)."""
    dev_source_repo: str = "https://github.com/pytorch/serve.git"
    dev_source_ref: str = "v0.12.0"
    tags: tuple[str, ...] = ()
    """Custom tags added beside the content-addressed one (local tags)."""
    push: Registry | None = None
    """Push to this registry for remote hosts; None keeps the image on the local Docker host."""
    secret_build_args: frozenset[str] = frozenset()
    """Build args passed as secrets (an index URL with a token, say): encrypted in state, never in a diff."""
    context_dir: Path = DOCKER_DIR
    project_root: Path | None = None
    """When set, the build context is given to the provider relative to it (the Pulumi.yaml
    directory, which the provider resolves relative paths against), keeping machine paths out of diffs."""

    def __post_init__(self) -> None:
        a = "TorchServeImageArgs."
        v.image_repository(a + "repository", self.repository)
        v.one_of(a + "build_type", self.build_type, TARGETS)
        # Validated and resolved once, by value: the order of settings never changes the result.
        object.__setattr__(self, "variant", resolve_variant(
            accelerator=self.accelerator, cuda_version=self.cuda_version, torch_version=self.torch_version,
            platform=self.platform, key_prefix=a))
        v.one_of(a + "torchserve_version", self.torchserve_version, TORCHSERVE_VERSIONS)
        v.one_of(a + "model_archiver_version", self.model_archiver_version, TORCHSERVE_VERSIONS)
        if self.base_image is not None:
            v.image_reference(a + "base_image", self.base_image)
        if self.python_version is not None:
            v.one_of(a + "python_version", self.python_version, PYTHON_VERSIONS)
        v.url(a + "pip_index_url", self.pip_index_url, allow_http=self.allow_http_indexes, what="package index")
        if self.torch_index_url is not None:
            v.url(a + "torch_index_url", self.torch_index_url, allow_http=self.allow_http_indexes, what="package index")
        v.url(a + "dev_source_repo", self.dev_source_repo, what="git repository")
        v.git_ref(a + "dev_source_ref", self.dev_source_ref)
        v.pinned_requirements(a + "extra_pip_packages", self.extra_pip_packages)
        v.apt_packages(a + "extra_apt_packages", self.extra_apt_packages)
        v.docker_tags(a + "tags", self.tags)
        if not (self.context_dir / "Dockerfile").is_file():
            raise ValidationError(a + "context_dir", str(self.context_dir), "a directory holding a Dockerfile",
                                  "point context_dir at torchserve_deploy/image/docker or a copy of it")

    @property
    def resolved(self) -> Variant:
        return self.variant  # type: ignore[attr-defined, no-any-return]

    def build_args(self) -> dict[str, str]:
        """Exactly the ARGs the target's stages read (tests check this against the Dockerfile)."""
        var = self.resolved
        if self.build_type == "model-sync":
            return {"BASE_IMAGE": self.base_image or var.base_image, "PIP_INDEX_URL": self.pip_index_url,
                    "PYTHON_VERSION": self.python_version or var.python_version}
        args = {
            "BASE_IMAGE": self.base_image or var.base_image,
            "EXTRA_APT_PACKAGES": " ".join(self.extra_apt_packages),
            "EXTRA_PIP_PACKAGES": " ".join(self.extra_pip_packages),
            "MODEL_ARCHIVER_VERSION": self.model_archiver_version,
            "PIP_INDEX_URL": self.pip_index_url,
            "PYTHON_VERSION": self.python_version or var.python_version,
            "TORCH_INDEX_URL": self.torch_index_url or var.torch_index,
            "TORCH_VERSION": var.torch_version,
            "TORCHSERVE_VERSION": self.torchserve_version,
        }
        if self.build_type == "dev":
            args.update({"TS_REF": self.dev_source_ref, "TS_REPO_URL": self.dev_source_repo})
        return dict(sorted(args.items()))

    def digest_args(self) -> dict[str, str]:
        """Build args as the content tag sees them: credentials in URLs left out, so a rotated index
        token neither changes the tag nor leaks through it."""
        return {k: v.without_credentials(val) if k in URL_ARGS else val for k, val in self.build_args().items()}


def content_tag(args: TorchServeImageArgs) -> str:
    """Tag from the content of the build inputs: same inputs → same tag on every machine."""
    digest = build_digest(args.context_dir, args.digest_args(), args.platform, args.build_type)
    kind = "" if args.build_type == "production" else f"-{args.build_type}"
    return f"{args.torchserve_version}-{args.resolved.tag_part}{kind}-{digest[:12]}"


class TorchServeImage(pulumi.ComponentResource):
    """Builds a TorchServe image on the provider's Docker host (see module docstring)."""

    image_ref: pulumi.Output[str]
    image_id: pulumi.Output[str]

    def __init__(self, name: str, args: TorchServeImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:image:TorchServeImage", name, None, opts)
        context = str(args.context_dir)
        if args.project_root is not None:
            context = os.path.relpath(args.context_dir, args.project_root)
        self.tag = content_tag(args)
        self.ref = f"{args.repository}:{self.tag}"
        push = args.push
        image_name: pulumi.Input[str] = (pulumi.Output.from_input(push.repository_url).apply(lambda u: f"{u}:{self.tag}")
                                         if push else self.ref)
        build_args: dict[str, pulumi.Input[str]] = {
            k: pulumi.Output.secret(val) if k in args.secret_build_args else val for k, val in args.build_args().items()}
        self.image = docker.Image(
            f"{name}-image",
            image_name=image_name,
            build=docker.DockerBuildArgs(
                context=context,
                args=build_args,
                target=args.build_type,
                platform=args.platform,
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=push is None,
            registry=docker.RegistryArgs(server=push.server, username=push.username,
                                         password=pulumi.Output.secret(push.password)) if push else None,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.extra_tags = [
            docker.Tag(f"{name}-tag-{tag}", source_image=self.image.image_name,
                       target_image=f"{args.repository}:{tag}", tag_triggers=[self.image.repo_digest],
                       opts=pulumi.ResourceOptions(parent=self))
            for tag in args.tags
        ]
        self.image_ref = pulumi.Output.from_input(image_name)
        # Local build: repo_digest is the image ID. Pushed: repo@sha256 digest. Both change exactly
        # when the image does, so containers follow content, not a movable tag.
        self.image_id = self.image.repo_digest
        self.register_outputs({"image_ref": self.image_ref, "image_id": self.image_id})
