"""Sustained load on the real container: several minutes at about 80 % of its measured capacity on
loopback, zero errors, memory before and after recorded (.build/reliability/soak.json)."""
import json
import os

import pytest

from bench.wrk import run_wrk
from tests.conftest import running_dev_server
from tests.engine import exec_json
from tests.expected import SAMPLE
from tests.mocks import ROOT, only

pytestmark = pytest.mark.docker
SOAK_SECONDS = int(os.environ.get("TORCHSERVE_DEPLOY_SOAK_SECONDS", "180"))
CONNECTIONS = 32  # enough idle connections that every paced slot finds one, even when a response is slow
URL = "http://127.0.0.1:8080/predictions/demo"


def memory_mb(container):
    stats = container.stats(stream=False)["memory_stats"]
    return round(stats["usage"] / 2**20, 1)


def test_sustained_load_at_80_percent_without_errors(engine, dev_resources, production_image, dev_store):
    inputs = only(dev_resources, "docker:index/container:Container").inputs
    with running_dev_server(engine.client, inputs, production_image["id"]) as c:
        key = exec_json(c, "cat", "/run/torchserve/key_file.json")["inference"]["key"]
        run_wrk(URL, body=SAMPLE, key=key, connections=CONNECTIONS, seconds=5)  # warm-up
        capacity = run_wrk(URL, body=SAMPLE, key=key, connections=16, seconds=15)
        target = 0.8 * capacity["rps"]
        # Paced on an absolute schedule (bench/wrk.py PACE): the rate is the target whatever the latency, so
        # a shortfall is the server's. (Calibrating wrk's per-request delay() from probes drifted: one CI run
        # soaked at 0.909 of capacity when it meant 0.8.)
        before = memory_mb(c)
        soak = run_wrk(URL, body=SAMPLE, key=key, connections=CONNECTIONS, seconds=SOAK_SECONDS, rate_rps=target)
        after = memory_mb(c)
        c.reload()
        record = {"capacity_rps": round(capacity["rps"], 1), "target_rps": round(target, 1),
                  "soak_seconds": SOAK_SECONDS, "soak_rps": round(soak["rps"], 1),
                  "load_ratio": round(soak["rps"] / capacity["rps"], 3), "requests": soak["requests"],
                  "non2xx": soak["non2xx"], "socket_errors": soak["socket_errors"], "p50_ms": soak["p50_ms"],
                  "p99_ms": soak["p99_ms"], "memory_before_mb": before, "memory_after_mb": after,
                  "restarts": c.attrs["RestartCount"], "health": c.attrs["State"]["Health"]["Status"]}
        out = ROOT / ".build/reliability"
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak.json").write_text(json.dumps(record, indent=2) + "\n")
        print("soak:", json.dumps(record))
        assert soak["non2xx"] == 0 and soak["socket_errors"] == 0, record
        # The load really was about 80 %: above 0.82 the pacing is wrong; below 0.75 the server fell behind.
        assert 0.75 <= record["load_ratio"] <= 0.82, record
        assert record["restarts"] == 0 and record["health"] == "healthy", record
