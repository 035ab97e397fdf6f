"""Faults a serving box sees, on the real engine, against the dev stack's declared container:
a dead backend worker, a dead TorchServe (PID 1), a replaced container, a missing or corrupt archive."""
import hashlib
import json
import os
import signal
import time

import pytest
import requests

from tests.conftest import running_dev_server
from tests.engine import exec_json, realize_container
from tests.expected import SAMPLE
from tests.mocks import ROOT, only

pytestmark = pytest.mark.docker
KEY_FILE = "/run/torchserve/key_file.json"
# Kills TorchServe's Python backend workers (not itself: its own command line names them too).
KILL_WORKERS = ("import os, signal\n"
                "for p in filter(str.isdigit, os.listdir('/proc')):\n"
                "    if int(p) == os.getpid():\n"
                "        continue\n"
                "    try:\n"
                "        if b'model_service_worker' in open(f'/proc/{p}/cmdline', 'rb').read():\n"
                "            os.kill(int(p), signal.SIGKILL); print(p)\n"
                "    except OSError:\n"
                "        pass\n")


@pytest.fixture(scope="module")
def inputs(dev_resources):
    return only(dev_resources, "docker:index/container:Container").inputs


def record(name, **values):
    """Figures for docs/reliability.md: .build/reliability/faults.json, one entry per fault."""
    path = ROOT / ".build/reliability/faults.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.loads(path.read_text()) if path.exists() else {}
    data[name] = values
    path.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")


def predict(container):
    keys = exec_json(container, "cat", KEY_FILE)
    return requests.post("http://127.0.0.1:8080/predictions/demo", json=SAMPLE, timeout=30,
                         headers={"Authorization": f"Bearer {keys['inference']['key']}"})


def healthcheck(container):
    code, out = container.exec_run(["/usr/local/bin/ts-healthcheck", "demo"])
    return code, out.decode()


# GET /healthz inside the container (8090): "<status> <body>".
HEALTH_PROBE = """
import urllib.request, urllib.error
try:
    r = urllib.request.urlopen("http://127.0.0.1:8090/healthz", timeout=5); print(r.status, r.read().decode())
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode())
"""


def wait_for(condition, timeout_s, what, diagnose=lambda: ""):
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.5)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}\n{diagnose()}")


def diagnosis(container):
    def text():
        container.reload()
        health = container.attrs["State"].get("Health", {}).get("Log") or []
        return (f"state: {container.attrs['State']['Status']}, restarts: {container.attrs['RestartCount']}\n"
                f"health: {[h['Output'] for h in health][-3:]}\nlogs: "
                + container.logs(tail=30).decode(errors="replace"))
    return text


def test_killed_worker_is_reported_then_recovers(engine, inputs, production_image, dev_store):
    with running_dev_server(engine.client, inputs, production_image["id"]) as c:
        assert predict(c).status_code == 200
        killed = c.exec_run(["python", "-c", KILL_WORKERS]).output.decode().split()
        assert killed, "no backend worker process found to kill"
        started = time.time()
        # The token-free endpoint a load balancer probes answers 503 (a status it acts on) while workers are down.
        health = wait_for(lambda: (lambda h: h if h.startswith("503 ") else None)(
            c.exec_run(["python", "-c", HEALTH_PROBE]).output.decode()), 20, "503 from /healthz")
        assert "model demo: 0/1 workers READY" in health, health
        report = wait_for(lambda: (lambda r: r if r[0] != 0 else None)(healthcheck(c)), 20, "an unhealthy report")
        assert "model demo: 0/1 workers READY" in report[1], report
        wait_for(lambda: healthcheck(c)[0] == 0, 90, "the worker to come back READY")
        recovered = time.time() - started
        assert predict(c).status_code == 200
        record("worker killed", unhealthy_report=report[1].strip(), ready_again_after_s=round(recovered, 1))
        c.reload()
        assert c.attrs["State"]["Health"]["Status"] == "healthy"
        logs = c.logs().decode(errors="replace")
        assert "Worker disconnected" in logs or "WORKER_STOPPED" in logs or "Backend worker" in logs


def test_dead_torchserve_exits_the_container_and_restart_policy_revives_it(engine, inputs, production_image,
                                                                            dev_store):
    with running_dev_server(engine.client, inputs, production_image["id"]) as c:
        c.reload()
        java_pid, restarts = c.attrs["State"]["Pid"], c.attrs["RestartCount"]
        os.kill(java_pid, signal.SIGKILL)  # from the host, as the OOM killer would: not a `docker stop`
        started = time.time()
        wait_for(lambda: (c.reload(), c.attrs["RestartCount"] > restarts)[1], 60, "a restart")
        c.reload()
        assert c.attrs["State"]["Pid"] != java_pid
        wait_for(lambda: (c.reload(), c.attrs["State"].get("Health", {}).get("Status") == "healthy")[1], 180,
                 "healthy after the restart")
        assert predict(c).status_code == 200
        record("TorchServe (PID 1) killed", restarts=c.attrs["RestartCount"] - restarts,
               healthy_again_after_s=round(time.time() - started, 1))


def test_replaced_container_finds_the_model_store_intact(engine, inputs, production_image, dev_store):
    digest = hashlib.sha256((dev_store / "demo.mar").read_bytes()).hexdigest()
    with running_dev_server(engine.client, inputs, production_image["id"]) as first:
        first_answer = predict(first).json()
    assert hashlib.sha256((dev_store / "demo.mar").read_bytes()).hexdigest() == digest
    with running_dev_server(engine.client, inputs, production_image["id"]) as second:
        assert predict(second).json() == first_answer
    record("container replaced", store_sha256_unchanged=True, same_prediction=True)


@pytest.mark.parametrize("archive,health,log", [
    (None, "model demo: not registered (missing or corrupt .mar? see the container log)", "demo.mar"),
    # TorchServe registers an archive it cannot unzip, then its workers fail to load it, again and again.
    (b"this is not a zip file", "model demo: 0/1 workers READY", "Load model failed: demo"),
], ids=["missing", "corrupt"])
def test_missing_or_corrupt_archive_is_reported_not_hung(engine, inputs, production_image, tmp_path, archive,
                                                         health, log):
    store = tmp_path / "store"
    store.mkdir()
    if archive is not None:
        (store / "demo.mar").write_bytes(archive)
    broken = {**inputs, "mounts": [{**m, "source": str(store)} if m["target"].endswith("/model-store") else m
                                   for m in inputs["mounts"]]}  # test override: the store
    c = realize_container(engine.client, broken, production_image["id"])
    try:
        def reported():
            c.reload()
            entries = c.attrs["State"].get("Health", {}).get("Log") or []
            return [entry["Output"] for entry in entries if health in entry["Output"]]
        message = wait_for(reported, 60, "a health report about the archive", diagnosis(c))[0]
        assert message.startswith("unhealthy: ") and "see the container log" in message
        logs = c.logs().decode(errors="replace")
        assert log in logs, logs[-2000:]
        c.reload()
        assert c.attrs["State"]["Status"] == "running"  # answers (unhealthy), does not hang or crash-loop
        record(f"archive {'missing' if archive is None else 'corrupt'}", health_output=message.strip(),
               restarts=c.attrs["RestartCount"])
    finally:
        c.remove(force=True)
