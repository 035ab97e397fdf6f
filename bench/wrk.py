"""Drive TorchServe with wrk (Debian's package) and read its numbers back as JSON (pure subprocess).

Used by the soak test and by `make bench`. Traffic goes to loopback only.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

SCRIPT = """
wrk.method = "POST"
wrk.body = '{body}'
wrk.headers["Content-Type"] = "application/json"
{auth}
{pace}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests": %d, "duration_s": %.3f, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f}}\\n', summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
"""


# Open-loop pacing for a fixed request rate: the thread hands out send times on an absolute schedule
# (CLOCK_MONOTONIC through LuaJIT's ffi; wrk's Lua has no clock of its own), so wrk's whole-millisecond
# delay() truncation and the server's latency do not add up into the rate. A connection that comes back
# after its slot has passed sends at once; a schedule that fell behind by more than CATCH_UP_MS is moved
# up to now rather than sent as a burst. So the rate is rate_rps as long as the connections can keep up.
# A paced run uses one wrk thread: with two, wrk's second thread fired its timers late in some runs and not
# in others (here, 2 cores: one thread 609 requests in 4 s, the other 458 or 609; with a constant
# `delay() return 20` 1420 against 1180-1270), so the rate came out 0.87 or 1.00 of the one asked for.
# One thread carries thousands of paced requests a second, well above any rate the soak asks for.
PACE = """
local ffi = require("ffi")
ffi.cdef[[
typedef struct {{ long tv_sec; long tv_nsec; }} wrk_pace_timespec;
int clock_gettime(int clock, wrk_pace_timespec *tp);
]]
local now_ts = ffi.new("wrk_pace_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, now_ts)
  return tonumber(now_ts.tv_sec) * 1000 + tonumber(now_ts.tv_nsec) / 1e6
end
local interval_ms = {interval_ms!r}
local catch_up_ms = {catch_up_ms!r}
local slot = nil
function delay()
  local now = now_ms()
  if slot == nil or slot < now - catch_up_ms then slot = now end
  local wait = slot - now
  slot = slot + interval_ms
  if wait < 0 then return 0 end
  return wait
end
"""
CATCH_UP_MS = 50.0


def run_wrk(url: str, *, body: dict, key: str | None, connections: int, seconds: int, threads: int = 2,
            rate_rps: float | None = None, timeout_s: int = 10) -> dict:
    """One wrk run; returns requests, duration_s, rps, non2xx, socket_errors, p50/p90/p99 in ms.

    Without rate_rps each connection sends its next request as soon as the last one is answered (closed loop,
    the server's capacity). With rate_rps one thread sends at that rate (see PACE); the result's rps falls
    short of it only when the connections cannot keep up."""
    wrk = shutil.which("wrk")
    assert wrk, "wrk is missing: apt-get install wrk (.ci/run does)"
    assert url.startswith(("http://127.", "http://localhost")), "load goes to loopback only"
    threads = min(threads, connections)
    pace = ""
    if rate_rps is not None:
        assert rate_rps > 0, f"rate_rps must be positive, not {rate_rps}"
        threads = 1
        pace = PACE.format(interval_ms=round(1000 / rate_rps, 6), catch_up_ms=CATCH_UP_MS)
    lua = SCRIPT.format(body=json.dumps(body), auth=f'wrk.headers["Authorization"] = "Bearer {key}"' if key else "",
                        pace=pace)
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(lua)
        out = subprocess.run([wrk, f"-t{threads}", f"-c{connections}", f"-d{seconds}s",
                              f"--timeout={timeout_s}s", "-s", str(script), url],
                             capture_output=True, text=True, timeout=seconds + 60)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")]
    assert out.returncode == 0 and line, out.stdout + out.stderr
    result = json.loads(line[0][len("WRKJSON "):])
    result["rps"] = result["requests"] / result["duration_s"]
    return result
