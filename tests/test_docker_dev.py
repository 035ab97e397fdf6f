"""The dev stack realized on a real Docker engine from its inputs as captured under mocks:
train → archive → serve.

Builds the declared serving and training images (test overrides: base image, wheelhouse), runs the
declared training command (the mock's image ID replaced by the real one), finds the checkpoint in the
outputs, runs the declared archive command, creates the declared container through the Docker SDK
(test override: memlock), then checks what only a real engine can show.
"""
import re
import subprocess

import pytest
import requests

from infra.plan import PROVIDER_CWD
from tests.conftest import declared, running_dev_server
from tests.engine import build_declared_image, exec_json, with_test_memlock
from tests.expected import SAMPLE, assert_demo_answer
from tests.mocks import ROOT, named, only
from tests.realized import from_container_inputs, problems

pytestmark = pytest.mark.docker
KEY_FILE = "/run/torchserve/key_file.json"


@pytest.fixture(scope="module")
def served(engine, dev_resources, production_image, trained, dev_store):
    inputs = only(dev_resources, "docker:index/container:Container").inputs
    with running_dev_server(engine.client, inputs, production_image["id"]) as container:
        yield {"container": container, "inputs": inputs, "image_id": production_image["id"],
               "weights": trained["checkpoint"]}


def test_training_run_wrote_checkpoint_and_logs(trained):
    assert trained["checkpoint"].is_file()
    assert "val_accuracy" in trained["stdout"]  # the run prints the last lines of its log
    logs = (trained["checkpoint"].parent / "logs" / "metrics.jsonl").read_text().splitlines()
    assert len(logs) >= 5 and '"val_accuracy"' in logs[-1]
    import torch

    trained_weights = torch.load(trained["checkpoint"], weights_only=True)
    shipped = torch.load(ROOT / "models/demo/model.pt", weights_only=True)
    assert not torch.equal(trained_weights["out.weight"], shipped["out.weight"])  # it really trained


def test_failed_training_fails_with_the_last_log_lines(engine, dev_resources, trained):
    """A trainer that exits non-zero fails the step, with its log's tail on stderr."""
    client = engine.client
    image_id, _ = build_declared_image(client, named(dev_resources, "train-demo-image").inputs)
    run = declared(dev_resources, "train-demo-run")["create"]
    mock_image = re.search(r"sha256:[0-9a-f]{64}", run).group(0)
    broken = with_test_memlock(run.replace(mock_image, image_id)).replace(
        "--train_data /data/train.csv", "--train_data /data/missing.csv")
    result = subprocess.run(["/bin/sh", "-c", broken], cwd=PROVIDER_CWD, capture_output=True, text=True)
    assert result.returncode != 0
    assert "training train-dev-demo failed (exit code" in result.stderr and "missing.csv" in result.stderr
    assert not client.containers.list(all=True, filters={"name": "^train-dev-demo$"})


def test_prediction_through_published_port(served):
    keys = exec_json(served["container"], "cat", KEY_FILE)
    port = [p for p in served["inputs"]["ports"] if p["internal"] == 8080][0]
    url = f"http://{port['ip']}:{int(port['external'])}/predictions/demo"
    assert requests.post(url, json=SAMPLE, timeout=10).status_code == 400  # no token
    r = requests.post(url, json=SAMPLE, headers={"Authorization": f"Bearer {keys['inference']['key']}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert_demo_answer(r.json(), weights=served["weights"])  # the trained checkpoint, not the shipped one


def test_shm_is_1_gib(served):
    code, out = served["container"].exec_run(
        ["python", "-c", "import os; s = os.statvfs('/dev/shm'); print(s.f_blocks * s.f_frsize)"])
    assert code == 0 and int(out) == 1024 * 1024 * 1024


def test_stack_ulimit_and_pid1_is_java_as_non_root(served):
    c = served["container"]
    limits = c.exec_run(["cat", "/proc/1/limits"]).output.decode()
    stack = [line for line in limits.splitlines() if line.startswith("Max stack size")][0].split()
    assert stack[3:5] == ["67108864", "67108864"], stack
    status = c.exec_run(["cat", "/proc/1/status"]).output.decode()
    uid = [line for line in status.splitlines() if line.startswith("Uid:")][0].split()[1:]
    assert uid[0] != "0" and set(uid) == {"1000"}
    assert b"org.pytorch.serve.ModelServer" in c.exec_run(["cat", "/proc/1/cmdline"]).output


def test_management_metrics_grpc_management_on_loopback_only(served):
    c = served["container"]
    c.reload()
    published = c.attrs["NetworkSettings"]["Ports"]
    for port in ("8081/tcp", "8082/tcp", "7071/tcp"):
        assert [b["HostIp"] for b in published[port]] == ["127.0.0.1"], (port, published[port])


def test_healthcheck_is_the_declared_one(served):
    c = served["container"]
    c.reload()
    assert c.attrs["Config"]["Healthcheck"]["Test"] == ["CMD", "/usr/local/bin/ts-healthcheck", "demo"]
    assert c.attrs["State"]["Health"]["Status"] == "healthy"


def test_hardened_root_is_read_only_and_the_process_has_no_capabilities(served):
    """cap-drop ALL, no-new-privileges, read-only root: it still serves (above) and writes only to tmpfs."""
    c = served["container"]
    c.reload()
    host = c.attrs["HostConfig"]
    assert host["ReadonlyRootfs"] is True and host["CapDrop"] == ["ALL"]
    assert host["SecurityOpt"] == ["no-new-privileges:true"]
    assert set(host["Tmpfs"]) == {"/tmp", "/run/torchserve"}
    code, out = c.exec_run(["sh", "-c", "touch /home/model-server/x"])
    assert code != 0 and b"Read-only file system" in out
    status = c.exec_run(["cat", "/proc/1/status"]).output.decode()
    caps = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Cap")}
    assert caps["CapEff"] == caps["CapPrm"] == caps["CapBnd"] == "0000000000000000", caps
    assert [line.split()[1] for line in status.splitlines() if line.startswith("NoNewPrivs")] == ["1"]
    # TorchServe's keys live on the run-directory tmpfs.
    assert exec_json(c, "cat", KEY_FILE)["inference"]["key"]


def test_declared_is_realized(served):
    """Every declared tmpfs (mode, owner, size, flags), mount, published port, dropped capability, the read-only
    root and the user, against docker inspect and the container's own view."""
    declared = from_container_inputs(served["inputs"])
    assert declared.tmpfs and declared.mounts and declared.ports  # the comparison covers something
    assert problems(served["container"], declared) == []


def test_health_endpoint_needs_no_token_and_follows_the_workers(served):
    """GET /healthz on 8090 (what a load balancer probes): 200 with every worker READY, 503 otherwise."""
    port = [p for p in served["inputs"]["ports"] if p["internal"] == 8090][0]
    url = f"http://{port['ip']}:{int(port['external'])}/healthz"
    r = requests.get(url, timeout=10)
    assert r.status_code == 200 and r.json() == {"status": "healthy", "problems": []}
    assert requests.get(url.replace("/healthz", "/predictions/demo"), timeout=10).status_code == 404


def test_container_logs_are_json_with_the_access_record_of_a_prediction(served):
    """Issue 16: the dev container's own log (json-file, as `docker logs` reads it) has valid JSON lines, and a
    prediction made here leaves its access record (request id, model, version, status, latency, batch size)
    under the x-request-id the response carried, and the frontend's access line."""
    import time

    from tests.logs import parse_log_lines

    c = served["container"]
    assert c.attrs["HostConfig"]["LogConfig"]["Type"] == "json-file"
    keys = exec_json(c, "cat", KEY_FILE)
    port = [p for p in served["inputs"]["ports"] if p["internal"] == 8080][0]
    r = requests.post(f"http://{port['ip']}:{int(port['external'])}/predictions/demo", json=SAMPLE, timeout=30,
                      headers={"Authorization": f"Bearer {keys['inference']['key']}"})
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    deadline = time.time() + 20
    while True:
        records = parse_log_lines(c.logs().decode().splitlines(), extra_plain=())
        access = [x for x in records if x.get("logger") == "ts.access" and x.get("request_id") == rid]
        if access or time.time() > deadline:
            break
        time.sleep(0.5)
    assert len(access) == 1, records[-10:]
    a = access[0]
    assert (a["model"], a["version"], a["status"], a["batch_size"]) == ("demo", "1.0", 200, 1), a
    assert isinstance(a["latency_ms"], float) and a["latency_ms"] > 0
    front = [x for x in records if x.get("logger") == "ACCESS_LOG" and x.get("uri") == "/predictions/demo"]
    assert front and front[-1]["status"] == 200 and front[-1]["model"] == "demo"
    assert {x["level"] for x in records} <= {"DEBUG", "INFO", "WARN", "WARNING", "ERROR", "CRITICAL"}


def test_health_metrics_are_valid_prometheus_text(served):
    """The token-free health port's /metrics: workers per model and state, as promtool accepts them."""
    from infra.observe import binaries

    port = [p for p in served["inputs"]["ports"] if p["internal"] == 8090][0]
    r = requests.get(f"http://{port['ip']}:{int(port['external'])}/metrics", timeout=10)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/plain"), r.text
    assert 'torchserve_workers{model="demo",status="READY"} 1' in r.text.splitlines()
    assert "torchserve_healthy 1" in r.text.splitlines()
    _, promtool = binaries()
    check = subprocess.run([promtool, "check", "metrics"], input=r.text, capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_make_observe_prometheus_scrapes_the_dev_container(served, tmp_path):
    """`make observe`'s config and rules (infra/observe.py) on Debian's Prometheus against the dev container:
    both targets up, and the recording rules give the demo's request rate, latencies and READY workers."""
    import time

    from infra import observe

    prometheus, promtool = observe.binaries()
    config = observe.render("dev", tmp_path / "observe", scrape_s=1)
    checked = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    keys = exec_json(served["container"], "cat", KEY_FILE)
    url = "http://127.0.0.1:8080/predictions/demo"
    headers = {"Authorization": f"Bearer {keys['inference']['key']}"}
    log = open(tmp_path / "prometheus.log", "w")
    proc = subprocess.Popen(observe.command(prometheus, config, 19091), stdout=log, stderr=subprocess.STDOUT)

    def query(expr):
        r = requests.get("http://127.0.0.1:19091/api/v1/query", params={"query": expr}, timeout=5)
        return {tuple(sorted((k, v) for k, v in x["metric"].items() if k != "__name__")): float(x["value"][1])
                for x in r.json()["data"]["result"]}

    try:
        found: dict = {}
        deadline = time.time() + 90
        while time.time() < deadline:
            for _ in range(5):
                assert requests.post(url, json=SAMPLE, headers=headers, timeout=30).status_code == 200
            try:
                found = {name: query(name) for name in (*observe.RULES, "up")}
            except requests.RequestException:
                time.sleep(1)
                continue
            if found["model:ts_requests:rate1m"] and found["model:ts_workers_ready"]:
                break
            time.sleep(1)
        assert proc.poll() is None, (tmp_path / "prometheus.log").read_text()[-2000:]
        assert found, (tmp_path / "prometheus.log").read_text()[-2000:]
        assert {dict(k)["job"]: v for k, v in found["up"].items()} == {"torchserve": 1.0, "torchserve-health": 1.0}
        assert found["model:ts_requests:rate1m"][(("model_name", "demo"),)] > 0
        assert found["model:ts_inference_latency_ms:mean1m"][(("model_name", "demo"),)] > 0
        assert (("model_name", "demo"),) in found["model:ts_queue_latency_ms:mean1m"]
        assert found["model:ts_workers_ready"] == {(("model", "demo"),): 1.0}
        assert found["server:ts_5xx:rate1m"] == {(): 0.0}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
