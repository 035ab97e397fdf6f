"""ModelStore: where the serving container on a Docker host finds its `.mar` files.

kind "hostDir" (dev default): a directory on the Docker host, created by a `command:local:Command`
(child `<name>-dir`) whose delete does nothing — removing the stack never removes models.
kind "volume": a Docker named volume (child `<name>-volume`), kept on `pulumi destroy`
(retain_on_delete) and optionally protected, because every volume input forces replacement and a
replacement would empty it.
(An EC2 host's EBS store is `torchserve_deploy.aws.ebs_store.EbsModelStore`.)

Outputs: `mount` (a `Mount` for the server spec, known at construction), `location`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from torchserve_deploy import validators as v
from torchserve_deploy.constants import CONTAINER_MODEL_STORE
from torchserve_deploy.container.host_dirs import prepare_host_dir
from torchserve_deploy.container.spec import Mount
from torchserve_deploy.errors import ValidationError

KINDS = ("hostDir", "volume")
StoreKind = Literal["hostDir", "volume"]


@dataclass(frozen=True)
class ModelStoreArgs:
    kind: StoreKind = "hostDir"
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
        if self.kind == "volume":
            v.container_name("ModelStoreArgs.volume_name", self.volume_name)

    @property
    def mount(self) -> Mount:
        """How the serving container sees the store (read-only)."""
        if self.kind == "volume":
            return Mount(CONTAINER_MODEL_STORE, str(self.volume_name), "volume", read_only=True)
        return Mount(CONTAINER_MODEL_STORE, str(self.host_path), "bind", read_only=True)


class ModelStore(pulumi.ComponentResource):
    """A model store on a Docker host (see module docstring)."""

    location: pulumi.Output[str]

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:store:ModelStore", name, None, opts)
        self.kind = args.kind
        self.mount = args.mount
        if args.kind == "volume":
            # Every volume input forces a replacement, which would empty it: keep it on destroy.
            self.options = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True)
            self.resource: pulumi.CustomResource = docker.Volume(
                f"{name}-volume", name=args.volume_name,
                labels=[docker.VolumeLabelArgs(label=k, value=val) for k, val in args.labels], opts=self.options)
        else:
            self.options = pulumi.ResourceOptions(parent=self)
            # Owned by uid 1000 when created as root, so the image's non-root users can write it.
            self.resource = command.local.Command(f"{name}-dir", create=prepare_host_dir(str(args.host_path)),
                                                  opts=self.options)
        self.location = pulumi.Output.from_input(self.mount.source)
        self.register_outputs({"location": self.location, "kind": args.kind})
