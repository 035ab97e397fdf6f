"""bench/wrk.py against a loopback HTTP server: the closed loop finds the capacity, and rate_rps holds the
rate the soak test asks for, whatever the server's latency (wrk's own delay() alone drifts with latency and
whole-millisecond truncation: the soak once ran at 91 % when it meant 80 %)."""
import contextlib
import http.server
import threading
import time

import pytest

from bench.wrk import run_wrk

pytestmark = pytest.mark.system  # wrk is Debian's package, installed by make test (tools/prereqs.sh)


class Answer(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as TorchServe's frontend
    disable_nagle_algorithm = True  # headers and body go out at once, not 40 ms apart (delayed ACK)
    latency_s = 0.0
    seen: list[str] = []

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.seen.append(self.headers.get("Authorization", ""))
        if self.latency_s:
            time.sleep(self.latency_s)
        body = b'{"ok": true}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # wrk drops its connections when its time is up: a reset there is no finding


@contextlib.contextmanager
def answering(latency_s: float):
    handler = type("Handler", (Answer,), {"latency_s": latency_s, "seen": []})
    server = Server(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/predictions/x", handler
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("latency_ms", [0, 7])
def test_a_paced_run_holds_its_rate_whatever_the_latency(latency_ms):
    with answering(latency_ms / 1000) as (url, handler):
        capacity = run_wrk(url, body={"x": 1}, key="k", connections=16, seconds=3)
        rate = round(min(0.5 * capacity["rps"], 300.0), 1)  # 300/s: 6.67 ms per thread, not a whole ms
        # threads=2 as the closed loop: a paced run takes one thread whatever it is asked (two drifted)
        paced = run_wrk(url, body={"x": 1}, key="k", connections=16, seconds=5, threads=2, rate_rps=rate)
    record = {"capacity": capacity["rps"], "rate": rate, "paced": paced["rps"]}
    assert capacity["non2xx"] == paced["non2xx"] == paced["socket_errors"] == 0, record
    assert set(handler.seen) == {"Bearer k"}, record
    assert capacity["rps"] > 1.5 * rate, record  # the pacing, not the server, set the paced rate
    assert 0.95 <= paced["rps"] / rate <= 1.02, record


def test_an_unreachable_rate_runs_at_what_the_connections_carry():
    # 2 connections at 25 ms each can carry at most 80/s; asked for 400/s the run stays at that ceiling.
    with answering(0.025) as (url, _):
        paced = run_wrk(url, body={"x": 1}, key=None, connections=2, seconds=3, rate_rps=400.0)
    assert 60 <= paced["rps"] <= 81, paced
    assert paced["p99_ms"] < 60, paced


def test_the_rate_must_be_positive():
    with pytest.raises(AssertionError, match="rate_rps must be positive"):
        run_wrk("http://127.0.0.1:9/x", body={}, key=None, connections=1, seconds=1, rate_rps=0.0)
