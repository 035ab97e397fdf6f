"""ModelStore: where the serving container finds its `.mar` files.

kind "hostDir" (dev default): a directory on the Docker host, created by a `command:local:Command`
(child `<name>-dir`) whose delete does nothing — removing the stack never removes models.
kind "volume": a Docker named volume (child `<name>-volume`), kept on `pulumi destroy`
(retain_on_delete) and optionally protected, because every volume input forces replacement and a
replacement would empty it.

Outputs: `mount` (a `Mount` for the server spec, known at construction), `location`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components import validators as v
from components.container_spec import Mount
from components.errors import ValidationError
from components.server_config import CONTAINER_MODEL_STORE
from components.training import prepare_host_dir

KINDS = ("hostDir", "volume")


@dataclass(frozen=True)
class ModelStoreArgs:
    kind: str = "hostDir"
    host_path: Path | None = None
    """Absolute directory for kind hostDir (Docker bind mounts need absolute paths)."""
    volume_name: str | None = None
    """Volume name for kind volume."""
    protect: bool = False
    """Refuse `pulumi destroy` of the volume until protection is released deliberately."""
    labels: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        v.one_of("ModelStoreArgs.kind", self.kind, KINDS)
        if self.kind == "hostDir" and (self.host_path is None or not Path(self.host_path).is_absolute()):
            raise ValidationError("ModelStoreArgs.host_path", self.host_path and str(self.host_path),
                                  "an absolute directory path for kind hostDir", "resolve the path before passing it")
        if self.kind == "volume" and not self.volume_name:
            raise ValidationError("ModelStoreArgs.volume_name", self.volume_name, "a volume name for kind volume",
                                  "pass e.g. torchserve-dev-models")


class ModelStore(pulumi.ComponentResource):
    """A model store on the Docker host (see module docstring)."""

    location: pulumi.Output[str]

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:store:ModelStore", name, None, opts)
        self.kind = args.kind
        if args.kind == "hostDir":
            path = str(args.host_path)
            self.resource = command.local.Command(
                f"{name}-dir",
                # Owned by uid 1000 when created as root, so the image's non-root users can write it.
                create=prepare_host_dir(path),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.mount = Mount(CONTAINER_MODEL_STORE, path, "bind", read_only=True)
        else:
            path = str(args.volume_name)
            self.resource = docker.Volume(
                f"{name}-volume",
                name=path,
                labels=[docker.VolumeLabelArgs(label=k, value=val) for k, val in args.labels],
                opts=pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True),
            )
            self.mount = Mount(CONTAINER_MODEL_STORE, path, "volume", read_only=True)
        self.location = pulumi.Output.from_input(path)
        self.register_outputs({"location": self.location, "kind": args.kind})
