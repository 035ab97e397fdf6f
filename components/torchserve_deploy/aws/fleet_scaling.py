"""How the fleet follows its load and guards its rollouts: target tracking on requests per task, and the
CloudWatch alarms (target 5xx, p99 latency) that a deployment watches to roll itself back."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ScalingArgs:
    min_tasks: int
    max_tasks: int
    requests_per_task_per_minute: int
    scale_out_cooldown_s: int = 60
    scale_in_cooldown_s: int = 300
    p99_alarm_ms: int = 1000
    errors_alarm_count: int = 10


def alarms(name: str, args: ScalingArgs, lb_suffix: pulumi.Input[str], tg_suffix: pulumi.Input[str],
           parent: pulumi.Resource, tags: dict[str, str], prefix: str,
           topic_arn: pulumi.Input[str] | None = None) -> list[aws.cloudwatch.MetricAlarm]:
    """Target 5xx per minute and p99 response time, on this edge's target group only (named `<prefix>-…`);
    they notify the stack's alarm topic when given (aws/observability.py shows them on the dashboard)."""
    child = pulumi.ResourceOptions(parent=parent)
    dimensions = {"LoadBalancer": lb_suffix, "TargetGroup": tg_suffix}
    actions = [topic_arn] if topic_arn is not None else None
    return [
        aws.cloudwatch.MetricAlarm(
            f"{name}-5xx", name=f"{prefix}-target-5xx", namespace="AWS/ApplicationELB", metric_name="HTTPCode_Target_5XX_Count",
            dimensions=dimensions, statistic="Sum", period=60, evaluation_periods=2, datapoints_to_alarm=2,
            threshold=args.errors_alarm_count, comparison_operator="GreaterThanOrEqualToThreshold",
            treat_missing_data="notBreaching", tags=tags, alarm_actions=actions, ok_actions=actions,
            alarm_description="TorchServe targets answer 5xx: a rollout in progress rolls back", opts=child),
        aws.cloudwatch.MetricAlarm(
            f"{name}-p99", name=f"{prefix}-p99-latency", namespace="AWS/ApplicationELB", metric_name="TargetResponseTime",
            dimensions=dimensions, extended_statistic="p99", period=60, evaluation_periods=3, datapoints_to_alarm=3,
            threshold=args.p99_alarm_ms / 1000, comparison_operator="GreaterThanThreshold",
            treat_missing_data="notBreaching", tags=tags, alarm_actions=actions, ok_actions=actions,
            alarm_description="p99 latency over target: a rollout in progress rolls back", opts=child),
    ]


def autoscaling(name: str, args: ScalingArgs, cluster: pulumi.Input[str], service: pulumi.Input[str],
                lb_suffix: pulumi.Input[str], tg_suffix: pulumi.Input[str],
                parent: pulumi.Resource) -> tuple[aws.appautoscaling.Target, aws.appautoscaling.Policy]:
    child = pulumi.ResourceOptions(parent=parent)
    target = aws.appautoscaling.Target(
        f"{name}-scaling", service_namespace="ecs", scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", cluster, "/", service),
        min_capacity=args.min_tasks, max_capacity=args.max_tasks, opts=child)
    policy = aws.appautoscaling.Policy(
        f"{name}-requests", policy_type="TargetTrackingScaling", service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension, resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs(
            target_value=args.requests_per_task_per_minute,
            predefined_metric_specification=aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs(
                predefined_metric_type="ALBRequestCountPerTarget",
                resource_label=pulumi.Output.concat(lb_suffix, "/", tg_suffix)),
            scale_out_cooldown=args.scale_out_cooldown_s, scale_in_cooldown=args.scale_in_cooldown_s),
        opts=child)
    return target, policy
