"""Deliver a Plan as an ECS fleet behind the HTTPS edge: network; server and model-sync images → ECR;
archives → the model bucket; inference keys; edge; TorchServeFleet with its task definition rendered from
the plan's container specs."""
from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_aws as aws
from torchserve_deploy.aws.bucket import ModelBucket
from torchserve_deploy.aws.ecr import EcrRepository
from torchserve_deploy.aws.edge import Edge
from torchserve_deploy.aws.fleet import SERVER, FleetArgs, TorchServeFleet
from torchserve_deploy.aws.gpu_catalog import ECS_GPU_SSM
from torchserve_deploy.aws.inference_keys import InferenceKeys
from torchserve_deploy.aws.network import Network
from torchserve_deploy.aws.observability import Observability
from torchserve_deploy.constants import CONTAINER_MODEL_STORE
from torchserve_deploy.container.ecs import render_container_definition, render_container_definitions
from torchserve_deploy.image.serving import TorchServeImage
from torchserve_deploy.model.archive import ModelArchive
from torchserve_deploy.serve.server import build_server_spec, config_in_env

from infra.deliver.ec2 import _deployer_arn, _kms_arn, alarm_topic
from infra.plan import Plan

SERVER_MEMORY_MB, SYNC_MEMORY_MB = 4096, 256


def container_definitions(plan: Plan, server_image: str, sync_image: str, bucket: str, prefix: str) -> str:
    """The task's containers, rendered from the plan's specs: the init container, then the server after it."""
    assert plan.fleet is not None
    sync = replace(plan.fleet.sync, command=(f"s3://{bucket}/{prefix}", CONTAINER_MODEL_STORE))
    server = replace(config_in_env(build_server_spec(plan.server)), name=SERVER)
    return render_container_definitions([
        render_container_definition(sync, image=sync_image, essential=False, memory_reservation_mb=SYNC_MEMORY_MB),
        render_container_definition(server, image=server_image, gpu_count=1, memory_reservation_mb=SERVER_MEMORY_MB,
                                    depends_on=((sync.name, "SUCCESS"),)),
    ])


class FleetDelivery:
    def __init__(self, plan: Plan, image: TorchServeImage, repo: EcrRepository) -> None:
        e, f = plan.ec2, plan.fleet
        assert e is not None and f is not None
        kms_arn = _kms_arn(e)
        network = Network("network", e.network)
        sync_image = TorchServeImage("model-sync", replace(f.sync_image, push=repo.registry))
        bucket = ModelBucket("models", replace(e.bucket, kms_key_id=kms_arn,
                                               writer_arns=_deployer_arn().apply(lambda a: [a])))
        archives = [ModelArchive(f"model-{m.name}", replace(m.archive, upload_uri=bucket.uri),
                                 opts=pulumi.ResourceOptions(depends_on=[bucket])) for m in plan.models]
        self.keys = InferenceKeys("inference-key", e.keys) if e.keys is not None else None
        assert e.edge is not None and self.keys is not None, "a fleet is always behind the edge"
        self.edge = Edge("edge", replace(e.edge, vpc_id=network.vpc_id, vpc_cidr=network.vpc_cidr,
                                         public_subnet_ids=network.public_subnet_ids, keys=self.keys.accepted))
        definitions = pulumi.Output.all(image.image_id, sync_image.image_id, bucket.bucket_name).apply(
            lambda a: container_definitions(plan, a[0], a[1], a[2], bucket.prefix))
        ami = e.ami_id or aws.ssm.get_parameter_output(name=ECS_GPU_SSM).value
        topic = alarm_topic(e)
        self.fleet = TorchServeFleet("fleet", FleetArgs(
            cluster_name=f.cluster_name, instance_type=e.instance_type, ami_id=ami, pin_ami=bool(e.ami_id),
            vpc_id=network.vpc_id,
            vpc_cidr=network.vpc_cidr, private_subnet_ids=network.private_subnet_ids,
            edge_security_group_id=self.edge.security_group_id, target_group_arn=self.edge.target_group_arn,
            load_balancer_arn_suffix=self.edge.load_balancer_arn_suffix,
            target_group_arn_suffix=self.edge.target_group_arn_suffix, container_definitions=definitions,
            ecr_repository_arn=repo.arn, model_bucket_arn=bucket.bucket_arn, log_group_name=e.log_group,
            scaling=f.scaling, inference_port=plan.server.host_ports.inference,
            health_port=plan.server.host_ports.health, model_prefix=bucket.prefix, kms_key_arn=kms_arn,
            log_retention_days=e.log_retention_days, root_volume_gb=e.root_volume_gb, tags=e.tags,
            alarm_topic_arn=topic.topic_arn,
        ), opts=pulumi.ResourceOptions(depends_on=[image, sync_image, *archives]))
        self.observability = Observability("observability", replace(
            e.observe, topic_arn=topic.topic_arn, cluster_name=self.fleet.cluster_name,
            service_name=self.fleet.service_name, rollout_alarms=self.fleet.alarms,
            load_balancer_arn_suffix=self.edge.load_balancer_arn_suffix,
            target_group_arn_suffix=self.edge.target_group_arn_suffix))
