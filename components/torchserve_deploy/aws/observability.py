"""Observability of an AWS stack as code: an alarm topic, the alarms, a CloudWatch dashboard and saved Logs
Insights queries, all on this stack's own resources (its load balancer and target group, its instance or
ECS service, its log group).

AlarmTopic (children `<name>-…`): an SNS topic encrypted with its own KMS key (CloudWatch may use it; the
AWS-managed aws/sns key cannot be granted to CloudWatch, so alarms could not publish to a topic under it),
and an e-mail subscription when an address is given (SNS sends a confirmation first).

Observability (children `<name>-…`), each alarm named `<prefix>-…` and notifying the topic on alarm and OK:
- edge: `5xx-rate` (targets' 5xx share of requests, metric math), `p99-latency` (TargetResponseTime p99; a
  fleet passes its rollout alarms instead, which already watch these), `no-healthy-target` (HealthyHostCount
  minimum below 1; missing data breaches);
- EC2 host: `host-down` (StatusCheckFailed; missing data breaches), `gpu-memory` (the CloudWatch agent's
  nvidia_gpu memory used ÷ total, aggregated per instance);
- fleet: `no-running-task` (Container Insights RunningTaskCount below 1).
The dashboard `<prefix>` shows requests, 5xx, p50/p99 with the alarm line, healthy and unhealthy targets,
GPU utilization and memory (EC2), running tasks (fleet), the alarms' states, and the access log's p99 and
queue-and-batching time per model (Logs Insights on the stack's log group). QUERIES are the README's three
Logs Insights queries, saved as query definitions on the log group.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

ALB = "AWS/ApplicationELB"
GPU_NAMESPACE = "CWAgent"
"""Where the host's CloudWatch agent puts nvidia_gpu metrics (aws/user_data.py writes its config)."""
GPU_USED, GPU_TOTAL, GPU_UTIL = "nvidia_smi_memory_used", "nvidia_smi_memory_total", "nvidia_smi_utilization_gpu"
AGENT_CONFIG = "/opt/aws/amazon-cloudwatch-agent/etc/torchserve-deploy.json"


def agent_config() -> str:
    """The EC2 host's CloudWatch agent config: nvidia_gpu measurements (published as nvidia_smi_<measurement>),
    also aggregated to the InstanceId dimension alone, which the GPU alarm and dashboard read."""
    return json.dumps({"agent": {"metrics_collection_interval": 60, "omit_hostname": True}, "metrics": {
        "namespace": GPU_NAMESPACE, "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
        "aggregation_dimensions": [["InstanceId"]], "metrics_collected": {"nvidia_gpu": {
            "measurement": ["utilization_gpu", "utilization_memory", "memory_used", "memory_total", "temperature_gpu"],
            "metrics_collection_interval": 60}}}}, sort_keys=True)

QUERIES: dict[str, str] = {
    "errors-by-model": (
        "fields @timestamp, model, status, uri\n"
        "| filter logger = \"ACCESS_LOG\" and status >= 500\n"
        "| stats count(*) as errors by model, status, bin(5m)"),
    "p99-by-model": (
        "filter logger = \"ACCESS_LOG\" and ispresent(status) and model != \"\"\n"
        "| stats pct(latency_ms, 99) as p99_ms, pct(latency_ms, 50) as p50_ms, count(*) as requests by model, bin(5m)"),
    "slow-requests": (
        "fields @timestamp, request_id, model, version, status, latency_ms, batch_size\n"
        "| filter logger = \"ts.access\" and latency_ms > 100\n"
        "| sort latency_ms desc\n"
        "| limit 50"),
}
"""CloudWatch Logs Insights over the JSON lines log4j2.xml and ts_observe.py write (the README shows them)."""


@dataclass(frozen=True)
class AlarmTopicArgs:
    name: str
    account_id: pulumi.Input[str]
    email: str | None = None
    tags: tuple[tuple[str, str], ...] = ()


class AlarmTopic(pulumi.ComponentResource):
    def __init__(self, name: str, args: AlarmTopicArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:aws:AlarmTopic", name, None, opts)
        child, tags = pulumi.ResourceOptions(parent=self), dict(args.tags)
        policy = pulumi.Output.from_input(args.account_id).apply(lambda account: json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Sid": "Account", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                 "Action": "kms:*", "Resource": "*"},
                {"Sid": "CloudWatchAlarms", "Effect": "Allow", "Principal": {"Service": "cloudwatch.amazonaws.com"},
                 "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                 "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]}, sort_keys=True))
        key = aws.kms.Key(f"{name}-key", description=f"{args.name}: alarm notifications", enable_key_rotation=True,
                          deletion_window_in_days=30, policy=policy, tags=tags, opts=child)
        self.topic = aws.sns.Topic(f"{name}-topic", name=args.name, kms_master_key_id=key.arn, tags=tags, opts=child)
        if args.email:
            aws.sns.TopicSubscription(f"{name}-email", topic=self.topic.arn, protocol="email", endpoint=args.email,
                                      opts=child)
        self.topic_arn = self.topic.arn
        self.register_outputs({"topic_arn": self.topic_arn})


@dataclass(frozen=True)
class ObservabilityArgs:
    prefix: str
    """Alarm and dashboard names (`torchserve-<stack>`)."""
    region: str
    log_group_name: str
    topic_arn: pulumi.Input[str] | None = None
    """The AlarmTopic every alarm notifies (required by Observability; the Plan leaves it to the delivery)."""
    load_balancer_arn_suffix: pulumi.Input[str] | None = None
    target_group_arn_suffix: pulumi.Input[str] | None = None
    instance_id: pulumi.Input[str] | None = None
    """The EC2 host (host-down and GPU alarms)."""
    cluster_name: pulumi.Input[str] | None = None
    service_name: pulumi.Input[str] | None = None
    """The fleet's ECS service (no-running-task alarm)."""
    rollout_alarms: Sequence[aws.cloudwatch.MetricAlarm] = ()
    """A fleet's deployment alarms (5xx count and p99): shown, and the p99 alarm is not made twice."""
    p99_ms: int = 1000
    error_rate_percent: int = 5
    gpu_memory_percent: int = 90
    tags: tuple[tuple[str, str], ...] = ()


def _metric(namespace: str, name: str, dims: dict[str, Any], stat: str) -> dict[str, Any]:
    return {"namespace": namespace, "metricName": name, "dimensions": dims, "stat": stat, "period": 60}


class Observability(pulumi.ComponentResource):
    def __init__(self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:aws:Observability", name, None, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self.alarms: list[aws.cloudwatch.MetricAlarm] = []
        a = args
        if a.topic_arn is None:
            raise ValueError("ObservabilityArgs.topic_arn: alarms need a topic to notify (an AlarmTopic's topic_arn)")
        self._topic: pulumi.Input[str] = a.topic_arn
        edge = {"LoadBalancer": a.load_balancer_arn_suffix, "TargetGroup": a.target_group_arn_suffix}
        if a.load_balancer_arn_suffix is not None:
            self._alarm("5xx-rate", "targets answer 5xx to more than the allowed share of requests",
                        a.error_rate_percent, "GreaterThanOrEqualToThreshold", 3, "notBreaching", queries=[
                            {"id": "errors", "returnData": False,
                             "metric": _metric(ALB, "HTTPCode_Target_5XX_Count", edge, "Sum")},
                            {"id": "requests", "returnData": False, "metric": _metric(ALB, "RequestCount", edge, "Sum")},
                            {"id": "rate", "returnData": True, "label": "5xx % of requests",
                             "expression": "IF(requests > 0, 100 * errors / requests, 0)"}])
            if not a.rollout_alarms:
                self._alarm("p99-latency", "p99 response time over target", a.p99_ms / 1000, "GreaterThanThreshold", 3,
                            "notBreaching", namespace=ALB, metric="TargetResponseTime", dims=edge, stat="p99")
            self._alarm("no-healthy-target", "no target passes the health check (every request fails)", 1,
                        "LessThanThreshold", 2, "breaching", namespace=ALB, metric="HealthyHostCount", dims=edge,
                        stat="Minimum")
        if a.instance_id is not None:
            host = {"InstanceId": a.instance_id}
            self._alarm("host-down", "the GPU host fails its status checks or reports nothing", 1,
                        "GreaterThanOrEqualToThreshold", 2, "breaching", namespace="AWS/EC2",
                        metric="StatusCheckFailed", dims=host, stat="Maximum")
            self._alarm("gpu-memory", "GPU memory nearly full (the next larger batch or model may fail)",
                        a.gpu_memory_percent, "GreaterThanOrEqualToThreshold", 3, "notBreaching", queries=[
                            {"id": "used", "returnData": False, "metric": _metric(GPU_NAMESPACE, GPU_USED, host, "Maximum")},
                            {"id": "total", "returnData": False,
                             "metric": _metric(GPU_NAMESPACE, GPU_TOTAL, host, "Maximum")},
                            {"id": "share", "returnData": True, "label": "GPU memory used %",
                             "expression": "IF(total > 0, 100 * used / total, 0)"}])
        if a.service_name is not None:
            self._alarm("no-running-task", "the fleet runs no serving task", 1, "LessThanThreshold", 2, "breaching",
                        namespace="ECS/ContainerInsights", metric="RunningTaskCount",
                        dims={"ClusterName": a.cluster_name, "ServiceName": a.service_name}, stat="Minimum")
        for query, text in QUERIES.items():
            aws.cloudwatch.QueryDefinition(f"{name}-query-{query}", name=f"{a.prefix}/{query}",
                                           log_group_names=[a.log_group_name], query_string=text, opts=self._child)
        all_alarms = [*a.rollout_alarms, *self.alarms]
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard", dashboard_name=a.prefix, opts=self._child,
            dashboard_body=pulumi.Output.all(
                lb=a.load_balancer_arn_suffix, tg=a.target_group_arn_suffix, instance=a.instance_id,
                cluster=a.cluster_name, service=a.service_name, alarms=[x.arn for x in all_alarms],
            ).apply(lambda v: dashboard_body(a, v)))
        self.alarm_names = [x.name for x in all_alarms]
        self.register_outputs({"dashboard_name": self.dashboard.dashboard_name})

    def _alarm(self, suffix: str, what: str, threshold: float, operator: str, periods: int, missing: str, *,
               namespace: str | None = None, metric: str | None = None, dims: dict[str, Any] | None = None,
               stat: str | None = None, queries: list[dict[str, Any]] | None = None) -> None:
        a = self._args
        kw: dict[str, Any] = {}
        if queries is not None:
            kw["metric_queries"] = [aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id=q["id"], return_data=q["returnData"], label=q.get("label"), expression=q.get("expression"),
                metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                    namespace=q["metric"]["namespace"], metric_name=q["metric"]["metricName"],
                    dimensions=q["metric"]["dimensions"], stat=q["metric"]["stat"], period=q["metric"]["period"])
                if "metric" in q else None)
                for q in queries]
        else:
            kw.update(namespace=namespace, metric_name=metric, dimensions=dims, period=60)
            kw["extended_statistic" if stat and stat.startswith("p") else "statistic"] = stat
        self.alarms.append(aws.cloudwatch.MetricAlarm(
            f"{self._name}-{suffix}", name=f"{a.prefix}-{suffix}", alarm_description=f"{a.prefix}: {what}",
            threshold=threshold, comparison_operator=operator, evaluation_periods=periods,
            datapoints_to_alarm=periods, treat_missing_data=missing, alarm_actions=[self._topic],
            ok_actions=[self._topic], tags=dict(a.tags), opts=self._child, **kw))


def dashboard_body(a: ObservabilityArgs, v: dict[str, Any]) -> str:
    """The dashboard's JSON (CloudWatch's dashboard body structure); same inputs → same text."""
    def graph(title: str, metrics: list[list[Any]], **extra: Any) -> dict[str, Any]:
        return {"type": "metric", "width": 12, "height": 6, "properties": {
            "title": title, "region": a.region, "view": "timeSeries", "period": 60, "metrics": metrics, **extra}}

    widgets: list[dict[str, Any]] = []
    if v["lb"] is not None:
        edge = ["LoadBalancer", v["lb"], "TargetGroup", v["tg"]]
        widgets += [
            graph("Requests", [[ALB, "RequestCount", *edge, {"stat": "Sum"}]]),
            graph("5xx (targets and load balancer)", [[ALB, "HTTPCode_Target_5XX_Count", *edge, {"stat": "Sum"}],
                                                      [ALB, "HTTPCode_ELB_5XX_Count", "LoadBalancer", v["lb"],
                                                       {"stat": "Sum"}]]),
            graph("Latency p50 / p99 (s)", [[ALB, "TargetResponseTime", *edge, {"stat": "p50"}],
                                           [ALB, "TargetResponseTime", *edge, {"stat": "p99"}]],
                  annotations={"horizontal": [{"label": "p99 target", "value": a.p99_ms / 1000}]}),
            graph("Healthy / unhealthy targets", [[ALB, "HealthyHostCount", *edge, {"stat": "Minimum"}],
                                                  [ALB, "UnHealthyHostCount", *edge, {"stat": "Maximum"}]]),
        ]
    if v["instance"] is not None:
        host = ["InstanceId", v["instance"]]
        widgets += [graph("GPU utilization (%)", [[GPU_NAMESPACE, GPU_UTIL, *host, {"stat": "Average"}]]),
                    graph("GPU memory (MiB)", [[GPU_NAMESPACE, GPU_USED, *host, {"stat": "Maximum"}],
                                               [GPU_NAMESPACE, GPU_TOTAL, *host, {"stat": "Maximum"}]])]
    if v["service"] is not None:
        widgets.append(graph("Running tasks", [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", v["cluster"],
                                                "ServiceName", v["service"], {"stat": "Minimum"}]]))
    source = f"SOURCE '{a.log_group_name}'"
    widgets += [
        {"type": "log", "width": 12, "height": 6, "properties": {
            "title": "p99 by model (access log, ms)", "region": a.region, "view": "timeSeries",
            "query": f"{source} | {QUERIES['p99-by-model']}".replace("\n", " ")}},
        {"type": "log", "width": 12, "height": 6, "properties": {
            "title": "Worker time vs end to end (ms): the gap is queueing and batching", "region": a.region,
            "view": "timeSeries", "query": (
                f"{source} | filter logger = \"ts.access\" or (logger = \"ACCESS_LOG\" and model != \"\") "
                "| stats avg(latency_ms) as avg_ms by logger, bin(1m)")}},
        {"type": "alarm", "width": 24, "height": 3, "properties": {"title": "Alarms", "alarms": sorted(v["alarms"])}},
    ]
    return json.dumps({"widgets": widgets}, sort_keys=True)
