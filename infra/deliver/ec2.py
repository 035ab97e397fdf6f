"""Deliver a Plan to an EC2 GPU instance the stack creates, behind the HTTPS edge: network (private
subnets; endpoints or NAT); image → ECR; archives → the model bucket; EBS model store; inference keys;
edge; the instance, whose user data runs the plan's server container under systemd, pulled by digest."""
from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_aws as aws
from torchserve_deploy.aws.bucket import ModelBucket
from torchserve_deploy.aws.ebs_store import EbsModelStore
from torchserve_deploy.aws.ecr import EcrRepository
from torchserve_deploy.aws.edge import Edge
from torchserve_deploy.aws.gpu_catalog import DLAMI_SSM, UBUNTU_SSM
from torchserve_deploy.aws.gpu_host import GpuHost, GpuHostArgs
from torchserve_deploy.aws.inference_keys import InferenceKeys
from torchserve_deploy.aws.network import Network
from torchserve_deploy.aws.observability import AlarmTopic, AlarmTopicArgs, Observability
from torchserve_deploy.aws.user_data import HostPlan, render_user_data
from torchserve_deploy.image.serving import TorchServeImage
from torchserve_deploy.model.archive import ModelArchive
from torchserve_deploy.serve.server import build_server_spec

from infra.plan import Ec2Plan, Plan


def _kms_arn(e: Ec2Plan) -> pulumi.Output[str] | None:
    """IAM, CloudWatch Logs and ECR want the key's ARN; the setting may be an alias or an ID."""
    return aws.kms.get_key_output(key_id=e.kms_key_id).arn if e.kms_key_id else None


def build_image(plan: Plan) -> tuple[TorchServeImage, EcrRepository]:
    assert plan.ec2 is not None
    e = plan.ec2
    repo = EcrRepository("torchserve", replace(e.ecr, kms_key_arn=_kms_arn(e)))
    return TorchServeImage("torchserve", replace(plan.image, push=repo.registry)), repo


def _ami(e: Ec2Plan) -> tuple[pulumi.Input[str], bool]:
    """(AMI ID, pinned?). An unpinned ID comes from the route's public SSM parameter."""
    if e.ami_id:
        return e.ami_id, True
    template = DLAMI_SSM if e.ami_route == "dlami" else UBUNTU_SSM
    return aws.ssm.get_parameter_output(name=template.format(version=e.ubuntu_version)).value, False


def alarm_topic(e: Ec2Plan) -> AlarmTopic:
    return AlarmTopic("alarms", AlarmTopicArgs(name=f"{e.observe.prefix}-alarms",
                                               account_id=aws.get_caller_identity_output().account_id,
                                               email=e.alarm_email, tags=e.tags))


def _deployer_arn() -> pulumi.Output[str]:
    """The principal running `pulumi up` (an assumed role's role ARN): the only writer of the model bucket."""
    caller = aws.get_caller_identity_output()
    return aws.iam.get_session_context_output(arn=caller.arn).issuer_arn


class Ec2Delivery:
    """What an EC2 delivery made, for the program's exports."""

    def __init__(self, plan: Plan, image: TorchServeImage, repo: EcrRepository) -> None:
        e = plan.ec2
        assert e is not None
        kms_arn = _kms_arn(e)
        network = Network("network", e.network)
        store = EbsModelStore("model-store", replace(e.store, availability_zone=network.host_az,
                                                    kms_key_id=kms_arn))
        bucket = ModelBucket("models", replace(e.bucket, kms_key_id=kms_arn,
                                               writer_arns=_deployer_arn().apply(lambda a: [a])))
        for m in plan.models:
            ModelArchive(f"model-{m.name}", replace(m.archive, upload_uri=bucket.uri),
                         opts=pulumi.ResourceOptions(depends_on=[bucket]))
        self.keys = InferenceKeys("inference-key", e.keys) if e.keys is not None else None
        self.edge = Edge("edge", replace(e.edge, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
                                         public_subnet_ids=network.public_subnet_ids,
                                         keys=self.keys.accepted if self.keys else None)) if e.edge else None
        spec = build_server_spec(plan.server)
        # Pulled by digest: the host runs exactly the image this stack built, whatever a tag says later.
        user_data = pulumi.Output.all(image.image_id, repo.server, store.volume_id, bucket.bucket_name).apply(
            lambda a: render_user_data(HostPlan(
                spec=spec, image=a[0], registry=a[1], region=e.region, volume_id=a[2], model_bucket=a[3],
                model_prefix=bucket.prefix, ami_route=e.ami_route, driver_branch=e.driver_branch,
                driver_flavor=e.driver_flavor)))
        ami_id, pinned = _ami(e)
        self.host = GpuHost("gpu-host", GpuHostArgs(
            instance_type=e.instance_type, ami_id=ami_id, pin_ami=pinned, subnet_id=network.host_subnet_id,
            vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr, user_data=user_data, model_store_volume_id=store.volume_id,
            log_group_name=e.log_group, ecr_repository_arn=repo.arn, model_bucket_arn=bucket.bucket_arn,
            model_prefix=bucket.prefix, host_ports=plan.server.host_ports,
            edge_security_group_id=self.edge.security_group_id if self.edge else None,
            target_group_arn=self.edge.target_group_arn if self.edge else None,
            inference_cidrs=e.inference_cidrs, inference_security_group_id=e.inference_security_group_id,
            metrics_cidr=e.metrics_cidr, ssh_cidrs=e.ssh_cidrs, egress_http=e.egress_http,
            root_volume_gb=e.root_volume_gb, kms_key_arn=kms_arn,
            log_retention_days=e.log_retention_days, tags=e.tags,
        ), opts=pulumi.ResourceOptions(depends_on=[image]))
        topic = alarm_topic(e)
        self.observability = Observability("observability", replace(
            e.observe, topic_arn=topic.topic_arn, instance_id=self.host.instance_id,
            load_balancer_arn_suffix=self.edge.load_balancer_arn_suffix if self.edge else None,
            target_group_arn_suffix=self.edge.target_group_arn_suffix if self.edge else None))
