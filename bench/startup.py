"""Container start to READY, measured by polling rather than by Docker's health status (which changes only
once per healthcheck interval), and broken down by the timestamps of TorchServe's own log lines."""
from __future__ import annotations

import datetime as dt
import re
import time
import urllib.error
import urllib.request

HEALTH_URL = "http://127.0.0.1:8090/healthz"  # the image's token-free, worker-aware endpoint (TS_HEALTH_PORT)
POLL_S = 0.05

# Phase ends, in order: the first log line matching each marks the end of that phase.
PHASES = (
    ("jvm start + entrypoint", re.compile(r"Torchserve version")),
    ("frontend init (config, ports)", re.compile(r"Model server started")),
    ("worker: python start + imports", re.compile(r"Listening on addr:port|Torch worker started")),
    ("model load", re.compile(r"WORKER_MODEL_LOADED|Backend response time")),
)


def _parse(stamp: str) -> float:
    # Docker: 2026-11-22T07:31:02.123456789Z (nanoseconds; Python keeps microseconds).
    head, _, frac = stamp.rstrip("Z").partition(".")
    when = dt.datetime.fromisoformat(head + "." + (frac + "000000")[:6]).replace(tzinfo=dt.UTC)
    return when.timestamp()


def wait_ready(container, timeout_s: float = 300) -> float:
    """Seconds from the container's start (Docker's StartedAt) to the first 200 from /healthz."""
    container.reload()
    started = _parse(container.attrs["State"]["StartedAt"])
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(HEALTH_URL, timeout=1) as resp:
                if resp.status == 200:
                    return time.time() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(POLL_S)
    container.reload()
    raise AssertionError(f"not ready after {timeout_s}s ({container.attrs['State']['Status']}):\n"
                         + container.logs(tail=40).decode(errors="replace"))


def breakdown(container, ready_s: float) -> dict[str, float | None]:
    """Seconds spent in each phase (None when its marker line was not logged), plus the last step to READY."""
    container.reload()
    started = _parse(container.attrs["State"]["StartedAt"])
    lines = container.logs(timestamps=True).decode(errors="replace").splitlines()
    out: dict[str, float | None] = {}
    previous = started
    for phase, marker in PHASES:
        hit = next((line for line in lines if marker.search(line)), None)
        if hit is None:
            out[phase] = None
            continue
        at = _parse(hit.split(" ", 1)[0])
        out[phase] = round(at - previous, 3)
        previous = at
    out["to READY (healthz answers)"] = round(started + ready_s - previous, 3)
    return out
