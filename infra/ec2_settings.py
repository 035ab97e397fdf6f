"""Stack-config checks for `host: ec2` (pure): instance family, AMI route, driver and CUDA, exposure."""
from __future__ import annotations

from typing import Any

from components import validators as v
from components.errors import ValidationError
from components.gpu_catalog import DRIVER_BRANCHES, UBUNTU_VERSIONS, check_host, gpu_family
from components.variants import Variant

P = "torchserve-deploy:"
OPEN_WORLD = ("0.0.0.0/0", "::/0")


def check_ec2(raw: dict[str, Any], variant: Variant, gpus: str | None, config: dict[str, Any]) -> None:
    family = gpu_family(P + "instanceType", raw["instanceType"])
    v.one_of(P + "amiRoute", raw["amiRoute"], ("dlami", "ubuntu"))
    v.one_of(P + "ubuntuVersion", raw["ubuntuVersion"], UBUNTU_VERSIONS)
    v.one_of(P + "nvidiaDriverBranch", raw["nvidiaDriverBranch"], DRIVER_BRANCHES)
    check_host(P, family, variant, raw["amiRoute"], raw["nvidiaDriverBranch"])
    if not config.get("aws:region"):
        raise ValidationError("aws:region", None, "the AWS region of the ec2 stack", "pulumi config set aws:region us-east-1")
    if gpus is None:
        raise ValidationError(P + "gpus", "", '"all" or device indexes on a GPU host', f"pulumi config set {P}gpus all")
    if raw["train"]:
        raise ValidationError(P + "train", True, "false on an ec2 host (training runs on the local Docker host)",
                              "train in the dev stack, or set train to false")
    for key in ("inferenceCidrs", "sshCidrs"):
        for cidr in raw[key]:
            v.cidr(P + key, cidr)
    for cidr in raw["sshCidrs"]:
        if cidr in OPEN_WORLD:
            raise ValidationError(P + "sshCidrs", cidr, "specific admin CIDRs; there is no open SSH",
                                  "remove it and use Session Manager: aws ssm start-session --target <instance>")
    if not raw["inferenceCidrs"] and not raw["inferenceSecurityGroupId"]:
        raise ValidationError(P + "inferenceCidrs", [], "at least one client CIDR, or inferenceSecurityGroupId",
                              f"set {P}inferenceCidrs to your clients' CIDRs (or a load balancer's security group)")
    if raw["inferenceBind"] != "0.0.0.0":
        raise ValidationError(P + "inferenceBind", raw["inferenceBind"],
                              "0.0.0.0 on an ec2 host (the security group decides who reaches 8080)",
                              f"pulumi config set {P}inferenceBind 0.0.0.0")
    if raw["metricsCidr"]:
        v.cidr(P + "metricsCidr", raw["metricsCidr"])
        if raw["metricsCidr"] in OPEN_WORLD:
            raise ValidationError(P + "metricsCidr", raw["metricsCidr"], "the monitoring network's CIDR",
                                  f"set {P}metricsCidr to e.g. 10.0.5.0/24")
    if bool(raw["metricsCidr"]) != (raw["metricsBind"] == "0.0.0.0"):
        raise ValidationError(P + "metricsBind", raw["metricsBind"],
                              "0.0.0.0 when metricsCidr is set, 127.0.0.1 when it is not",
                              f"set {P}metricsBind to match {P}metricsCidr")
    v.int_range(P + "rootVolumeGb", raw["rootVolumeGb"], 75, 16384, "100")
    v.int_range(P + "modelStoreGb", raw["modelStoreGb"], 1, 16384, "50")
    v.int_range(P + "modelStoreIops", raw["modelStoreIops"], 3000, 16000, "3000")
    v.int_range(P + "modelStoreThroughputMbs", raw["modelStoreThroughputMbs"], 125, 1000, "125")
    v.int_range(P + "logRetentionDays", raw["logRetentionDays"], 1, 3653, "30")
