"""Issue 16 under mocks: every AWS stack declares its alarm topic, alarms, dashboard and saved queries, with
real metric names, and every dimension refers to this stack's own load balancer, target group, instance or
ECS service; the alarm requests fit CloudWatch's API model; the host's CloudWatch agent config fits the
agent's own schema and publishes what the GPU alarm reads; the README shows the saved queries."""
import json

import jsonschema
import pytest
from torchserve_deploy.aws.observability import GPU_NAMESPACE, QUERIES, agent_config
from torchserve_deploy.errors import ValidationError

from tests.botocore_shapes import problems
from tests.mocks import ROOT, evaluate_program, named

AWS_STACKS = ("staging", "prod", "fleet")
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
# CloudWatch's metrics and the dimensions each is published with (AWS docs; CWAgent: the agent config below).
METRICS = {
    ("AWS/ApplicationELB", "RequestCount"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "HTTPCode_Target_5XX_Count"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count"): {"LoadBalancer"},
    ("AWS/ApplicationELB", "TargetResponseTime"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "HealthyHostCount"): {"LoadBalancer", "TargetGroup"},
    ("AWS/ApplicationELB", "UnHealthyHostCount"): {"LoadBalancer", "TargetGroup"},
    ("AWS/EC2", "StatusCheckFailed"): {"InstanceId"},
    ("ECS/ContainerInsights", "RunningTaskCount"): {"ClusterName", "ServiceName"},
    **{(GPU_NAMESPACE, f"nvidia_smi_{m}"): {"InstanceId"} for m in
       json.loads(agent_config())["metrics"]["metrics_collected"]["nvidia_gpu"]["measurement"]},
}


@pytest.fixture(scope="module", params=AWS_STACKS)
def stack(request):
    return request.param, evaluate_program(request.param)


def own_values(resources):
    """What each dimension may name: this stack's resources, as the (mock) provider reported them."""
    def outs(typ, key):
        return {r.outputs[key] for r in resources if r.typ == typ}
    return {"LoadBalancer": outs("aws:lb/loadBalancer:LoadBalancer", "arnSuffix"),
            "TargetGroup": outs("aws:lb/targetGroup:TargetGroup", "arnSuffix"),
            "InstanceId": outs("aws:ec2/instance:Instance", "id"),
            "ClusterName": outs("aws:ecs/cluster:Cluster", "name"),
            "ServiceName": outs("aws:ecs/service:Service", "name")}


def alarm_metrics(alarm):
    if "metricQueries" in alarm:
        return [(q["metric"]["namespace"], q["metric"]["metricName"], q["metric"]["dimensions"])
                for q in alarm["metricQueries"] if "metric" in q]
    return [(alarm["namespace"], alarm["metricName"], alarm["dimensions"])]


def dashboard_metrics(body):
    for widget in body["widgets"]:
        for m in widget["properties"].get("metrics", []):
            plain = [x for x in m if not isinstance(x, dict)]
            yield plain[0], plain[1], dict(zip(plain[2::2], plain[3::2], strict=True))


def test_alarms_and_dashboard_name_real_metrics_of_this_stack(stack):
    name, resources = stack
    own = own_values(resources)
    alarms = [r.inputs for r in resources if r.typ == ALARM]
    dashboard = json.loads(named(resources, "observability-dashboard").inputs["dashboardBody"])
    seen = [m for a in alarms for m in alarm_metrics(a)] + list(dashboard_metrics(dashboard))
    assert len(seen) >= 10
    for namespace, metric, dims in seen:
        assert (namespace, metric) in METRICS, (namespace, metric)
        assert set(dims) == METRICS[namespace, metric], (metric, dims)
        for key, value in dims.items():
            assert own[key] and value in own[key], f"{name}: {metric} {key}={value!r} is not one of {own[key]}"


def test_each_stack_has_its_alarm_set_on_its_topic(stack):
    name, resources = stack
    alarms = {r.inputs["name"]: r.inputs for r in resources if r.typ == ALARM}
    expected = {"5xx-rate", "no-healthy-target", "p99-latency"} | (
        {"target-5xx", "no-running-task"} if name == "fleet" else {"host-down", "gpu-memory"})
    assert set(alarms) == {f"torchserve-{name}-{x}" for x in expected}
    topic = named(resources, "alarms-topic")
    assert topic.inputs["name"] == f"torchserve-{name}-alarms"
    assert topic.inputs["kmsMasterKeyId"] == named(resources, "alarms-key").outputs["arn"]
    key_policy = json.loads(named(resources, "alarms-key").inputs["policy"])
    assert {"Service": "cloudwatch.amazonaws.com"} in [s["Principal"] for s in key_policy["Statement"]]
    for a in alarms.values():
        assert a["alarmActions"] == [topic.outputs["arn"]] and a["okActions"] == [topic.outputs["arn"]], a["name"]
    body = json.loads(named(resources, "observability-dashboard").inputs["dashboardBody"])
    (widget,) = [w for w in body["widgets"] if w["type"] == "alarm"]
    assert sorted(widget["properties"]["alarms"]) == sorted(r.outputs["arn"] for r in resources if r.typ == ALARM)
    if name == "fleet":  # the rollout alarms the service watches are among them, not a second copy
        service = [r for r in resources if r.typ == "aws:ecs/service:Service"][0].inputs
        assert set(service["alarms"]["alarmNames"]) == {f"torchserve-{name}-target-5xx", f"torchserve-{name}-p99-latency"}
    p99 = alarms[f"torchserve-{name}-p99-latency"]
    assert p99["extendedStatistic"] == "p99" and p99["threshold"] == 1.0
    assert alarms[f"torchserve-{name}-no-healthy-target"]["treatMissingData"] == "breaching"


def test_alarm_requests_fit_cloudwatch_api_model(stack):
    _, resources = stack
    for r in (r for r in resources if r.typ == ALARM):
        i = r.inputs
        params = {"AlarmName": i["name"], "EvaluationPeriods": int(i["evaluationPeriods"]),
                  "ComparisonOperator": i["comparisonOperator"], "Threshold": float(i["threshold"]),
                  "TreatMissingData": i["treatMissingData"], "AlarmActions": i["alarmActions"],
                  "OKActions": i.get("okActions", i["alarmActions"]),
                  "DatapointsToAlarm": int(i["datapointsToAlarm"]), "AlarmDescription": i["alarmDescription"]}
        if "metricQueries" in i:
            params["Metrics"] = [{"Id": q["id"], "ReturnData": q["returnData"], **(
                {"Expression": q["expression"], "Label": q["label"]} if "expression" in q else
                {"MetricStat": {"Metric": {"Namespace": q["metric"]["namespace"],
                                           "MetricName": q["metric"]["metricName"],
                                           "Dimensions": [{"Name": k, "Value": v}
                                                          for k, v in q["metric"]["dimensions"].items()]},
                                "Period": int(q["metric"]["period"]), "Stat": q["metric"]["stat"]}})}
                for q in i["metricQueries"]]
        else:
            params.update(Namespace=i["namespace"], MetricName=i["metricName"], Period=int(i["period"]),
                          Dimensions=[{"Name": k, "Value": v} for k, v in i["dimensions"].items()],
                          **({"ExtendedStatistic": i["extendedStatistic"]} if "extendedStatistic" in i
                             else {"Statistic": i["statistic"]}))
        assert not problems(params, "cloudwatch", "PutMetricAlarm"), (i["name"], problems(params, "cloudwatch",
                                                                                         "PutMetricAlarm"))


def test_saved_queries_are_the_readmes_on_the_stacks_log_group(stack):
    name, resources = stack
    readme = (ROOT / "README.md").read_text()
    defs = {r.inputs["name"]: r.inputs for r in resources if r.typ == "aws:cloudwatch/queryDefinition:QueryDefinition"}
    assert set(defs) == {f"torchserve-{name}/{q}" for q in QUERIES}
    for q, text in QUERIES.items():
        assert defs[f"torchserve-{name}/{q}"]["queryString"] == text
        assert defs[f"torchserve-{name}/{q}"]["logGroupNames"] == [f"/torchserve-deploy/{name}"]
        assert text in readme, f"README lacks the {q} query as the stacks save it"
    assert not problems({"name": "x", "queryString": QUERIES["slow-requests"], "logGroupNames": ["/g"]}, "logs",
                        "PutQueryDefinition")


def test_host_agent_config_fits_the_agents_schema_and_feeds_the_gpu_alarm():
    schema = json.loads((ROOT / "tests/fixtures/cloudwatch-agent/schema.json").read_text())
    config = json.loads(agent_config())
    jsonschema.validate(config, schema)
    with pytest.raises(jsonschema.ValidationError):  # the schema has teeth
        jsonschema.validate({**config, "metrics": {**config["metrics"], "aggregation_dimensions": "InstanceId"}},
                            schema)
    assert config["metrics"]["namespace"] == GPU_NAMESPACE
    assert config["metrics"]["aggregation_dimensions"] == [["InstanceId"]]  # the alarm's one dimension
    resources = evaluate_program("staging")
    from torchserve_deploy.aws.user_data import written_files

    files = written_files(named(resources, "gpu-host-instance").inputs["userData"])
    assert json.loads(files["/opt/aws/amazon-cloudwatch-agent/etc/torchserve-deploy.json"]) == config
    setup = files["/usr/local/sbin/gpu-host-setup"]
    assert 'fetch-config -m ec2 -s -c "file:$CWAGENT_CONFIG"' in setup
    assert "937616F3450B7D806CBD9725D58167303B789C72" in setup and "gpg --batch --verify" in setup


def test_alarm_email_subscribes_and_a_bad_address_is_refused_first():
    resources = evaluate_program("prod", {"alarmEmail": "ml-oncall@example.com"})
    sub = named(resources, "alarms-email").inputs
    assert (sub["protocol"], sub["endpoint"]) == ("email", "ml-oncall@example.com")
    assert "aws:sns/topicSubscription:TopicSubscription" not in {r.typ for r in evaluate_program("prod")}
    with pytest.raises(Exception) as bad:
        evaluate_program("prod", {"alarmEmail": "oncall@example.com\nX-Injected: 1"})
    assert "torchserve-deploy:alarmEmail" in str(bad.value) and "an e-mail address" in str(bad.value)
    with pytest.raises(ValidationError):
        from torchserve_deploy import validators

        validators.email("k", "a@b")


def test_observe_renders_the_dev_stacks_scrape_targets_and_rules(tmp_path):
    import yaml

    from infra import observe

    config = yaml.safe_load(observe.render("dev", tmp_path).read_text())
    jobs = {j["job_name"]: j["static_configs"][0] for j in config["scrape_configs"]}
    assert jobs == {"torchserve": {"targets": ["127.0.0.1:8082"], "labels": {"stack": "dev"}},
                    "torchserve-health": {"targets": ["127.0.0.1:8090"], "labels": {"stack": "dev"}}}
    rules = yaml.safe_load((tmp_path / "rules.yml").read_text())["groups"][0]["rules"]
    assert {r["record"]: r["expr"] for r in rules} == observe.RULES
    readme = (ROOT / "README.md").read_text()
    for name, expr in observe.RULES.items():
        assert f"| `{name}` | `{expr}` |" in readme, name


def test_observe_refuses_what_it_cannot_watch(capsys):
    from infra import observe

    assert observe.main(["--stack", "staging", "--check"]) == 2
    assert "runs on ec2" in capsys.readouterr().err
    assert observe.main(["--stack", "../../etc", "--check"]) == 2
    assert "no stack '../../etc'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        observe.main(["--port", "x"])
    assert observe.main(["--port", "80", "--check"]) == 2
