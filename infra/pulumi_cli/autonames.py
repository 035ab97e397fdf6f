"""Physical names Pulumi makes up for resources the program does not name, checked against the limits they meet.

The provider auto-names a name property left unset as `<logical name>-<7 random hex>` (pulumi-terraform-bridge
pkg/tfbridge/info/autonaming.go `AutoName`, Randlen 7; sdk/go/common/resource/resource_id.go `NewUniqueName`
refuses "name '<name>-' plus 7 random chars is longer than maximum length <n>" at preview). pulumi-aws v7 gives
every resource with a `name` input `AutoName("name", 255, "-")` (provider/autonaming.go `setAutonaming`) except
where provider/resource_overrides.go and aliases.go set their own: aws_lb_target_group 32, aws_iam_role 64,
aws_s3_bucket 63 (lowercased), aws_sns_topic and aws_sqs_queue 80, aws_kms_alias 238, aws_lambda_function 64.
A `namePrefix` (Terraform's id.PrefixedUniqueId) adds 26 characters instead.

Where the provider's limit is looser than AWS's, AWS refuses the create: the AWS limit comes from botocore's
API model where the name is a parameter with a max (and its pattern is checked), else from the AWS API
reference (load balancer and target group names: 32; launch template names: 128; ECS names: 255).
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

SUFFIX = 8  # "-" and 7 random characters
PREFIX_SUFFIX = 26  # Terraform's PrefixedUniqueId: a timestamp and a counter


@dataclass(frozen=True)
class Rule:
    prop: str
    provider_max: int
    api: tuple[str, str, str] | None = None
    """(botocore service, operation, parameter) whose shape carries AWS's limit and pattern."""
    aws_max: int | None = None
    """AWS's documented limit where the API model has none."""
    lower: bool = False
    prefix_prop: str | None = "namePrefix"


RULES: dict[str, Rule] = {
    "aws:lb/loadBalancer:LoadBalancer": Rule("name", 255, aws_max=32),
    "aws:lb/targetGroup:TargetGroup": Rule("name", 32, aws_max=32),
    "aws:iam/role:Role": Rule("name", 64, ("iam", "CreateRole", "RoleName")),
    "aws:iam/instanceProfile:InstanceProfile": Rule("name", 255, ("iam", "CreateInstanceProfile", "InstanceProfileName")),
    "aws:iam/rolePolicy:RolePolicy": Rule("name", 255, ("iam", "PutRolePolicy", "PolicyName")),
    "aws:iam/policy:Policy": Rule("name", 255, ("iam", "CreatePolicy", "PolicyName")),
    "aws:ec2/securityGroup:SecurityGroup": Rule("name", 255, aws_max=255),
    "aws:ec2/launchTemplate:LaunchTemplate": Rule("name", 255, aws_max=128),
    "aws:s3/bucket:Bucket": Rule("bucket", 63, aws_max=63, lower=True, prefix_prop="bucketPrefix"),
    "aws:sns/topic:Topic": Rule("name", 80, aws_max=256),
    "aws:sqs/queue:Queue": Rule("name", 80, aws_max=80),
    "aws:kms/alias:Alias": Rule("name", 238, ("kms", "CreateAlias", "AliasName")),
    "aws:cloudwatch/logGroup:LogGroup": Rule("name", 255, ("logs", "CreateLogGroup", "logGroupName")),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Rule("name", 255, ("cloudwatch", "PutMetricAlarm", "AlarmName"), prefix_prop=None),
    "aws:cloudwatch/queryDefinition:QueryDefinition": Rule("name", 255, ("logs", "PutQueryDefinition", "name")),
    "aws:ecs/cluster:Cluster": Rule("name", 255, aws_max=255),
    "aws:ecs/service:Service": Rule("name", 255, aws_max=255),
    "aws:ecs/capacityProvider:CapacityProvider": Rule("name", 255, aws_max=255),
    "aws:autoscaling/group:Group": Rule("name", 255, ("autoscaling", "CreateAutoScalingGroup", "AutoScalingGroupName")),
    "aws:ecr/repository:Repository": Rule("name", 255, ("ecr", "CreateRepository", "repositoryName"), prefix_prop=None),
    "aws:secretsmanager/secret:Secret": Rule("name", 255, ("secretsmanager", "CreateSecret", "Name")),
    "aws:appautoscaling/policy:Policy": Rule("name", 255, ("application-autoscaling", "PutScalingPolicy", "PolicyName"),
                                             prefix_prop=None),
    "aws:lambda/function:Function": Rule("name", 64, ("lambda", "CreateFunction", "FunctionName"), prefix_prop=None),
}


@cache
def api_shape(service: str, operation: str, param: str) -> tuple[int | None, str | None]:
    """(max length, pattern) of an API parameter in botocore's bundled model."""
    import botocore.session

    model = botocore.session.get_session().get_service_model(service)
    meta = model.operation_model(operation).input_shape.members[param].metadata
    return meta.get("max"), meta.get("pattern")


def _limit(rule: Rule) -> tuple[int, str, str | None]:
    if rule.api:
        api_max, pattern = api_shape(*rule.api)
        if api_max is not None:
            return min(rule.provider_max, api_max), f"{rule.api[0]} {rule.api[1]} {rule.api[2]} (botocore)", pattern
    limit = min(rule.provider_max, rule.aws_max or rule.provider_max)
    return limit, "pulumi-aws's auto-name limit" if limit == rule.provider_max else "AWS's documented limit", None


def autoname(typ: str, urn: str, inputs: dict[str, Any]) -> dict[str, str]:
    """{property: name} the provider's Check adds (at preview too) when the program names nothing: the logical
    name, "-" and 7 hex characters (derived from the URN here, so both modes and every run agree)."""
    rule = RULES.get(typ)
    if rule is None or inputs.get(rule.prop) is not None or (rule.prefix_prop and inputs.get(rule.prefix_prop)):
        return {}
    base = urn.rsplit("::", 1)[1]
    return {rule.prop: f"{base.lower() if rule.lower else base}-{hashlib.sha256(urn.encode()).hexdigest()[:7]}"}


def autoname_problem(typ: str, name: str, inputs: dict[str, Any]) -> str | None:
    """Why the physical name AWS would get cannot be made, or None."""
    rule = RULES.get(typ)
    if rule is None or inputs.get(rule.prop) is not None:
        return None
    limit, source, pattern = _limit(rule)
    prefix = inputs.get(rule.prefix_prop) if rule.prefix_prop else None
    if prefix is not None:
        if len(prefix) + PREFIX_SUFFIX > limit:
            return (f"{rule.prefix_prop} {prefix!r} plus the {PREFIX_SUFFIX} characters Terraform adds is longer than "
                    f"{limit} ({source})")
        return None
    base = name.lower() if rule.lower else name
    if len(base) + SUFFIX > limit:
        return (f"name '{base}-' plus 7 random chars is longer than maximum length {limit} ({source}): give it a "
                f"logical name of at most {limit - SUFFIX} characters or an explicit {rule.prop}")
    compiled = _pattern(pattern) if pattern else None
    if compiled is not None and not compiled.fullmatch(base + "-0a1b2c3"):
        return f"the auto-name '{base}-<7 hex>' does not match {source}'s pattern {pattern}"
    return None


@cache
def _pattern(pattern: str) -> re.Pattern[str] | None:
    """The API model's pattern in Python's dialect; None where it uses what Python lacks (\\p{Print}, surrogates)."""
    try:
        return re.compile(pattern.removeprefix("^").removesuffix("$"))
    except re.error:
        return None
