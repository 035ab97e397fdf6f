"""The CPU serving knobs make tune sweeps, on the real engine (issue 15): the dev stack declared with
`cpuLauncher: true` and `models.demo: {workers: 2, torchThreads: 2}`, served by the dev image. TorchServe's CPU
launcher must find what it needs in the hardened image (python, hostname, lscpu, taskset), pin each worker to
its own cores with OMP_NUM_THREADS = its share (1 of 2 cores), and the image's worker hook must set the declared
torch threads over that (2: the stack's value wins over the launcher's); the model still answers."""
import time

import pytest
import requests

from tests.conftest import running_dev_server
from tests.engine import exec_json
from tests.expected import SAMPLE, assert_demo_answer
from tests.logs import parse_log_lines
from tests.mocks import evaluate_program, only

pytestmark = pytest.mark.docker
CONFIG = "/home/model-server/config.properties"
SETTINGS = {"cpuLauncher": True, "models": {"demo": {"path": "models/demo", "workers": 2, "torchThreads": 2}}}
# Each backend worker (not the launcher that starts it): pid, affinity, OMP_NUM_THREADS.
WORKERS = """
import json, os
out = []
for p in filter(str.isdigit, os.listdir("/proc")):
    try:
        argv = open(f"/proc/{p}/cmdline", "rb").read().split(b"\\0")
        env = dict(e.split(b"=", 1) for e in open(f"/proc/{p}/environ", "rb").read().split(b"\\0") if b"=" in e)
    except OSError:
        continue
    if any(a.endswith(b"ts/model_service_worker.py") for a in argv) and b"torch.backends.xeon.run_cpu" not in argv:
        out.append({"pid": int(p), "cpus": sorted(os.sched_getaffinity(int(p))),
                    "omp": env.get(b"OMP_NUM_THREADS", b"").decode()})
print(json.dumps({"all": sorted(os.sched_getaffinity(1)), "workers": out}))
"""


@pytest.fixture(scope="module")
def launched(engine, production_image, trained, dev_store, tmp_path_factory):
    resources = evaluate_program("dev", SETTINGS)
    inputs = only(resources, "docker:index/container:Container").inputs
    written = [r for r in resources if r.typ == "command:local:Command" and "cpu_launcher_enable=true"
               in r.inputs.get("stdin", "")]
    assert len(written) == 1, "the declared config.properties with the CPU launcher was not found"
    config = tmp_path_factory.mktemp("cpu") / "config.properties"
    config.write_text(written[0].inputs["stdin"])  # not the dev stack's own files: other tests mount those
    config.chmod(0o644)
    inputs = {**inputs, "mounts": [{**m, "source": str(config)} if m["target"] == CONFIG else m
                                   for m in inputs["mounts"]]}
    with running_dev_server(engine.client, inputs, production_image["id"]) as container:
        yield {"container": container, "inputs": inputs, "weights": trained["checkpoint"]}


def test_the_launcher_pins_each_worker_to_its_own_cores(launched):
    c = launched["container"]
    seen = exec_json(c, "python", "-c", WORKERS)
    assert len(seen["all"]) >= 2, f"this test needs a machine with 2 or more CPUs for 2 workers (has {seen['all']})"
    workers = seen["workers"]
    assert len(workers) == 2, (seen, c.logs(tail=40).decode(errors="replace"))
    first, second = (set(w["cpus"]) for w in workers)
    assert first and second and not first & second, seen  # disjoint shares
    assert first | second <= set(seen["all"]), seen
    # The launcher sets OMP_NUM_THREADS to each worker's share.
    assert [w["omp"] for w in workers] == [str(len(w["cpus"])) for w in workers], seen


def test_the_declared_torch_threads_are_set_and_the_model_answers(launched):
    c = launched["container"]
    keys = exec_json(c, "cat", "/run/torchserve/key_file.json")
    port = [p for p in launched["inputs"]["ports"] if p["internal"] == 8080][0]
    r = requests.post(f"http://{port['ip']}:{int(port['external'])}/predictions/demo", json=SAMPLE, timeout=30,
                      headers={"Authorization": f"Bearer {keys['inference']['key']}"})
    assert r.status_code == 200, r.text
    assert_demo_answer(r.json(), weights=launched["weights"])
    deadline = time.time() + 20
    while True:
        records = parse_log_lines(c.logs().decode(errors="replace").splitlines())
        # torch.get_num_threads() after the hook set it, in a worker whose OMP_NUM_THREADS the launcher set to 1
        set_lines = [x for x in records if x.get("message") == "torch threads for model demo: 2"]
        if len(set_lines) >= 2 or time.time() > deadline:
            break
        time.sleep(0.5)
    assert len(set_lines) == 2, [x.get("message") for x in records][-30:]  # once per worker
