"""Settings a mode would ignore are refused in that mode, with the reason (pure). A key counts as set when its value
differs from its Pulumi.yaml default (the CLI sends every default: see docs/engine-fidelity.md), which is what
pydantic's model_fields_set holds here (load.py leaves default values out)."""
from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel
from pydantic.alias_generators import to_camel
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError

from infra.settings.keys import Ec2Section, ImageSection, StoreSection

P = PROJECT + ":"


def _refuse_set(section: BaseModel, fields: Iterable[str], why: str, fix: str) -> None:
    for field in fields:
        if field in section.model_fields_set:
            key = P + to_camel(field)
            raise ValidationError(key, getattr(section, field), f"unset {why} (it would be ignored)",
                                  fix.format(key=key))


def check_ignored(*, host: str, image: ImageSection, store: StoreSection, ec2: Ec2Section,
                  trained: tuple[str, ...]) -> None:
    """`trained`: the config keys that make a model of the stack train (its entry's, or the stack-wide default)."""
    trains = bool(trained)
    if image.build_type != "dev":
        _refuse_set(image, ("dev_source_repo", "dev_source_ref"), f"with buildType {image.build_type} (only the dev "
                    "build takes TorchServe from a git repository)", "pulumi config rm {key}, or set buildType dev")
    if image.build_type == "codebuild" and trains:
        raise ValidationError(trained[0], True, "no training with buildType codebuild (it builds a CI image and "
                              "runs nothing, the training run included)", "remove train from the models, or build a "
                              "production image")
    if host == "local":
        other = {"hostDir": ("model_store_volume", "protect_model_store"), "volume": ("model_store_path",)}
        _refuse_set(store, other.get(store.model_store, ()), f"with modelStore {store.model_store}",
                    "pulumi config rm {key}, or change modelStore")
        if not trains:
            _refuse_set(store, ("training_outputs_path",), "when no model of the stack is trained",
                        "pulumi config rm {key}, or train a model (models.<name>.train)")
    if host != "local" and ec2.vpc_id:
        _refuse_set(ec2, ("vpc_cidr",), "with vpcId (the existing VPC has its own range)", "pulumi config rm {key}")
    if host != "local" and ec2.edge == "none":
        _refuse_set(ec2, ("edge_cidrs", "tls_policy", "inference_key_version", "inference_key_grace", "domain_name",
                          "certificate_arn", "hosted_zone_id"), "with edge none: only the edge uses it",
                    "pulumi config rm {key}, or use edge alb")
    if host == "ec2" and ec2.edge == "none":
        _refuse_set(ec2, ("alarm_p99_ms", "alarm_error_rate_percent"), "without the edge (these alarms watch the "
                    "load balancer's target metrics)", "pulumi config rm {key}, or use edge alb")
    if host == "ec2" and ec2.ami_id:
        _refuse_set(ec2, ("ubuntu_version",), "with a pinned amiId (it only picks the SSM parameter of the latest AMI)",
                    "pulumi config rm {key}, or clear amiId")
    if host == "ec2" and ec2.ami_route == "dlami":
        _refuse_set(ec2, ("nvidia_driver_branch",), "on the dlami route (the DLAMI brings its own driver)",
                    "pulumi config rm {key}, or set amiRoute ubuntu")
