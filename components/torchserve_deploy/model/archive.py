"""ModelArchive: builds one `.mar` with torch-model-archiver and places it in the model store.

Creates a `command:local:Command` (child `<name>-archive`) that runs the archiver on the machine
running `pulumi` (it needs only `requirements.txt`). Nothing runs during preview; the command runs
again only when the content of an input file (or the archive settings) changes, because its
`triggers` are the inputs' SHA-256 digests. For a Docker-volume store it also copies the archive
into the volume (child `<name>-publish`) with a throwaway container of the serving image.

Outputs: `mar_name`, `content_hash` (of all inputs).
"""
from __future__ import annotations

import hashlib
import os
import shlex
from dataclasses import dataclass, replace
from pathlib import Path

import pulumi
import pulumi_command as command

from torchserve_deploy import validators as v
from torchserve_deploy.constants import CONTAINER_MODEL_STORE, CONTAINER_USER
from torchserve_deploy.container.spec import ContainerSpec, Mount
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.model.archiver_input import archiver_path, distinct_names
from torchserve_deploy.model.source import ModelSource, TrainingSource

__all__ = ["ModelArchive", "ModelArchiveArgs", "ModelSource", "TrainingSource", "archive_command",
           "build_archiver_spec", "content_hash"]


@dataclass(frozen=True)
class ModelArchiveArgs:
    source: ModelSource
    export_dir: Path
    """Where the .mar is written: the host-directory store itself, or a staging dir for a volume store."""
    project_root: Path | None = None
    """When set, input paths in the command are relative to it (the directory the command runs in)."""
    archiver: str = "torch-model-archiver"
    volume_name: str | None = None
    """For a Docker-volume store: the volume to copy the archive into."""
    helper_image: pulumi.Input[str] | None = None
    """For a Docker-volume store: an image with `cp` (the serving image) used to write the volume."""
    trained_checkpoint: Path | None = None
    """A checkpoint a TrainingRun writes during `pulumi up`: archived instead of source.serialized_file."""
    trained_by: str | None = None
    """That run's digest: the archive is rebuilt whenever the run is."""
    upload_uri: pulumi.Input[str] | None = None
    """s3://bucket/prefix/ to upload the archive to after building it (remote hosts sync from there)."""
    upload_command: tuple[str, ...] = ("python3", "-m", "torchserve_deploy.aws.upload")

    def __post_init__(self) -> None:
        v.model_name("ModelArchiveArgs.source.name", self.source.name)
        if (self.trained_checkpoint is None) != (self.trained_by is None):
            raise ValidationError("ModelArchiveArgs.trained_by", self.trained_by,
                                  "set together with trained_checkpoint", "pass the TrainingRun's run_digest")
        for flag, path in self.input_files():
            archiver_path(f"ModelArchiveArgs.source ({flag})", _display(path, self.project_root),
                            handler=flag == "--handler")
            if flag == "--serialized-file" and self.trained_checkpoint is not None:
                continue  # written by the training run during `pulumi up`
            if not Path(path).is_file():
                raise ValidationError(
                    f"ModelArchiveArgs.source ({flag})", str(path), "an existing file",
                    "fix the path (relative paths in stack config are relative to the repository root)",
                )
        distinct_names("ModelArchiveArgs.source", [(f, Path(p)) for f, p in self.input_files()])
        if self.volume_name is not None and self.helper_image is None:
            raise ValidationError("ModelArchiveArgs.helper_image", None, "an image when volume_name is set",
                                  "pass the serving image's ID as helper_image")

    def input_files(self) -> list[tuple[str, Path]]:
        """The archiver's inputs, with the trained checkpoint in place of the shipped weights."""
        files = self.source.files()
        if self.trained_checkpoint is not None:
            files = [(f, p) for f, p in files if f != "--serialized-file"]
            files.insert(1 if self.source.model_file else 0, ("--serialized-file", self.trained_checkpoint))
        return files


def _display(path: Path, root: Path | None) -> str:
    return os.path.relpath(path, root) if root is not None else str(path)


def archive_command(args: ModelArchiveArgs, *, export_path: str | None = None) -> list[str]:
    """The archiver argv (pure). The tests run exactly this to make the archive they serve.
    `export_path` replaces the rendered export directory (e.g. a container path)."""
    src, root = args.source, args.project_root
    argv = [args.archiver, "--model-name", src.name, "--version", src.version]
    extras = []
    for flag, path in args.input_files():
        if flag == "--extra-files":
            extras.append(_display(path, root))
        else:
            argv += [flag, _display(path, root)]
    if extras:
        argv += ["--extra-files", ",".join(extras)]
    return argv + ["--export-path", export_path or _display(args.export_dir, root), "--force"]


def content_hash(source: ModelSource, trained_by: str | None = None) -> str:
    """Digest of the archive's inputs; a trained checkpoint counts by its run's digest (it does not exist yet)."""
    digest = hashlib.sha256(f"{source.name}\0{source.version}\0".encode())
    for flag, path in source.files():
        if flag == "--serialized-file" and trained_by is not None:
            digest.update(f"trained-by\0{trained_by}\0".encode())
            continue
        digest.update(f"{flag}\0{Path(path).name}\0".encode() + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


WORKSPACE = "/workspace"


def build_archiver_spec(args: ModelArchiveArgs, image_ref: str, store: Mount, name: str, *,
                        workspace: Path) -> ContainerSpec:
    """The archive step as a one-shot container of the serving image (used where no host-side
    archiver runs, e.g. docker-compose): `workspace` (the repository, holding every input) is mounted read-only at
    /workspace, and the command's paths are rendered from there, wherever a host-side command would run."""
    if not all(Path(p).is_relative_to(workspace) for _, p in args.input_files()):
        raise ValidationError("build_archiver_spec.workspace", str(workspace), "a directory holding every input of "
                              "the archive (it is all the container sees)", "pass the repository root")
    inside = replace(args, archiver="torch-model-archiver", project_root=workspace)
    argv = archive_command(inside, export_path=CONTAINER_MODEL_STORE)
    return ContainerSpec(
        name=name,
        image=image_ref,
        entrypoint=(argv[0],),
        command=tuple(argv[1:]),
        working_dir=WORKSPACE,
        mounts=(Mount(WORKSPACE, str(workspace), "bind", read_only=True),
                Mount(CONTAINER_MODEL_STORE, store.source, store.kind)),
        user=CONTAINER_USER,
        restart="no",
    )


class ModelArchive(pulumi.ComponentResource):
    """One model archive in the model store (see module docstring)."""

    mar_name: pulumi.Output[str]
    content_hash: pulumi.Output[str]

    def __init__(self, name: str, args: ModelArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:archive:ModelArchive", name, None, opts)
        mar = f"{args.source.name}.mar"
        digest = content_hash(args.source, args.trained_by)
        export = _display(args.export_dir, args.project_root)
        build = f"mkdir -p {shlex.quote(export)} && " + shlex.join(archive_command(args))
        if args.trained_checkpoint is not None:
            # The checkpoint is written by the model's own training code, during `up`: the archiver (which follows
            # links) takes it only as a regular file, never a link to a host file such as ~/.aws/credentials.
            checkpoint = shlex.quote(_display(args.trained_checkpoint, args.project_root))
            build = (f"if [ -L {checkpoint} ] || [ ! -f {checkpoint} ]; then echo \"refusing to archive {checkpoint}: "
                     f"the training run must leave a regular file there, not a link or a directory\" >&2; exit 1; fi"
                     f" && {build}")
        create: pulumi.Input[str] = build
        if args.upload_uri is not None:
            # Archive and upload are one step: an unchanged archive is neither rebuilt nor re-sent.
            built = f"{export}/{mar}"
            create = pulumi.Output.from_input(args.upload_uri).apply(
                lambda uri: f"{build} && " + shlex.join([*args.upload_command, built, f"{uri}{mar}"]))
        self.archive = command.local.Command(
            f"{name}-archive",
            create=create,
            triggers=[digest],
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.publish = None
        if args.volume_name is not None:
            self.publish = command.local.Command(
                f"{name}-publish",
                create=pulumi.Output.from_input(args.helper_image).apply(
                    lambda image: shlex.join([
                        "docker", "run", "--rm", "--network", "none", "--entrypoint", "cp",
                        "-v", f"{args.volume_name}:{CONTAINER_MODEL_STORE}",
                        "-v", f"{os.path.abspath(args.export_dir)}:/staging:ro",
                        str(image), f"/staging/{mar}", f"{CONTAINER_MODEL_STORE}/{mar}",
                    ])
                ),
                triggers=[digest],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.archive]),
            )
        self.content_hash_value = digest
        self.mar_name = pulumi.Output.from_input(mar)
        self.content_hash = pulumi.Output.from_input(digest)
        self.register_outputs({"mar_name": self.mar_name, "content_hash": self.content_hash})
