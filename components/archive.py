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
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command

from components import validators as v
from components.errors import ValidationError
from components.server_config import CONTAINER_MODEL_STORE


@dataclass(frozen=True)
class ModelSource:
    """The files torch-model-archiver packs. Paths are absolute (the program resolves them)."""

    name: str
    version: str
    handler: Path
    model_file: Path | None = None
    serialized_file: Path | None = None
    extra_files: tuple[Path, ...] = ()
    requirements_file: Path | None = None
    config_file: Path | None = None

    def files(self) -> list[tuple[str, Path]]:
        """(archiver flag, path) for every input file, in the archiver's argument order."""
        pairs = [("--model-file", self.model_file), ("--serialized-file", self.serialized_file),
                 ("--handler", self.handler), ("--requirements-file", self.requirements_file),
                 ("--config-file", self.config_file)]
        found = [(flag, path) for flag, path in pairs if path is not None]
        return found + [("--extra-files", path) for path in self.extra_files]


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

    def __post_init__(self) -> None:
        v.model_name("ModelArchiveArgs.source.name", self.source.name)
        for flag, path in self.source.files():
            if not Path(path).is_file():
                raise ValidationError(
                    f"ModelArchiveArgs.source ({flag})", str(path), "an existing file",
                    "fix the path (relative paths in stack config are relative to the repository root)",
                )
        if self.volume_name is not None and self.helper_image is None:
            raise ValidationError("ModelArchiveArgs.helper_image", None, "an image when volume_name is set",
                                  "pass the serving image's ID as helper_image")


def _display(path: Path, root: Path | None) -> str:
    return os.path.relpath(path, root) if root is not None else str(path)


def archive_command(args: ModelArchiveArgs) -> list[str]:
    """The archiver argv (pure). The tests run exactly this to make the archive they serve."""
    src, root = args.source, args.project_root
    argv = [args.archiver, "--model-name", src.name, "--version", src.version]
    extras = []
    for flag, path in src.files():
        if flag == "--extra-files":
            extras.append(_display(path, root))
        else:
            argv += [flag, _display(path, root)]
    if extras:
        argv += ["--extra-files", ",".join(extras)]
    return argv + ["--export-path", _display(args.export_dir, root), "--force"]


def content_hash(source: ModelSource) -> str:
    digest = hashlib.sha256(f"{source.name}\0{source.version}\0".encode())
    for flag, path in source.files():
        digest.update(f"{flag}\0{Path(path).name}\0".encode() + Path(path).read_bytes() + b"\0")
    return digest.hexdigest()


class ModelArchive(pulumi.ComponentResource):
    """One model archive in the model store (see module docstring)."""

    mar_name: pulumi.Output[str]
    content_hash: pulumi.Output[str]

    def __init__(self, name: str, args: ModelArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:archive:ModelArchive", name, None, opts)
        mar = f"{args.source.name}.mar"
        digest = content_hash(args.source)
        export = _display(args.export_dir, args.project_root)
        create = f"mkdir -p {shlex.quote(export)} && " + shlex.join(archive_command(args))
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
                        image, f"/staging/{mar}", f"{CONTAINER_MODEL_STORE}/{mar}",
                    ])
                ),
                triggers=[digest],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.archive]),
            )
        self.content_hash_value = digest
        self.mar_name = pulumi.Output.from_input(mar)
        self.content_hash = pulumi.Output.from_input(digest)
        self.register_outputs({"mar_name": self.mar_name, "content_hash": self.content_hash})
