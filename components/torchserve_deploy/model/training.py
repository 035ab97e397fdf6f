"""Dockerized training: TrainingImage (the user's training source on a variant base) and TrainingRun
(one run to completion during `pulumi up`).

TrainingImage creates a `docker.Image` (`<name>-image`) from the source directory with
model/training_image/Dockerfile; content-addressed tag; unchanged inputs → no rebuild, no diff.

TrainingRun creates a `command:local:Command` (`<name>-run`) that runs the container rendered from
its `ContainerSpec` with `docker run`: parameters as `--key value` arguments, data mounted read-only
at /data, outputs at /outputs, GPUs, shm and ulimits like the server. A non-zero exit fails the
deploy with the last lines of the log. It re-runs only when the image, the parameters or the data
reference change (its triggers). Outputs: `checkpoint_path`, `log_dir`, `run_digest`.
"""
from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from torchserve_deploy import validators as v
from torchserve_deploy.constants import CONTAINER_USER, TRAINING_RUN_LABEL
from torchserve_deploy.container.docker_run import render_docker_run
from torchserve_deploy.container.host_dirs import prepare_host_dir
from torchserve_deploy.container.spec import ContainerSpec, Mount, serving_ulimits
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.build_hash import build_digest
from torchserve_deploy.image.variants import Variant, resolve_variant
from torchserve_deploy.model.params import digest

_SOURCE_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_./-]{0,200}")
TRAINING_DOCKERFILE = Path(__file__).resolve().parent / "training_image" / "Dockerfile"
CONTAINER_DATA, CONTAINER_OUTPUTS = "/data", "/outputs"
RUN_USER = CONTAINER_USER  # the image's non-root `trainer`


@dataclass(frozen=True)
class TrainingImageArgs:
    source_dir: Path
    """The training source (build context): entrypoint, requirements and code."""
    entrypoint: str = "main.py"
    requirements: str = "requirements.txt"
    repository: str = "torchserve-deploy-train"
    accelerator: str = "cpu"
    cuda_version: str | None = None
    torch_version: str | None = None
    base_image: str | None = None
    pip_index_url: str = "https://pypi.org/simple"
    platform: str = "linux/amd64"
    project_root: Path | None = None
    allow_http_indexes: bool = False
    secret_build_args: frozenset[str] = frozenset()
    """Build args passed as secrets (e.g. PIP_INDEX_URL holding a token)."""

    def __post_init__(self) -> None:
        a = "TrainingImageArgs."
        object.__setattr__(self, "variant", resolve_variant(
            accelerator=self.accelerator, cuda_version=self.cuda_version, torch_version=self.torch_version,
            platform=self.platform, key_prefix=a))
        v.image_repository(a + "repository", self.repository)
        if self.base_image is not None:
            v.image_reference(a + "base_image", self.base_image)
        v.url(a + "pip_index_url", self.pip_index_url, allow_http=self.allow_http_indexes, what="package index")
        for field_name in ("entrypoint", "requirements"):
            # Both become build args (COPY and an ENV): a relative path of plain characters only.
            v.full_match(a + field_name, getattr(self, field_name), _SOURCE_FILE,
                         "a relative file path of letters, digits, '_', '.', '-' and '/' (no '..')", "train.py")
            if ".." in getattr(self, field_name).split("/"):
                raise ValidationError(a + field_name, getattr(self, field_name), "a path without '..'", "fix the path")
            if not (self.source_dir / getattr(self, field_name)).is_file():
                raise ValidationError(a + field_name, getattr(self, field_name), f"a file inside {self.source_dir}",
                                      "fix the training section of the model's torchserve-model.yaml")

    def build_args(self) -> dict[str, str]:
        var: Variant = self.variant  # type: ignore[attr-defined]
        return dict(sorted({
            "BASE_IMAGE": self.base_image or var.base_image,
            "ENTRYPOINT": self.entrypoint,
            "PIP_INDEX_URL": self.pip_index_url,
            "PYTHON_VERSION": var.python_version,
            "REQUIREMENTS": self.requirements,
            "TORCH_INDEX_URL": var.torch_index,
            "TORCH_VERSION": var.torch_version,
        }.items()))

    def digest_args(self) -> dict[str, str]:
        return {k: v.without_credentials(val) if k == "PIP_INDEX_URL" else val for k, val in self.build_args().items()}

    def rel(self, path: Path) -> str:
        return os.path.relpath(path, self.project_root) if self.project_root else str(path)


def training_tag(args: TrainingImageArgs) -> str:
    """Content-addressed: the source files (minus .dockerignore), the Dockerfile and the build args."""
    digest = build_digest(args.source_dir, args.digest_args(), TRAINING_DOCKERFILE.read_bytes(), args.platform)
    return f"{args.variant.tag_part}-{digest[:12]}"  # type: ignore[attr-defined]


class TrainingImage(pulumi.ComponentResource):
    """The training image (see module docstring). Outputs: `image_ref`, `image_id`."""

    image_ref: pulumi.Output[str]
    image_id: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:training:TrainingImage", name, None, opts)
        self.ref = f"{args.repository}:{training_tag(args)}"
        self.image = docker.Image(
            f"{name}-image",
            image_name=self.ref,
            build=docker.DockerBuildArgs(
                context=args.rel(args.source_dir),
                dockerfile=args.rel(TRAINING_DOCKERFILE),
                args={k: pulumi.Output.secret(val) if k in args.secret_build_args else val
                      for k, val in args.build_args().items()},
                platform=args.platform,
                builder_version=docker.BuilderVersion.BUILDER_BUILD_KIT,
            ),
            skip_push=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.image_ref = pulumi.Output.from_input(self.ref)
        self.image_id = self.image.repo_digest
        self.register_outputs({"image_ref": self.image_ref, "image_id": self.image_id})


@dataclass(frozen=True)
class TrainingRunArgs:
    container_name: str
    image: pulumi.Input[str]
    """The image to run (the built image's ID, an Output)."""
    image_ref: str
    """Content-addressed reference: part of the run's identity, and what compose names."""
    arguments: tuple[str, ...]
    data_dir: Path
    outputs_dir: Path
    checkpoint: str = "model.pt"
    gpus: str | None = None
    shm_size_mb: int = 1024
    ulimit_memlock: int = -1
    ulimit_stack: int = 67108864
    env: tuple[tuple[str, str], ...] = field(default=())
    data_ref: str = ""
    """How the data is named in the run's identity (a repo-relative path): a new reference re-runs."""

    def __post_init__(self) -> None:
        v.container_name("TrainingRunArgs.container_name", self.container_name)
        if not self.data_dir.is_dir():
            raise ValidationError("TrainingRunArgs.data_dir", str(self.data_dir), "an existing directory",
                                  "create it or fix the training data path")

    @property
    def run_digest(self) -> str:
        """Identity of a run: image content, parameters and data reference."""
        return digest([self.image_ref, *self.arguments, self.data_ref or str(self.data_dir)])[:16]


def build_training_spec(args: TrainingRunArgs) -> ContainerSpec:
    """The one description of a training container (pure)."""
    return ContainerSpec(
        name=args.container_name,
        image=args.image_ref,
        command=args.arguments,
        env=(("TRAIN_OUTPUT_DIR", CONTAINER_OUTPUTS), *args.env),
        mounts=(Mount(CONTAINER_DATA, str(args.data_dir), "bind", read_only=True),
                Mount(CONTAINER_OUTPUTS, str(args.outputs_dir), "bind")),
        ulimits=serving_ulimits(args.ulimit_memlock, args.ulimit_stack),
        shm_size_mb=args.shm_size_mb,
        gpus=args.gpus,
        user=RUN_USER,
        restart="no",
        labels=((TRAINING_RUN_LABEL, args.run_digest),),
    )


def run_script(spec: ContainerSpec, image: str, outputs_dir: str) -> str:
    """Run to completion with the log streamed as it comes (into `pulumi up`'s output), the log directory
    announced first; on failure repeat the last log lines on stderr and exit with the container's code."""
    name = shlex.quote(spec.name)
    announce = f"training {spec.name}: streaming its log (also written to {outputs_dir}/logs)"
    return "\n".join([
        prepare_host_dir(outputs_dir),
        f"docker rm -f {name} >/dev/null 2>&1",
        f"echo {shlex.quote(announce)}",
        shlex.join(render_docker_run(spec, image)) + "; rc=$?",
        'if [ "$rc" != 0 ]; then echo "training ' + spec.name + ' failed (exit code $rc); last lines of its log:" >&2; '
        f"docker logs --tail 40 {name} >&2; fi",
        f"docker rm {name} >/dev/null 2>&1",
        'exit "$rc"',
    ])


class TrainingRun(pulumi.ComponentResource):
    """One training run to completion during `pulumi up` (see module docstring)."""

    checkpoint_path: pulumi.Output[str]
    log_dir: pulumi.Output[str]
    run_digest: pulumi.Output[str]

    def __init__(self, name: str, args: TrainingRunArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:training:TrainingRun", name, None, opts)
        self.spec = build_training_spec(args)
        self.run_digest_value = args.run_digest
        self.checkpoint = args.outputs_dir / args.checkpoint
        self.run = command.local.Command(
            f"{name}-run",
            create=pulumi.Output.from_input(args.image).apply(
                lambda image: run_script(self.spec, image, str(args.outputs_dir))),
            triggers=[args.run_digest],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.checkpoint_path = self.run.stdout.apply(lambda _: str(self.checkpoint))
        self.log_dir = pulumi.Output.from_input(str(args.outputs_dir / "logs"))
        self.run_digest = pulumi.Output.from_input(args.run_digest)
        self.register_outputs({"checkpoint_path": self.checkpoint_path, "log_dir": self.log_dir,
                               "run_digest": self.run_digest})
