"""The fleet stack under mocks: ECS on GPU capacity behind the HTTPS edge. Its task definition, service
deployment settings and scaling policy are validated offline against the AWS API models botocore ships."""
import json

import pytest

from infra.fleet_capacity import HEADROOM, derived_target
from infra.offline import stack_settings
from infra.plan import make_plan
from tests.botocore_shapes import problems
from tests.mocks import ROOT, evaluate_program, named, only

ECS_REQUIRED = {"ContainerDefinition": ("name", "image")}  # required by the ECS API reference


@pytest.fixture(scope="module")
def fleet():
    return evaluate_program("fleet")


def ints(value):
    """Recorded inputs carry numbers as floats (protobuf Struct); the API wants integers where they are whole."""
    if isinstance(value, dict):
        return {k: ints(v) for k, v in value.items()}
    if isinstance(value, list):
        return [ints(v) for v in value]
    return int(value) if isinstance(value, float) and value.is_integer() else value


def of(resources, typ):
    return [r for r in resources if r.typ == typ]


def test_the_fleet_registers_everything_it_needs(fleet):
    types = {r.typ for r in fleet}
    for t in ("aws:ecs/cluster:Cluster", "aws:ecs/capacityProvider:CapacityProvider",
              "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders", "aws:ec2/launchTemplate:LaunchTemplate",
              "aws:autoscaling/group:Group", "aws:ecs/taskDefinition:TaskDefinition", "aws:ecs/service:Service",
              "aws:lb/targetGroup:TargetGroup", "aws:lb/listener:Listener", "aws:appautoscaling/target:Target",
              "aws:appautoscaling/policy:Policy", "aws:cloudwatch/metricAlarm:MetricAlarm",
              "torchserve:fleet:TorchServeFleet", "torchserve:edge:Edge"):
        assert t in types, t
    assert not of(fleet, "aws:ec2/instance:Instance")  # capacity comes only from the group
    https = [r.inputs for r in of(fleet, "aws:lb/listener:Listener") if r.inputs["protocol"] == "HTTPS"]
    assert len(https) == 1 and https[0]["sslPolicy"].startswith("ELBSecurityPolicy-TLS13-1-2")


def test_capacity_is_private_imdsv2_and_encrypted(fleet):
    cluster = only(fleet, "aws:ecs/cluster:Cluster").inputs
    assert cluster["settings"] == [{"name": "containerInsights", "value": "enabled"}]
    lt = only(fleet, "aws:ec2/launchTemplate:LaunchTemplate").inputs
    # Hop limit 1: the ECS agent (host networking) reads IMDS; tasks get credentials from the agent, not the role.
    assert lt["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}
    assert [n["associatePublicIpAddress"] for n in lt["networkInterfaces"]] == ["false"]
    assert lt["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert lt["imageId"] == "ami-0123456789abcdef0"
    asg = only(fleet, "aws:autoscaling/group:Group").inputs
    assert asg["protectFromScaleIn"] is True and asg["forceDelete"] is True and asg["maxSize"] == 6
    assert asg["vpcZoneIdentifiers"] == ["network-private-0-id", "network-private-1-id"]
    cp = only(fleet, "aws:ecs/capacityProvider:CapacityProvider").inputs["autoScalingGroupProvider"]
    assert cp["managedTerminationProtection"] == "ENABLED" and cp["managedScaling"]["status"] == "ENABLED"
    ingress = [r.inputs for r in of(fleet, "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
               if r.inputs["securityGroupId"] == "fleet-sg-id"]
    assert sorted((int(r["fromPort"]), r["referencedSecurityGroupId"]) for r in ingress) == [
        (8080, "edge-sg-id"), (8090, "edge-sg-id")]


def test_the_ecs_gpu_ami_comes_from_its_public_parameter():
    from tests.mocks import RecordingMocks

    mocks = RecordingMocks()
    evaluate_program("fleet", mocks=mocks)
    asked = [a["name"] for t, a in mocks.calls if t == "aws:ssm/getParameter:getParameter"]
    assert asked == ["/aws/service/ecs/optimized-ami/amazon-linux-2023/gpu/recommended/image_id"]


@pytest.mark.parametrize("ami,ignored", [("", ["imageId"]), ("ami-0123456789abcdef0", [])])
def test_an_unpinned_ami_never_shows_a_diff_a_pinned_one_rolls(monkeypatch, ami, ignored):
    """Like the EC2 host: the SSM parameter moves whenever AWS publishes an AMI; that must not change every
    preview. A pinned amiId is the deliberate way to roll the fleet's AMI."""
    import pulumi_aws

    seen = []
    real = pulumi_aws.ec2.LaunchTemplate

    def recording(name, *args, **kwargs):
        seen.append((kwargs.get("image_id"), list(kwargs["opts"].ignore_changes or [])))
        return real(name, *args, **kwargs)

    monkeypatch.setattr(pulumi_aws.ec2, "LaunchTemplate", recording)
    rs = evaluate_program("fleet", {"amiId": ami} if ami else None)
    assert [ignore for _, ignore in seen] == [ignored]
    if ami:
        assert named(rs, "fleet-template").inputs["imageId"] == ami


def register_request(task):
    i = task.inputs
    return {"family": i["family"], "containerDefinitions": json.loads(i["containerDefinitions"]),
            "networkMode": i["networkMode"], "requiresCompatibilities": i["requiresCompatibilities"],
            "executionRoleArn": i["executionRoleArn"], "taskRoleArn": i["taskRoleArn"],
            "volumes": [{"name": v["name"], "dockerVolumeConfiguration": v["dockerVolumeConfiguration"]}
                        for v in i["volumes"]]}


def test_task_definition_is_valid_for_the_ecs_api(fleet):
    request = register_request(only(fleet, "aws:ecs/taskDefinition:TaskDefinition"))
    assert problems(request, "ecs", "RegisterTaskDefinition", ECS_REQUIRED) == []
    sync, server = request["containerDefinitions"]
    assert sync["name"] == "model-sync" and sync["essential"] is False
    assert sync["command"][0] == "s3://torchserve-fleet-models-mock/models/"
    assert server["dependsOn"] == [{"containerName": "model-sync", "condition": "SUCCESS"}]
    assert server["resourceRequirements"] == [{"type": "GPU", "value": "1"}]
    assert server["linuxParameters"]["sharedMemorySize"] == 1024 and server["user"] == "1000:1000"
    assert server["readonlyRootFilesystem"] is True and server["linuxParameters"]["capabilities"] == {"drop": ["ALL"]}
    assert {u["name"]: (u["softLimit"], u["hardLimit"]) for u in server["ulimits"]} == {
        "memlock": (-1, -1), "stack": (67108864, 67108864)}
    assert server["healthCheck"]["command"] == ["CMD", "/usr/local/bin/ts-healthcheck", "demo"]
    assert server["logConfiguration"]["logDriver"] == "awslogs"
    # Management never mapped, and bound to the container's own loopback (other tasks cannot reach it).
    assert sorted(p["containerPort"] for p in server["portMappings"]) == [8080, 8090]
    config = {e["name"]: e["value"] for e in server["environment"]}["TS_CONFIG_PROPERTIES"]
    assert "management_address=http://127.0.0.1:8081" in config and "grpc_management_address=127.0.0.1" in config
    assert "enable_model_api=false" in config
    # No key in the task: the edge checks it (and the container's environment is no place for a secret).
    assert "secrets" not in server and "inference-key" not in json.dumps(request)


def test_a_broken_task_definition_is_refused_by_the_api_model(fleet):
    request = register_request(only(fleet, "aws:ecs/taskDefinition:TaskDefinition"))
    server = request["containerDefinitions"][1]
    server["resourceRequirements"] = [{"type": "GPU", "value": 1}]
    server["healthCheck"]["interval"] = "10s"
    server["logConfiguration"]["logDriver"] = "awslog"
    found = problems(request, "ecs", "RegisterTaskDefinition", ECS_REQUIRED)
    print("\n".join(found))
    assert len(found) == 2 and "awslog" in found[1]
    assert "resourceRequirements[0].value" in found[0] and "healthCheck.interval" in found[0]


def test_service_deployment_is_valid_and_rolls_back(fleet):
    s = only(fleet, "aws:ecs/service:Service").inputs
    alarms = {r.inputs["name"] if "name" in r.inputs else r.name for r in of(fleet, "aws:cloudwatch/metricAlarm:MetricAlarm")}
    request = {
        "serviceName": s["name"], "cluster": s["cluster"], "taskDefinition": s["taskDefinition"],
        "desiredCount": s["desiredCount"], "capacityProviderStrategy": s["capacityProviderStrategies"],
        "loadBalancers": s["loadBalancers"], "placementConstraints": s["placementConstraints"],
        "placementStrategy": s["orderedPlacementStrategies"],
        "healthCheckGracePeriodSeconds": s["healthCheckGracePeriodSeconds"],
        "deploymentConfiguration": {
            "deploymentCircuitBreaker": s["deploymentCircuitBreaker"], "alarms": {
                "alarmNames": s["alarms"]["alarmNames"], "enable": s["alarms"]["enable"],
                "rollback": s["alarms"]["rollback"]},
            "maximumPercent": s["deploymentMaximumPercent"], "minimumHealthyPercent": s["deploymentMinimumHealthyPercent"]},
    }
    assert problems(ints(request), "ecs", "CreateService") == []
    assert s["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    assert s["alarms"]["rollback"] is True and set(s["alarms"]["alarmNames"]) <= alarms | {None}
    assert s["loadBalancers"] == [{"targetGroupArn": "arn:aws:mock:us-east-1:123456789012:edge-tg",
                                   "containerName": "torchserve", "containerPort": 8080}]
    assert s["placementConstraints"] == [{"type": "distinctInstance"}]
    assert s["orderedPlacementStrategies"] == [{"type": "spread", "field": "attribute:ecs.availability-zone"}]
    assert s["forceDelete"] is True


def test_alarms_watch_this_edge(fleet):
    lb = "app/edge-alb/0123456789abcdef"
    tg = "targetgroup/edge-tg/0123456789abcdef"
    rollout = set(of(fleet, "aws:ecs/service:Service")[0].inputs["alarms"]["alarmNames"])
    alarms = {r.inputs["metricName"]: r.inputs for r in of(fleet, "aws:cloudwatch/metricAlarm:MetricAlarm")
              if r.inputs["name"] in rollout}
    assert set(alarms) == {"HTTPCode_Target_5XX_Count", "TargetResponseTime"}
    for a in alarms.values():
        assert a["namespace"] == "AWS/ApplicationELB" and a["dimensions"] == {"LoadBalancer": lb, "TargetGroup": tg}
    assert alarms["TargetResponseTime"]["extendedStatistic"] == "p99" and alarms["TargetResponseTime"]["threshold"] == 1
    assert alarms["HTTPCode_Target_5XX_Count"]["threshold"] == 10


def test_scaling_target_is_derived_from_the_measured_capacity(fleet):
    capacity = derived_target(ROOT)
    data = json.loads((ROOT / "bench/results.json").read_text())
    rows = data["rows"] if isinstance(data, dict) else data
    rps = [r["value"] for r in rows if r["name"] == "demo: requests/s, generated config vs stock"][0]
    assert capacity.target_per_minute == int(rps * 60 * HEADROOM)
    target = only(fleet, "aws:appautoscaling/target:Target").inputs
    assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
    assert target["resourceId"] == "service/torchserve-fleet/torchserve-fleet"
    policy = only(fleet, "aws:appautoscaling/policy:Policy").inputs
    cfg = policy["targetTrackingScalingPolicyConfiguration"]
    assert cfg["targetValue"] == capacity.target_per_minute
    # The README's worked derivation quotes the committed bench result (a new `make bench` moves both).
    readme = (ROOT / "README.md").read_text()
    assert f"int   =  {capacity.target_per_minute:,}" in readme, "README's fleet target derivation is stale"
    assert f"capacity  {rps:,} req/s" in readme, "README's fleet capacity line is stale"
    assert cfg["predefinedMetricSpecification"]["resourceLabel"] == (
        "app/edge-alb/0123456789abcdef/targetgroup/edge-tg/0123456789abcdef")
    request = {"PolicyName": "requests", "ServiceNamespace": target["serviceNamespace"],
               "ResourceId": target["resourceId"], "ScalableDimension": target["scalableDimension"],
               "PolicyType": policy["policyType"], "TargetTrackingScalingPolicyConfiguration": {
                   "TargetValue": float(cfg["targetValue"]), "ScaleInCooldown": cfg["scaleInCooldown"],
                   "ScaleOutCooldown": cfg["scaleOutCooldown"], "PredefinedMetricSpecification": {
                       "PredefinedMetricType": cfg["predefinedMetricSpecification"]["predefinedMetricType"],
                       "ResourceLabel": cfg["predefinedMetricSpecification"]["resourceLabel"]}}}
    request = ints(request)
    request["TargetTrackingScalingPolicyConfiguration"]["TargetValue"] = float(cfg["targetValue"])
    assert problems(request, "application-autoscaling", "PutScalingPolicy") == []
    explicit = evaluate_program("fleet", {"fleetTargetRequestsPerTask": 30000})
    assert only(explicit, "aws:appautoscaling/policy:Policy").inputs[
        "targetTrackingScalingPolicyConfiguration"]["targetValue"] == 30000


def test_a_new_archive_rolls_the_service():
    """The archive digests are a label of the server container: a changed model is a new task definition."""
    plan = make_plan(stack_settings("fleet"))
    labels = dict(plan.server.labels)
    assert labels["torchserve-deploy.models"].startswith("demo=")
    other = evaluate_program("fleet", {"models": {"demo": {"path": "models/demo", "batchSize": 8}}})
    first = evaluate_program("fleet")
    assert (named(other, "fleet-task").inputs["containerDefinitions"]
            != named(first, "fleet-task").inputs["containerDefinitions"])


def test_private_instances_reach_the_ecs_control_plane(fleet):
    """Without a NAT, an ECS instance joins its cluster and hands out task credentials only through the ecs,
    ecs-agent and ecs-telemetry endpoints (AWS: 'Amazon ECS interface VPC endpoints')."""
    services = {r.inputs["serviceName"] for r in of(fleet, "aws:ec2/vpcEndpoint:VpcEndpoint")}
    for name in ("ecs", "ecs-agent", "ecs-telemetry", "ecr.api", "ecr.dkr", "logs", "s3"):
        assert f"com.amazonaws.us-east-1.{name}" in services, name
    staging = {r.inputs["serviceName"] for r in of(evaluate_program("staging"), "aws:ec2/vpcEndpoint:VpcEndpoint")}
    assert not {s for s in staging if s.endswith((".ecs", ".ecs-agent", ".ecs-telemetry"))}
