"""Deliver a Plan to an EC2 GPU instance the stack creates: image → ECR; archives → the model bucket;
EBS model store; user data runs the plan's server container under systemd."""
from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_aws as aws
from torchserve_deploy.aws.bucket import ModelBucket
from torchserve_deploy.aws.ebs_store import EbsModelStore
from torchserve_deploy.aws.ecr import EcrRepository
from torchserve_deploy.aws.gpu_catalog import DLAMI_SSM, UBUNTU_SSM
from torchserve_deploy.aws.gpu_host import GpuHost, GpuHostArgs
from torchserve_deploy.aws.placement import find_placement
from torchserve_deploy.aws.user_data import HostPlan, render_user_data
from torchserve_deploy.image.serving import TorchServeImage
from torchserve_deploy.model.archive import ModelArchive
from torchserve_deploy.serve.config_properties import ServerPorts
from torchserve_deploy.serve.server import build_server_spec

from infra.plan import Plan


def build_image(plan: Plan) -> tuple[TorchServeImage, EcrRepository]:
    assert plan.ec2 is not None
    repo = EcrRepository("torchserve", plan.ec2.ecr)
    return TorchServeImage("torchserve", replace(plan.image, push=repo.registry)), repo


def _ami(plan: Plan) -> tuple[pulumi.Input[str], bool]:
    """(AMI ID, pinned?). An unpinned ID comes from the route's public SSM parameter."""
    e = plan.ec2
    assert e is not None
    if e.ami_id:
        return e.ami_id, True
    template = DLAMI_SSM if e.ami_route == "dlami" else UBUNTU_SSM
    return aws.ssm.get_parameter_output(name=template.format(version=e.ubuntu_version)).value, False


def deliver(plan: Plan, image: TorchServeImage, repo: EcrRepository) -> GpuHost:
    e = plan.ec2
    assert e is not None
    placement = find_placement(e.subnet_id)
    store = EbsModelStore("model-store", replace(e.store, availability_zone=placement.availability_zone))
    bucket = ModelBucket("models", e.bucket)
    for m in plan.models:
        ModelArchive(f"model-{m.name}", replace(m.archive, upload_uri=bucket.uri),
                     opts=pulumi.ResourceOptions(depends_on=[bucket]))
    spec = build_server_spec(plan.server)
    user_data = pulumi.Output.all(image.image_ref, repo.server, store.volume_id, bucket.bucket_name).apply(
        lambda a: render_user_data(HostPlan(
            spec=spec, image=a[0], registry=a[1], region=e.region, volume_id=a[2], model_bucket=a[3],
            model_prefix=bucket.prefix, ami_route=e.ami_route, driver_branch=e.driver_branch,
            driver_flavor=e.driver_flavor)))
    ami_id, pinned = _ami(plan)
    hp = plan.server.host_ports
    return GpuHost("gpu-host", GpuHostArgs(
        instance_type=e.instance_type, ami_id=ami_id, pin_ami=pinned, subnet_id=placement.subnet_id,
        vpc_id=placement.vpc_id, user_data=user_data, model_store_volume_id=store.volume_id,
        log_group_name=e.log_group, ecr_repository_arn=repo.arn, model_bucket_arn=bucket.bucket_arn,
        model_prefix=bucket.prefix, host_ports=ServerPorts(inference=hp.inference, metrics=hp.metrics),
        inference_cidrs=e.inference_cidrs, inference_security_group_id=e.inference_security_group_id,
        metrics_cidr=e.metrics_cidr, ssh_cidrs=e.ssh_cidrs, root_volume_gb=e.root_volume_gb, kms_key_id=e.kms_key_id,
        log_retention_days=e.log_retention_days, tags=e.tags,
    ), opts=pulumi.ResourceOptions(depends_on=[image]))
