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
CONNECTIONS = 32  # many connections, each paced at a few ms: wrk's delay() has millisecond resolution
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
        # Pace each connection to one request every CONNECTIONS / target seconds: the delay before a request
        # plus its latency. Latency depends on the load, so calibrate with short probes.
        cycle = CONNECTIONS / target * 1000
        delay = cycle
        for _ in range(3):
            probe = run_wrk(URL, body=SAMPLE, key=key, connections=CONNECTIONS, seconds=8, delay_ms=delay)
            latency = CONNECTIONS / probe["rps"] * 1000 - delay
            delay = max(1.0, cycle - latency)
        before = memory_mb(c)
        soak = run_wrk(URL, body=SAMPLE, key=key, connections=CONNECTIONS, seconds=SOAK_SECONDS, delay_ms=delay)
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
        assert 0.7 <= record["load_ratio"] <= 0.9, record  # the load really was about 80 %
        assert record["restarts"] == 0 and record["health"] == "healthy", record
