"""The fleet stack's ECS task, run for real on the local Docker engine.

The task's containerDefinitions are rendered from the fleet stack's plan (offline) and translated field by
field by tests/ecs_local.py: the model-sync init container fills the task volume from a stand-in bucket (a
directory holding the trained demo.mar), then the server starts after it succeeded, with the declared shm,
ulimits, user, read-only root, tmpfs and health check. The edge is emulated from the stack as evaluated under
mocks: a loopback proxy forwards to the task only what the listener rules' Authorization conditions accept,
and answers everything else with the HTTPS listener's fixed response (TorchServe's own token auth is off
behind the edge). Then a rollout of a broken archive: the task never turns healthy, which is what trips the
service's deployment circuit breaker.

Test overrides are those of tests/engine.py (base image, wheelhouse) and those ecs_local prints.
"""
from __future__ import annotations

import contextlib
import http.client
import http.server
import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import docker.errors
import pytest
import requests
from torchserve_deploy.aws.fleet import SERVER

from infra.deliver.fleet import container_definitions
from infra.offline import stack_settings
from infra.plan import make_plan
from tests.ecs_local import GPU_NOTE, PUBLISH_ADDRESS, run_task
from tests.engine import TEST_BUILD_OVERRIDES, build_declared_image, wait_healthy
from tests.expected import SAMPLE, assert_demo_answer
from tests.loopback import serving
from tests.mocks import evaluate_program, named, unsecret
from tests.realized import from_task_definition, problems

pytestmark = pytest.mark.docker
SYNC = "model-sync"
CONTEXT = "../components/torchserve_deploy/image/docker"  # from the provider's directory, infra/
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"}
BROKEN_HANDLER = '''"""A handler that fails on load, as a broken release would."""


class BrokenHandler:
    def initialize(self, context):
        raise RuntimeError("fleet-test: this handler fails on load")

    def handle(self, data, context):
        return data
'''


@pytest.fixture(scope="module")
def plan():
    return make_plan(stack_settings("fleet"))


@pytest.fixture(scope="module")
def definitions(plan):
    return json.loads(container_definitions(plan, "server-image", "sync-image", "bucket", "models/"))


@pytest.fixture(scope="module")
def sync_image(engine, plan, production_image):
    """The fleet's model-sync image, built from inputs shaped like a captured docker:index/image:Image."""
    declared = plan.fleet.sync_image
    inputs = {"imageName": f"fleet-test/{plan.fleet.sync.image}",
              "build": {"context": CONTEXT, "target": "model-sync", "platform": declared.platform,
                        "args": declared.build_args()}}
    print(f"model-sync build args {declared.build_args()} with {TEST_BUILD_OVERRIDES}")
    client = engine.client
    before = {i.id for i in client.images.list(all=True)}
    image_id, log = build_declared_image(client, inputs)
    # model-sync is the Dockerfile's first stage, so the classic builder builds it alone, with none of the
    # server's build args (a regression would fail here: no torch version, no torch wheels). Its intermediate
    # images go with it.
    built = {i.id: i.attrs.get("Parent", "") for i in client.images.list(all=True) if i.id not in before}
    steps = [line for line in log if line.startswith("Step ")]
    print(f"model-sync build: {len(steps)} steps, {len(built)} new images")
    assert not [line for line in steps if " AS " in line and "model-sync" not in line], steps
    yield image_id
    client.images.remove(image_id, force=True)
    while built:  # children first
        parents = set(built.values())
        for image in [i for i in built if i not in parents] or list(built):
            with contextlib.suppress(docker.errors.NotFound):
                client.images.remove(image, force=True)
            del built[image]


@pytest.fixture(scope="module")
def images(production_image, sync_image):
    # The serving image: the dev stack's declared production image (same Dockerfile and target; CPU here).
    return {SYNC: sync_image, SERVER: production_image["id"]}


@dataclass(frozen=True)
class EdgeRules:
    rules: list[list[dict]]
    """Each forwarding rule's httpHeader conditions."""
    denied: dict
    """The HTTPS listener's default fixed response."""
    key: str
    target_port: int
    health: dict
    breaker: dict


@pytest.fixture(scope="module")
def edge():
    """The fleet stack's edge as evaluated under mocks: listener rules, default action, key, target group."""
    resources = evaluate_program("fleet")
    rules = [r for r in resources if r.typ == "aws:lb/listenerRule:ListenerRule"]
    assert len(rules) == 2 and all(r.inputs["actions"][0]["type"] == "forward" for r in rules)
    https = [r.inputs for r in resources if r.typ == "aws:lb/listener:Listener" and r.inputs["protocol"] == "HTTPS"]
    (default,) = https[0]["defaultActions"]
    assert default["type"] == "fixed-response"
    (tg,) = [r.inputs for r in resources if r.typ == "aws:lb/targetGroup:TargetGroup"]
    (service,) = [r.inputs for r in resources if r.typ == "aws:ecs/service:Service"]
    return EdgeRules(
        rules=[[c["httpHeader"] for c in unsecret(r.inputs["conditions"])] for r in rules],
        denied=default["fixedResponse"],
        key=json.loads(unsecret(named(resources, "inference-key-value").inputs["secretString"]))["key"],
        target_port=int(tg["port"]), health=tg["healthCheck"], breaker=service["deploymentCircuitBreaker"])


def _alb_match(pattern: str, value: str) -> bool:
    """An ALB http-header value match: case-insensitive, `*` any run of characters, `?` exactly one."""
    regex = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None


def _rule_matches(conditions: list[dict], headers) -> bool:
    return all(any(_alb_match(p, v) for v in headers.get_all(c["httpHeaderName"]) or [] for p in c["values"])
               for c in conditions)


@contextlib.contextmanager
def edge_proxy(edge: EdgeRules, upstream_port: int):
    """Plain HTTP on loopback in place of the HTTPS listener: forward what a rule accepts, else the fixed response."""

    class Edge(http.server.BaseHTTPRequestHandler):
        def _handle(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if any(_rule_matches(rule, self.headers) for rule in edge.rules):
                conn = http.client.HTTPConnection("127.0.0.1", upstream_port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers={
                        k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP})
                    resp = conn.getresponse()
                    status, ctype, payload = resp.status, resp.getheader("Content-Type", ""), resp.read()
                finally:
                    conn.close()
            else:
                status, ctype = int(edge.denied["statusCode"]), edge.denied["contentType"]
                payload = edge.denied.get("messageBody", "").encode()
            self.send_response(status)
            if ctype:
                self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = _handle

        def log_message(self, format, *args):
            pass

    with serving(Edge) as url:
        yield url


def _bucket(tmp_path_factory) -> Path:
    bucket = tmp_path_factory.mktemp("fleet-bucket")
    bucket.chmod(0o755)  # the init container reads it as uid 1000
    return bucket


def _exec(container, *cmd) -> tuple[int, str]:
    code, out = container.exec_run(list(cmd))
    return code, out.decode(errors="replace")


def _health_report(container) -> tuple[list[str], str]:
    container.reload()
    test = container.attrs["Config"]["Healthcheck"]["Test"]
    log = container.attrs["State"].get("Health", {}).get("Log") or [{}]
    return test, log[-1].get("Output", "").strip()


@pytest.fixture(scope="class")
def task(engine, definitions, images, dev_store, tmp_path_factory):
    """The task with the trained demo.mar in the stand-in bucket, healthy; removed after TestTask."""
    bucket = _bucket(tmp_path_factory)
    shutil.copyfile(dev_store / "demo.mar", bucket / "demo.mar")
    (bucket / "demo.mar").chmod(0o644)
    started = time.time()
    with run_task(engine.client, definitions, images, bucket_dir=bucket) as t:
        took = wait_healthy(t.containers[SERVER])
        print(f"task healthy {time.time() - started:.1f}s after start (server: {took:.1f}s after its start)")
        yield t


class TestTask:
    def test_init_container_filled_the_volume_from_the_bucket(self, task):
        sync = task.containers[SYNC]
        sync.reload()
        assert sync.attrs["State"]["Status"] == "exited" and sync.attrs["State"]["ExitCode"] == 0
        assert "ts-model-sync: demo.mar" in sync.logs().decode(errors="replace")
        assert any(n.startswith(f"{SYNC}: source s3://bucket/models/ → /bucket") for n in task.notes), task.notes

    def test_server_is_healthy_with_the_declared_runtime(self, task):
        server = task.containers[SERVER]
        server.reload()
        assert server.attrs["State"]["Health"]["Status"] == "healthy"
        assert f"{SERVER}: {GPU_NOTE} (resourceRequirements GPU=1)" in task.notes
        code, shm = _exec(server, "python", "-c",
                          "import os; s = os.statvfs('/dev/shm'); print(s.f_blocks * s.f_frsize)")
        assert code == 0 and int(shm) == 1024 * 1024 * 1024
        limits = _exec(server, "cat", "/proc/1/limits")[1]
        stack = [line for line in limits.splitlines() if line.startswith("Max stack size")][0].split()
        assert stack[3:5] == ["67108864", "67108864"], stack
        status = _exec(server, "cat", "/proc/1/status")[1]
        uid = [line for line in status.splitlines() if line.startswith("Uid:")][0].split()[1:]
        assert set(uid) == {"1000"}, uid
        code, out = _exec(server, "touch", "/home/model-server/written")
        assert code != 0 and "Read-only file system" in out, out

    def test_declared_is_realized(self, task, definitions):
        """Each task container's declared tmpfs, mounts, ports, capabilities, read-only root and user, against
        docker inspect and the container's own view (the server's; the init container has exited)."""
        d = [c for c in definitions if c["name"] == SERVER][0]
        ports = {port: PUBLISH_ADDRESS for (name, port) in task.ports if name == SERVER}
        declared = from_task_definition(d, ports)
        assert declared.tmpfs and declared.read_only_root
        assert problems(task.containers[SERVER], declared) == []

    def test_health_endpoint_published_and_management_not(self, task, edge):
        port = int(edge.health["port"])
        r = requests.get(task.url(SERVER, port, edge.health["path"]), timeout=10)
        assert str(r.status_code) == edge.health["matcher"], r.text
        assert r.json() == {"status": "healthy", "problems": []}
        published = task.containers[SERVER].attrs["NetworkSettings"]["Ports"]
        for internal in (8081, 7071):
            assert (SERVER, internal) not in task.ports
            assert not published.get(f"{internal}/tcp"), published

    def test_prediction_only_with_the_key_through_the_edge(self, task, edge, trained):
        with edge_proxy(edge, task.ports[(SERVER, edge.target_port)]) as url:
            predict = f"{url}/predictions/demo"
            ok = requests.post(predict, json=SAMPLE, headers={"Authorization": f"Bearer {edge.key}"}, timeout=60)
            assert ok.status_code == 200, ok.text
            assert_demo_answer(ok.json(), weights=trained["checkpoint"])  # the trained checkpoint's answer
            for headers in ({}, {"Authorization": f"Bearer {edge.key}x"}, {"Authorization": edge.key}):
                refused = requests.post(predict, json=SAMPLE, headers=headers, timeout=30)
                assert refused.status_code == 401, (headers, refused.text)
                assert refused.text == edge.denied["messageBody"]
        # Behind the edge TorchServe checks no key of its own: only the edge's security group reaches this port.
        direct = requests.post(task.url(SERVER, edge.target_port, "/predictions/demo"), json=SAMPLE, timeout=60)
        assert direct.status_code == 200, direct.text


def test_broken_archive_never_turns_healthy(engine, definitions, images, edge, tmp_path_factory):
    """A release whose handler raises on load: the server never turns healthy, /healthz answers 503; ECS
    replaces such tasks and the deployment circuit breaker rolls the service back."""
    bucket = _bucket(tmp_path_factory)
    handler = tmp_path_factory.mktemp("broken-handler") / "broken_handler.py"
    handler.write_text(BROKEN_HANDLER)
    archiver = Path(sys.executable).parent / "torch-model-archiver"
    subprocess.run([str(archiver), "--model-name", "demo", "--version", "1.0", "--handler", str(handler),
                    "--export-path", str(bucket), "--force"], check=True)
    (bucket / "demo.mar").chmod(0o644)
    hc = next(d for d in definitions if d["name"] == SERVER)["healthCheck"]
    budget = hc["startPeriod"] + hc["interval"] * hc["retries"] + 3 * hc["interval"]
    with run_task(engine.client, definitions, images, bucket_dir=bucket) as task:
        sync, server = task.containers[SYNC], task.containers[SERVER]
        assert "ts-model-sync: demo.mar" in sync.logs().decode(errors="replace")
        started, health = time.time(), None
        while time.time() - started < budget:
            server.reload()
            health = server.attrs["State"].get("Health", {}).get("Status")
            assert health != "healthy", "the broken archive's server turned healthy"
            if health == "unhealthy":
                break
            time.sleep(1)
        unhealthy_after = time.time() - started
        assert health == "unhealthy", f"still {health} after {budget}s"
        r = requests.get(task.url(SERVER, int(edge.health["port"]), edge.health["path"]), timeout=10)
        assert r.status_code == 503, r.text
        assert any(marker in r.text for marker in ("0/", "not registered", "workers READY")), r.text
        test, last = _health_report(server)
        assert test == hc["command"]
        print(f"broken archive: unhealthy after {unhealthy_after:.1f}s (startPeriod {hc['startPeriod']}s + "
              f"{hc['retries']} × {hc['interval']}s); health check {test}\n  last output: {last}\n"
              f"  /healthz (target group {edge.health['path']}:{edge.health['port']}): {r.status_code} {r.text}\n"
              f"  on ECS the essential container is UNHEALTHY: the task is replaced, and the deployment circuit "
              f"breaker {edge.breaker} rolls the service back")
        assert last.startswith("unhealthy: ") and "model demo" in last, last
