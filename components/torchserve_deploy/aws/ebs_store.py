"""EbsModelStore: the model store of an EC2 host, an encrypted gp3 EBS volume (child `<name>-ebs`).

Declared apart from the instance so it survives instance replacement; protected and retained when
`protect` (prod), deleted with the stack otherwise (test stacks). The host mounts it at
MODEL_STORE_DIR (aws/host/mount-model-store.sh), formatting it only when it is blank.
Outputs: `volume_id`; `mount` (the bind mount the serving container gets).
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from torchserve_deploy.aws.limits import check_gp3
from torchserve_deploy.constants import CONTAINER_MODEL_STORE
from torchserve_deploy.container.spec import Mount

MODEL_STORE_DIR = "/srv/models"


@dataclass(frozen=True)
class EbsModelStoreArgs:
    """An encrypted gp3 volume in the host's availability zone."""

    availability_zone: pulumi.Input[str]
    size_gb: int = 50
    iops: int = 3000
    throughput_mbs: int = 125
    kms_key_id: pulumi.Input[str] | None = None
    """The key's ARN (the provider compares ARNs: an alias here would diff on every refresh)."""
    protect: bool = False
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        a = "EbsModelStoreArgs."
        check_gp3((a + "size_gb", a + "iops", a + "throughput_mbs"), self.size_gb, self.iops, self.throughput_mbs)


class EbsModelStore(pulumi.ComponentResource):
    volume_id: pulumi.Output[str]

    def __init__(self, name: str, args: EbsModelStoreArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:store:EbsModelStore", name, None, opts)
        # Protected volumes refuse `pulumi destroy` and survive stack removal; unprotected ones go.
        self.options = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        self.volume = aws.ebs.Volume(
            f"{name}-ebs", availability_zone=args.availability_zone, size=args.size_gb, type="gp3", iops=args.iops,
            throughput=args.throughput_mbs, encrypted=True, kms_key_id=args.kms_key_id, tags=dict(args.tags),
            opts=self.options)
        self.mount = Mount(CONTAINER_MODEL_STORE, MODEL_STORE_DIR, "bind", read_only=True)
        self.volume_id = self.volume.id
        self.register_outputs({"volume_id": self.volume_id})
