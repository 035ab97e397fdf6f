"""bench/wrk.py against a loopback HTTP server: the closed loop finds the capacity, and rate_rps holds the
rate the soak test asks for, whatever the server's latency (a delay() calibrated from probes drifted with
wrk's threads: the soak once ran at 91 % when it meant 80 %), without bursting after a stall."""
import contextlib
import http.server
import time

import pytest

from bench.wrk import run_wrk
from tests.loopback import serving

pytestmark = pytest.mark.system  # wrk is Debian's package, installed by make test (tools/prereqs.sh)


class Answer(http.server.BaseHTTPRequestHandler):
    """Answers every POST after `latency_s`; a request that arrives inside `stall` waits until its end."""
    protocol_version = "HTTP/1.1"  # keep-alive, as TorchServe's frontend
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    latency_s = 0.0
    stall: tuple[float, float] = (0.0, 0.0)
    seen: list[tuple[float, str]] = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        now = time.monotonic()
        self.seen.append((now, self.headers.get("Authorization", "")))
        start, end = self.stall
        time.sleep(self.latency_s + (end - now if start <= now < end else 0.0))
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def answering(latency_s: float):
    handler = type("Handler", (Answer,), {"latency_s": latency_s, "seen": []})
    with serving(handler) as url:
        yield url + "/predictions/x", handler


@pytest.mark.parametrize("latency_ms", [0, 7])
def test_a_paced_run_holds_its_rate_whatever_the_latency(latency_ms):
    with answering(latency_ms / 1000) as (url, handler):
        capacity = run_wrk(url, body={"x": 1}, key="k", connections=16, seconds=3)
        rate = round(min(0.5 * capacity["rps"], 300.0), 1)  # 300/s: 3.33 ms apart, not a whole ms
        # threads=2 as the closed loop: a paced run takes one thread whatever it is asked (two drifted)
        paced = run_wrk(url, body={"x": 1}, key="k", connections=16, seconds=5, threads=2, rate_rps=rate)
    record = {"capacity": capacity["rps"], "rate": rate, "paced": paced["rps"]}
    assert capacity["non2xx"] == paced["non2xx"] == paced["socket_errors"] == 0, record
    assert {auth for _, auth in handler.seen} == {"Bearer k"}, record
    assert capacity["rps"] > 1.5 * rate, record  # the pacing, not the server, set the paced rate
    assert 0.95 <= paced["rps"] / rate <= 1.02, record


def test_after_a_stall_the_schedule_moves_on_instead_of_bursting():
    # Every request arriving in a 400 ms window waits for its end: 80 slots at 200/s are missed. Sending them
    # as soon as connections free up would put ~80 requests into the next 100 ms; the pacing allows the rate
    # plus at most 50 ms of backlog (10 requests), plus the connections the stall held.
    rate, connections, window, catch_up_s = 200.0, 16, 0.1, 0.05
    with answering(0.0) as (url, handler):
        start = time.monotonic() + 1.5
        handler.stall = (start, start + 0.4)
        paced = run_wrk(url, body={"x": 1}, key=None, connections=connections, seconds=4, rate_rps=rate)
    end = handler.stall[1]
    after = [t for t, _ in handler.seen if end <= t < end + window]
    allowed = rate * window + rate * catch_up_s + connections
    assert len(after) <= allowed, (len(after), allowed)
    assert len(after) >= 0.5 * rate * window, len(after)  # and it did go on sending
    assert paced["non2xx"] == paced["socket_errors"] == 0, paced


def test_an_unreachable_rate_runs_at_what_the_connections_carry():
    latency_s, connections = 0.025, 2  # at most 80 requests a second, asked for 400
    with answering(latency_s) as (url, _):
        paced = run_wrk(url, body={"x": 1}, key=None, connections=connections, seconds=3, rate_rps=400.0)
    ceiling = connections / latency_s
    assert 0.75 * ceiling <= paced["rps"] <= 1.01 * ceiling, paced
    assert paced["p99_ms"] < 2.4 * latency_s * 1000, paced


def test_the_rate_must_be_positive():
    with pytest.raises(AssertionError, match="rate_rps must be positive"):
        run_wrk("http://127.0.0.1:9/x", body={}, key=None, connections=1, seconds=1, rate_rps=0.0)
