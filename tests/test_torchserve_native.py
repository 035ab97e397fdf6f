"""Native TorchServe (Java 17) with the generated config.properties and the component's archive command.

Proves what mocks cannot: the config the stack renders serves the demo model with token auth on,
the model API off, and management reachable on loopback only.
"""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from torchserve_deploy.model.archive import ModelArchiveArgs, archive_command
from torchserve_deploy.serve.config_properties import ModelServing, ServerPorts, render_config_properties

from infra.settings import load_settings
from tests.expected import SAMPLE, assert_demo_answer
from tests.mocks import ROOT

pytestmark = pytest.mark.torchserve
PORTS = ServerPorts(inference=18080, management=18081, metrics=18082, grpc_inference=17070, grpc_management=17071)
BIN = Path(sys.executable).parent
IMAGE_DIR = ROOT / "components/torchserve_deploy/image/docker"
HEALTHCHECK = IMAGE_DIR / "ts-healthcheck.py"


def non_loopback_ipv4() -> str:
    out = subprocess.run(["hostname", "-I"], capture_output=True, text=True).stdout.split()
    addrs = [a for a in out if "." in a and not a.startswith("127.")]
    assert addrs, "no non-loopback IPv4 address on this machine: cannot prove management is loopback-only"
    return addrs[0]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    assert java.returncode == 0, "java is missing: apt-get install openjdk-17-jre-headless"
    work = tmp_path_factory.mktemp("ts")
    store, run = work / "model-store", work / "run"
    store.mkdir()
    run.mkdir()
    settings = load_settings({}, stack="dev", root=ROOT)
    demo = settings.models[0].source
    argv = archive_command(ModelArchiveArgs(source=demo, export_dir=store, project_root=ROOT,
                                            archiver=str(BIN / "torch-model-archiver")))
    subprocess.run(argv, cwd=ROOT, check=True)
    serving = (ModelServing(demo.name, demo.version, batch_size=settings.models[0].batch_size,
                            max_batch_delay_ms=settings.models[0].max_batch_delay_ms),)
    config = run / "config.properties"
    config.write_text(render_config_properties(serving, bind_host="127.0.0.1", ports=PORTS, model_store=str(store)))
    # Logging as in the image: its log4j2.xml, and its worker hook (the image loads it by ts-observe.pth in
    # site-packages; here by sitecustomize on PYTHONPATH, which the worker inherits).
    hook = work / "hook"
    hook.mkdir()
    (hook / "sitecustomize.py").write_text(f"import sys\nsys.path.append({str(IMAGE_DIR)!r})\n"
                                           + (IMAGE_DIR / "ts-observe.pth").read_text())
    log = open(run / "ts.log", "w")
    proc = subprocess.Popen([str(BIN / "torchserve"), "--start", "--foreground", "--ts-config", str(config),
                             "--model-store", str(store), "--ncs", "--log-config", str(IMAGE_DIR / "log4j2.xml")],
                            cwd=run, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                            env={**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", "PYTHONPATH": str(hook)})
    keys = run / "key_file.json"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            assert proc.poll() is None, "TorchServe exited early:\n" + (run / "ts.log").read_text()[-3000:]
            if keys.exists():
                try:  # TorchServe writes the file in place: a read may catch it half written
                    k = json.loads(keys.read_text())
                except ValueError:
                    time.sleep(0.5)
                    continue
                try:
                    r = requests.get(f"http://127.0.0.1:{PORTS.management}/models/demo",
                                     headers={"Authorization": f"Bearer {k['management']['key']}"}, timeout=2)
                    if r.ok and all(w["status"] == "READY" for w in r.json()[0]["workers"]) and r.json()[0]["workers"]:
                        break
                except requests.RequestException:
                    pass
            time.sleep(1)
        else:
            pytest.fail("demo model never READY:\n" + (run / "ts.log").read_text()[-3000:])
        yield {"keys": json.loads(keys.read_text()), "run": run}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=60)
        log.close()


def bearer(key):
    return {"Authorization": f"Bearer {key}"}


def test_ping_with_inference_token(server):
    r = requests.get(f"http://127.0.0.1:{PORTS.inference}/ping", headers=bearer(server["keys"]["inference"]["key"]))
    assert r.status_code == 200 and r.json()["status"] == "Healthy"


def test_prediction_has_expected_value(server):
    r = requests.post(f"http://127.0.0.1:{PORTS.inference}/predictions/demo", json=SAMPLE,
                      headers=bearer(server["keys"]["inference"]["key"]), timeout=30)
    assert r.status_code == 200, r.text
    assert_demo_answer(r.json())


def test_requests_without_token_are_refused(server):
    assert requests.post(f"http://127.0.0.1:{PORTS.inference}/predictions/demo", json=SAMPLE).status_code == 400
    assert requests.get(f"http://127.0.0.1:{PORTS.inference}/ping").status_code == 400
    assert requests.get(f"http://127.0.0.1:{PORTS.management}/models").status_code == 400
    wrong = bearer(server["keys"]["inference"]["key"])  # an inference key is not a management key
    assert requests.get(f"http://127.0.0.1:{PORTS.management}/models", headers=wrong).status_code == 400


def test_model_api_is_refused(server):
    r = requests.post(f"http://127.0.0.1:{PORTS.management}/models?url=demo.mar",
                      headers=bearer(server["keys"]["management"]["key"]))
    assert r.status_code == 405, r.text


def test_management_not_reachable_beyond_loopback(server):
    address = non_loopback_ipv4()
    for port in (PORTS.management, PORTS.grpc_management):
        with socket.socket() as s:
            s.settimeout(2)
            assert s.connect_ex((address, port)) != 0, f"{address}:{port} accepted a connection"
    with socket.socket() as s:  # and it is listening on loopback, so the refusal above means something
        assert s.connect_ex(("127.0.0.1", PORTS.management)) == 0


def test_metrics_are_prometheus_without_token(server):
    r = requests.get(f"http://127.0.0.1:{PORTS.metrics}/metrics", timeout=5)
    assert r.status_code == 200 and "# TYPE" in r.text


def run_healthcheck(server, *models):
    env = {**os.environ, "TS_HEALTH_MANAGEMENT_URL": f"http://127.0.0.1:{PORTS.management}",
           "TS_KEY_FILE": str(server["run"] / "key_file.json")}
    return subprocess.run([sys.executable, str(HEALTHCHECK), *models], env=env, capture_output=True, text=True)


def test_image_healthcheck_script_against_real_server(server):
    ok = run_healthcheck(server, "demo")
    assert ok.returncode == 0 and ok.stdout.startswith("healthy"), ok.stdout
    assert run_healthcheck(server).returncode == 0
    missing = run_healthcheck(server, "demo", "absent")
    assert missing.returncode == 1 and "model absent: not registered" in missing.stdout


def test_healthcheck_renews_an_expired_management_key(server):
    """Runs last: after 60 minutes the management key expires; the healthcheck must not go unhealthy."""
    key_file = server["run"] / "key_file.json"
    keys = json.loads(key_file.read_text())
    old = keys["management"]["key"]
    keys["management"]["expiration time"] = "2000-01-01T00:00:00.000000000Z"
    key_file.write_text(json.dumps(keys))
    result = run_healthcheck(server, "demo")
    assert result.returncode == 0, result.stdout
    renewed = json.loads(key_file.read_text())
    assert renewed["management"]["key"] != old
    assert renewed["inference"]["key"] == server["keys"]["inference"]["key"]  # clients' key untouched


def test_logs_are_json_lines_with_access_records(server):
    """Every line after the JVM's plain start-up banners is a JSON object; a prediction leaves the frontend's
    access line (status, latency, model) and the worker's access record under the response's x-request-id."""
    key = server["keys"]["inference"]["key"]
    r = requests.post(f"http://127.0.0.1:{PORTS.inference}/predictions/demo", json=SAMPLE, headers=bearer(key),
                      timeout=30)
    assert r.status_code == 200, r.text
    rid = r.headers["x-request-id"]
    # A request line a client controls, with a raw quote, backslash and percent: still one valid JSON line.
    with socket.create_connection(("127.0.0.1", PORTS.inference), timeout=5) as s:
        s.sendall(b'GET /predictions/x%22y"z\\q\\"},{"status":200} HTTP/1.1\r\nHost: x\r\n\r\n')
        assert s.recv(64).startswith(b"HTTP/1.1 4")
    records = wait_for_log_records(server["run"] / "ts.log", rid)
    access = [x for x in records if x.get("logger") == "ts.access" and x.get("request_id") == rid]
    assert len(access) == 1, records[-20:]
    a = access[0]
    assert (a["model"], a["version"], a["status"], a["batch_size"]) == ("demo", "1.0", 200, 1), a
    assert 0 < a["latency_ms"] < r.elapsed.total_seconds() * 1000 + 1, a
    front = [x for x in records if x.get("logger") == "ACCESS_LOG" and x.get("status") == 200]
    assert front and front[-1]["model"] == "demo" and front[-1]["method"] == "POST"
    assert isinstance(front[-1]["latency_ms"], int)


def wait_for_log_records(path, request_id, timeout=20.0):
    from tests.logs import parse_log_lines

    deadline = time.time() + timeout
    while True:
        records = parse_log_lines(path.read_text().splitlines())
        if any(x.get("request_id") == request_id for x in records) or time.time() > deadline:
            return records
        time.sleep(0.5)
