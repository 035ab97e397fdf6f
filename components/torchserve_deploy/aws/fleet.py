"""TorchServeFleet: TorchServe as an ECS service on an auto-scaled group of GPU instances, behind the edge.

Creates (children `<name>-…`):
- capacity: an ECS cluster with Container Insights; a launch template on the ECS GPU-optimized AMI (IMDSv2
  with hop limit 1: the agent runs with host networking and hands tasks their role's credentials itself,
  so no container ever reaches the instance role; encrypted root; no public IP; private subnets); an Auto
  Scaling group (scale-in protected, force-deleted on destroy) behind a capacity provider with managed
  scaling and managed termination protection, the cluster's default strategy;
- the task: a definition whose containerDefinitions are renderings of ContainerSpecs (container/ecs.py): the
  model-sync init container fills a task volume from the model bucket, the server starts after it
  succeeded; execution and task roles of least privilege; awslogs;
- the service: registered with the edge's target group, one task per GPU instance, spread across AZs, the
  deployment circuit breaker with rollback, the 5xx and p99 alarms as deployment alarms, target tracking
  on requests per task.

`pulumi destroy` order: the service (drained, force-deleted), its scaling, the cluster's capacity providers,
the capacity provider, the group (force-deleted, protected instances included), the launch template, the
cluster — each later resource is an input of the earlier one, so the engine deletes them in that order.
Outputs: `cluster_name`, `service_name`.
"""
from __future__ import annotations

import base64
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from torchserve_deploy.aws.fleet_iam import (
    ECS_INSTANCE_POLICY,
    SSM_POLICY,
    ecs_user_data,
    execution_policy,
    task_policy,
)
from torchserve_deploy.aws.fleet_scaling import ScalingArgs, alarms, autoscaling
from torchserve_deploy.aws.gpu_catalog import gpu_family
from torchserve_deploy.aws.host_egress import host_egress
from torchserve_deploy.aws.host_iam import assume
from torchserve_deploy.errors import ValidationError

SERVER = "torchserve"
MODELS_VOLUME = "models"


@dataclass(frozen=True)
class FleetArgs:
    cluster_name: str
    instance_type: str
    ami_id: pulumi.Input[str]
    pin_ami: bool
    """True: `ami_id` is a pinned ID. False: it came from the moving SSM parameter, so later moves are ignored
    (no launch-template diff in every preview after AWS publishes an AMI); pin amiId to roll a new one."""
    vpc_id: pulumi.Input[str]
    vpc_cidr: pulumi.Input[str]
    private_subnet_ids: pulumi.Input[list[str]]
    edge_security_group_id: pulumi.Input[str]
    target_group_arn: pulumi.Input[str]
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffix: pulumi.Input[str]
    container_definitions: pulumi.Input[str]
    """The task's containerDefinitions JSON (render_container_definitions): model-sync, then the server."""
    ecr_repository_arn: pulumi.Input[str]
    model_bucket_arn: pulumi.Input[str]
    log_group_name: str
    scaling: ScalingArgs
    inference_port: int = 8080
    health_port: int = 8090
    model_prefix: str = "models/"
    kms_key_arn: pulumi.Input[str] | None = None
    log_retention_days: int = 30
    root_volume_gb: int = 100
    alarm_topic_arn: pulumi.Input[str] | None = None
    """Where the rollout alarms notify (the stack's AlarmTopic)."""
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        gpu_family("FleetArgs.instance_type", self.instance_type)
        if not 1 <= self.scaling.min_tasks <= self.scaling.max_tasks:
            raise ValidationError("FleetArgs.scaling", (self.scaling.min_tasks, self.scaling.max_tasks),
                                  "1 <= min_tasks <= max_tasks", "raise max_tasks or lower min_tasks")


class TorchServeFleet(pulumi.ComponentResource):
    cluster_name: pulumi.Output[str]
    service_name: pulumi.Output[str]

    def __init__(self, name: str, args: FleetArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:fleet:TorchServeFleet", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tags = dict(args.tags)
        self.log_group = aws.cloudwatch.LogGroup(f"{name}-logs", name=args.log_group_name, kms_key_id=args.kms_key_arn,
                                                 retention_in_days=args.log_retention_days, tags=tags, opts=child)
        self.cluster = aws.ecs.Cluster(f"{name}-cluster", name=args.cluster_name, tags=tags, opts=child, settings=[
            aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")])
        group = self._security_group(name, args, tags)
        template = self._launch_template(name, args, group, tags)
        self.group = aws.autoscaling.Group(
            f"{name}-asg", min_size=0, max_size=args.scaling.max_tasks, vpc_zone_identifiers=args.private_subnet_ids,
            launch_template=aws.autoscaling.GroupLaunchTemplateArgs(id=template.id, version=template.latest_version.apply(str)),
            # Managed termination protection needs scale-in protection; destroy terminates protected instances too.
            protect_from_scale_in=True, force_delete=True, health_check_type="EC2",
            tags=[aws.autoscaling.GroupTagArgs(key="AmazonECSManaged", value="true", propagate_at_launch=True),
                  *(aws.autoscaling.GroupTagArgs(key=k, value=val, propagate_at_launch=True) for k, val in tags.items())],
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["desiredCapacity"]))
        provider = aws.ecs.CapacityProvider(f"{name}-capacity", name=f"{args.cluster_name}-gpu", tags=tags, opts=child,
                                            auto_scaling_group_provider=aws.ecs.CapacityProviderAutoScalingGroupProviderArgs(
            auto_scaling_group_arn=self.group.arn, managed_termination_protection="ENABLED",
            managed_scaling=aws.ecs.CapacityProviderAutoScalingGroupProviderManagedScalingArgs(
                status="ENABLED", target_capacity=100, minimum_scaling_step_size=1, maximum_scaling_step_size=2)))
        strategy = [aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
            capacity_provider=provider.name, weight=1, base=0)]
        providers = aws.ecs.ClusterCapacityProviders(f"{name}-providers", cluster_name=self.cluster.name,
                                                     capacity_providers=[provider.name],
                                                     default_capacity_provider_strategies=strategy, opts=child)
        task = self._task_definition(name, args, tags)
        self.alarms = alarms(name, args.scaling, args.load_balancer_arn_suffix, args.target_group_arn_suffix, self, tags,
                             args.cluster_name, args.alarm_topic_arn)
        self.service = aws.ecs.Service(
            f"{name}-service", name=args.cluster_name, cluster=self.cluster.arn, task_definition=task.arn,
            desired_count=args.scaling.min_tasks,
            capacity_provider_strategies=[aws.ecs.ServiceCapacityProviderStrategyArgs(
                capacity_provider=provider.name, weight=1, base=0)],
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(target_group_arn=args.target_group_arn,
                                                            container_name=SERVER, container_port=8080)],
            # One task per GPU instance (each task reserves the instance's GPU), spread across AZs.
            placement_constraints=[aws.ecs.ServicePlacementConstraintArgs(type="distinctInstance")],
            ordered_placement_strategies=[aws.ecs.ServiceOrderedPlacementStrategyArgs(
                type="spread", field="attribute:ecs.availability-zone")],
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(enable=True, rollback=True),
            alarms=aws.ecs.ServiceAlarmsArgs(alarm_names=[a.name for a in self.alarms], enable=True, rollback=True),
            deployment_minimum_healthy_percent=50, deployment_maximum_percent=200,
            health_check_grace_period_seconds=300, force_delete=True, tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[providers], ignore_changes=["desiredCount"]))
        autoscaling(name, args.scaling, self.cluster.name, self.service.name, args.load_balancer_arn_suffix,
                    args.target_group_arn_suffix, self)
        self.cluster_name = self.cluster.name
        self.service_name = self.service.name
        self.register_outputs({"cluster_name": self.cluster_name, "service_name": self.service_name})

    def _security_group(self, name: str, args: FleetArgs, tags: dict[str, str]) -> aws.ec2.SecurityGroup:
        child = pulumi.ResourceOptions(parent=self)
        group = aws.ec2.SecurityGroup(f"{name}-sg", vpc_id=args.vpc_id, tags=tags, opts=child,
                                      description="TorchServe fleet instances: inference and health from the edge only")
        for role, port in (("inference", args.inference_port), ("health", args.health_port)):
            aws.vpc.SecurityGroupIngressRule(f"{name}-in-edge-{role}", security_group_id=group.id, ip_protocol="tcp",
                                             from_port=port, to_port=port, description=f"edge {role}",
                                             referenced_security_group_id=args.edge_security_group_id, opts=child)
        host_egress(name, group.id, args.vpc_cidr, http=False, parent=self)
        return group

    def _launch_template(self, name: str, args: FleetArgs, group: aws.ec2.SecurityGroup,
                         tags: dict[str, str]) -> aws.ec2.LaunchTemplate:
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(f"{name}-instance-role", assume_role_policy=assume("ec2.amazonaws.com"), tags=tags,
                            opts=child)
        for short, arn in (("ecs", ECS_INSTANCE_POLICY), ("ssm", SSM_POLICY)):
            aws.iam.RolePolicyAttachment(f"{name}-instance-{short}", role=role.name, policy_arn=arn, opts=child)
        profile = aws.iam.InstanceProfile(f"{name}-instance-profile", role=role.name, opts=child)
        return aws.ec2.LaunchTemplate(
            f"{name}-template", image_id=args.ami_id, instance_type=args.instance_type, tags=tags,
            iam_instance_profile=aws.ec2.LaunchTemplateIamInstanceProfileArgs(arn=profile.arn),
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1),
            network_interfaces=[aws.ec2.LaunchTemplateNetworkInterfaceArgs(
                associate_public_ip_address="false", security_groups=[group.id], delete_on_termination="true")],
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda", ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=args.root_volume_gb, volume_type="gp3", encrypted="true", delete_on_termination="true",
                    kms_key_id=args.kms_key_arn))],
            user_data=self.cluster.name.apply(lambda c: base64.b64encode(ecs_user_data(c).encode()).decode()),
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=[] if args.pin_ami else ["imageId"]))

    def _task_definition(self, name: str, args: FleetArgs, tags: dict[str, str]) -> aws.ecs.TaskDefinition:
        child = pulumi.ResourceOptions(parent=self)
        execution = aws.iam.Role(f"{name}-execution-role", assume_role_policy=assume("ecs-tasks.amazonaws.com"),
                                 tags=tags, opts=child)
        aws.iam.RolePolicy(f"{name}-execution-access", role=execution.id, opts=child, policy=pulumi.Output.all(
            args.ecr_repository_arn, self.log_group.arn).apply(lambda a: execution_policy(a[0], a[1])))
        task_role = aws.iam.Role(f"{name}-task-role", assume_role_policy=assume("ecs-tasks.amazonaws.com"), tags=tags,
                                 opts=child)
        aws.iam.RolePolicy(f"{name}-task-access", role=task_role.id, opts=child, policy=pulumi.Output.all(
            args.model_bucket_arn, args.kms_key_arn).apply(lambda a: task_policy(a[0], args.model_prefix, a[1])))
        return aws.ecs.TaskDefinition(
            f"{name}-task", family=args.cluster_name, network_mode="bridge", requires_compatibilities=["EC2"],
            execution_role_arn=execution.arn, task_role_arn=task_role.arn,
            container_definitions=args.container_definitions, tags=tags,
            volumes=[aws.ecs.TaskDefinitionVolumeArgs(
                name=MODELS_VOLUME, docker_volume_configuration=aws.ecs.TaskDefinitionVolumeDockerVolumeConfigurationArgs(
                    scope="task", driver="local"))],
            opts=child)
