"""The dev stack realized on a real Docker engine from its inputs as captured under mocks.

Builds the declared image (test overrides: base image, wheelhouse), runs the declared archive
command, creates the declared container through the Docker SDK (test override: memlock), then
checks what only a real engine can show.
"""
import subprocess

import pytest
import requests

from tests.engine import exec_json, realize_container, wait_healthy
from tests.expected import SAMPLE, assert_demo_answer
from tests.mocks import ROOT, only

pytestmark = pytest.mark.docker
KEY_FILE = "/home/model-server/key_file.json"


def declared(resources, name):
    return [r for r in resources if r.name == name][0].inputs


@pytest.fixture(scope="module")
def served(engine, dev_resources, production_image):
    client = engine.client
    inputs = only(dev_resources, "docker:index/container:Container").inputs
    existing = client.containers.list(all=True, filters={"name": f"^{inputs['name']}$"})
    assert not existing, f"a container named {inputs['name']} exists (a real dev deployment?): remove it first"
    image_id = production_image["id"]
    store = ROOT / ".build/dev/model-store"
    mar_existed = (store / "demo.mar").exists()
    for step in ("model-store-dir", "model-demo-archive"):
        subprocess.run(["/bin/sh", "-c", declared(dev_resources, step)["create"]], cwd=ROOT, check=True)
    container = realize_container(client, inputs, image_id)
    try:
        wait_healthy(container)
        yield {"container": container, "inputs": inputs, "image_id": image_id}
    finally:
        container.remove(force=True)
        if not mar_existed:
            (store / "demo.mar").unlink(missing_ok=True)


def test_prediction_through_published_port(served):
    keys = exec_json(served["container"], "cat", KEY_FILE)
    port = [p for p in served["inputs"]["ports"] if p["internal"] == 8080][0]
    url = f"http://{port['ip']}:{int(port['external'])}/predictions/demo"
    assert requests.post(url, json=SAMPLE, timeout=10).status_code == 400  # no token
    r = requests.post(url, json=SAMPLE, headers={"Authorization": f"Bearer {keys['inference']['key']}"}, timeout=30)
    assert r.status_code == 200, r.text
    assert_demo_answer(r.json())


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
