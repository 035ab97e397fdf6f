"""The ec2 host: the same server spec, delivered to a GPU instance the stack creates.

image → ECR; archives → the model bucket; EBS model store; user data runs the container under systemd.
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components import ModelArchive, ModelStore, TorchServeImage
from components.container_spec import LogConfig
from components.gpu_catalog import DLAMI_SSM, UBUNTU_SSM, gpu_family
from components.gpu_host import GpuHost, GpuHostArgs
from components.host_userdata import HostPlan, render_user_data
from components.model_bucket import ModelBucket, ModelBucketArgs
from components.network import find_placement
from components.server import build_server_spec
from components.server_config import ServerPorts
from components.store import EbsStore, ModelStoreArgs
from infra.program import archive_args, server_args
from infra.stack_settings import Settings


def log_group(s: Settings) -> str:
    return f"/torchserve-deploy/{s.stack}"


def ami(s: Settings) -> tuple[pulumi.Input[str], bool]:
    """(AMI ID, pinned?). An unpinned ID comes from the route's public SSM parameter."""
    if s["amiId"]:
        return s["amiId"], True
    template = DLAMI_SSM if s["amiRoute"] == "dlami" else UBUNTU_SSM
    return aws.ssm.get_parameter_output(name=template.format(version=s["ubuntuVersion"])).value, False


def tags(s: Settings) -> tuple[tuple[str, str], ...]:
    return (("torchserve-deploy:stack", s.stack),)


def store_args(s: Settings, availability_zone: pulumi.Input[str]) -> ModelStoreArgs:
    """The EBS model store: protected and kept in prod (protectData), deleted with test stacks."""
    return ModelStoreArgs(kind="ebs", protect=s["protectData"], ebs=EbsStore(
        availability_zone=availability_zone, size_gb=s["modelStoreGb"], iops=s["modelStoreIops"],
        throughput_mbs=s["modelStoreThroughputMbs"], kms_key_id=s["kmsKeyId"] or None, tags=tags(s)))


def bucket_args(s: Settings) -> ModelBucketArgs:
    return ModelBucketArgs(name_prefix=f"torchserve-{s.stack}-models-", protect=s["protectData"],
                           kms_key_id=s["kmsKeyId"] or None, tags=tags(s))


def deploy_ec2(s: Settings, image: TorchServeImage, region: str) -> GpuHost:
    kms = s["kmsKeyId"] or None
    placement = find_placement(s["subnetId"] or None)
    store = ModelStore("model-store", store_args(s, placement.availability_zone))
    bucket = ModelBucket("models", bucket_args(s))
    specs = [archive_args(s, m, None, None, upload_uri=bucket.uri) for m in s.models]
    for spec in specs:
        ModelArchive(f"model-{spec.source.name}", spec, opts=pulumi.ResourceOptions(depends_on=[bucket]))
    # Container logs go to CloudWatch (the host's role may write this one log group).
    log = LogConfig(driver="awslogs", options=(("awslogs-group", log_group(s)), ("awslogs-region", region),
                                               ("tag", "{{.Name}}")))
    server_spec = build_server_spec(server_args(s, image.image_id, image.ref, specs, store.mount, log=log))
    registry = image.registry
    assert registry is not None, "ec2 images are pushed (infra sets push for host ec2)"
    family = gpu_family("torchserve-deploy:instanceType", s["instanceType"])
    user_data = pulumi.Output.all(image.image_ref, registry.server, store.location, bucket.bucket_name).apply(
        lambda a: render_user_data(HostPlan(
            spec=server_spec, image=a[0], registry=a[1], region=region, volume_id=a[2], model_bucket=a[3],
            model_prefix=bucket.prefix, ami_route=s["amiRoute"], driver_branch=s["nvidiaDriverBranch"],
            driver_flavor="open" if family.open_modules else "proprietary")))
    ami_id, pinned = ami(s)
    return GpuHost("gpu-host", GpuHostArgs(
        instance_type=s["instanceType"], ami_id=ami_id, pin_ami=pinned, subnet_id=placement.subnet_id,
        vpc_id=placement.vpc_id, user_data=user_data, model_store_volume_id=store.location,
        log_group_name=log_group(s), ecr_repository_arn=registry.arn, model_bucket_arn=bucket.bucket_arn,
        model_prefix=bucket.prefix,
        host_ports=ServerPorts(inference=s["inferencePort"], metrics=s["metricsPort"]),
        inference_cidrs=tuple(s["inferenceCidrs"]), inference_security_group_id=s["inferenceSecurityGroupId"] or None,
        metrics_cidr=s["metricsCidr"] or None, ssh_cidrs=tuple(s["sshCidrs"]), root_volume_gb=s["rootVolumeGb"],
        kms_key_id=kms, log_retention_days=s["logRetentionDays"], tags=tags(s),
    ), opts=pulumi.ResourceOptions(depends_on=[image]))
