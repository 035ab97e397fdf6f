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
{delay}
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {{"requests": %d, "duration_s": %.3f, "non2xx": %d, "socket_errors": %d, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f}}\\n', summary.requests, summary.duration / 1e6, e.status,
    e.connect + e.read + e.write + e.timeout, latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000))
end
"""


def run_wrk(url: str, *, body: dict, key: str | None, connections: int, seconds: int, threads: int = 2,
            delay_ms: float | None = None, timeout_s: int = 10) -> dict:
    """One wrk run; returns requests, duration_s, rps, non2xx, socket_errors, p50/p90/p99 in ms."""
    wrk = shutil.which("wrk")
    assert wrk, "wrk is missing: apt-get install wrk (.ci/run does)"
    assert url.startswith(("http://127.", "http://localhost")), "load goes to loopback only"
    lua = SCRIPT.format(body=json.dumps(body), auth=f'wrk.headers["Authorization"] = "Bearer {key}"' if key else "",
                        delay=f"function delay() return {delay_ms:.3f} end" if delay_ms else "")
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "post.lua"
        script.write_text(lua)
        out = subprocess.run([wrk, f"-t{min(threads, connections)}", f"-c{connections}", f"-d{seconds}s",
                              f"--timeout={timeout_s}s", "-s", str(script), url],
                             capture_output=True, text=True, timeout=seconds + 60)
    line = [ln for ln in out.stdout.splitlines() if ln.startswith("WRKJSON ")]
    assert out.returncode == 0 and line, out.stdout + out.stderr
    result = json.loads(line[0][len("WRKJSON "):])
    result["rps"] = result["requests"] / result["duration_s"]
    return result
