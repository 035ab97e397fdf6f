"""ModelStore: where the serving container finds its `.mar` files.

kind "hostDir" (dev default): a directory on the Docker host, created by a `command:local:Command`
(child `<name>-dir`) whose delete does nothing — removing the stack never removes models.
kind "volume": a Docker named volume (child `<name>-volume`), kept on `pulumi destroy`
(retain_on_delete) and optionally protected, because every volume input forces replacement and a
replacement would empty it.
kind "ebs": an encrypted gp3 EBS volume (child `<name>-ebs`) for an EC2 host, declared apart from the
instance so it survives instance replacement; protected and retained when `protect` (prod), deleted
with the stack otherwise (test stacks).

Outputs: `mount` (a `Mount` for the server spec, known at construction), `location`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws
import pulumi_command as command
import pulumi_docker as docker

from components import validators as v
from components.container_spec import Mount
from components.errors import ValidationError
from components.host_userdata import MODEL_STORE_DIR
from components.server_config import CONTAINER_MODEL_STORE
from components.training import prepare_host_dir

KINDS = ("hostDir", "volume", "ebs")


@dataclass(frozen=True)
class EbsStore:
    """An encrypted gp3 volume in the host's availability zone; mounted on the host at /srv/models."""

    availability_zone: pulumi.Input[str]
    size_gb: int = 50
    iops: int = 3000
    throughput_mbs: int = 125
    kms_key_id: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class ModelStoreArgs:
    kind: str = "hostDir"
    host_path: Path | None = None
    """Absolute directory for kind hostDir (Docker bind mounts need absolute paths)."""
    volume_name: str | None = None
    """Volume name for kind volume."""
    protect: bool = False
    """Refuse `pulumi destroy` of the volume until protection is released deliberately (and keep it
    if the stack is removed anyway). Off for test stacks, whose volumes go with them."""
    labels: tuple[tuple[str, str], ...] = ()
    ebs: EbsStore | None = None
    """For kind ebs: the EBS volume's settings."""

    def __post_init__(self) -> None:
        v.one_of("ModelStoreArgs.kind", self.kind, KINDS)
        if self.kind == "hostDir" and (self.host_path is None or not Path(self.host_path).is_absolute()):
            raise ValidationError("ModelStoreArgs.host_path", self.host_path and str(self.host_path),
                                  "an absolute directory path for kind hostDir", "resolve the path before passing it")
        if self.kind == "ebs" and self.ebs is None:
            raise ValidationError("ModelStoreArgs.ebs", None, "EbsStore settings for kind ebs", "pass ebs=EbsStore(...)")
        if self.kind == "volume" and not self.volume_name:
            raise ValidationError("ModelStoreArgs.volume_name", self.volume_name, "a volume name for kind volume",
                                  "pass e.g. torchserve-dev-models")


def _kept(parent: pulumi.Resource, protect: bool) -> pulumi.ResourceOptions:
    """Protected volumes refuse `pulumi destroy` and survive stack removal; unprotected ones go."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect)


class ModelStore(pulumi.ComponentResource):
    """A model store (see module docstring)."""

    location: pulumi.Output[str]

    def __init__(self, name: str, args: ModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:store:ModelStore", name, None, opts)
        self.kind = args.kind
        build = {"hostDir": self._host_dir, "volume": self._docker_volume, "ebs": self._ebs_volume}[args.kind]
        self.resource, self.mount, self.location = build(name, args)
        self.register_outputs({"location": self.location, "kind": args.kind})

    def _host_dir(self, name: str, args: ModelStoreArgs):
        path = str(args.host_path)
        self.options = pulumi.ResourceOptions(parent=self)
        resource = command.local.Command(
            f"{name}-dir",
            # Owned by uid 1000 when created as root, so the image's non-root users can write it.
            create=prepare_host_dir(path),
            opts=self.options,
        )
        return resource, Mount(CONTAINER_MODEL_STORE, path, "bind", read_only=True), pulumi.Output.from_input(path)

    def _docker_volume(self, name: str, args: ModelStoreArgs):
        path = str(args.volume_name)
        # Every volume input forces a replacement, which would empty it: keep it on destroy.
        self.options = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True)
        resource = docker.Volume(
            f"{name}-volume",
            name=path,
            labels=[docker.VolumeLabelArgs(label=k, value=val) for k, val in args.labels],
            opts=self.options,
        )
        return resource, Mount(CONTAINER_MODEL_STORE, path, "volume", read_only=True), pulumi.Output.from_input(path)

    def _ebs_volume(self, name: str, args: ModelStoreArgs):
        ebs = args.ebs
        assert ebs is not None
        self.options = _kept(self, args.protect)
        resource = aws.ebs.Volume(
            f"{name}-ebs",
            availability_zone=ebs.availability_zone,
            size=ebs.size_gb,
            type="gp3",
            iops=ebs.iops,
            throughput=ebs.throughput_mbs,
            encrypted=True,
            kms_key_id=ebs.kms_key_id,
            tags=dict(ebs.tags),
            opts=self.options,
        )
        # The host mounts it at MODEL_STORE_DIR (components/host/mount-model-store.sh).
        return resource, Mount(CONTAINER_MODEL_STORE, MODEL_STORE_DIR, "bind", read_only=True), resource.id
