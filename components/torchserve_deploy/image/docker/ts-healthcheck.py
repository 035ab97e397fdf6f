#!/opt/venv/bin/python
"""Container healthcheck: healthy only when every expected model has all its workers READY.

`/ping` answers Healthy even when a model's workers failed to start, so this asks the management
API (loopback, inside the container) about each model instead.

usage: ts-healthcheck [MODEL ...]            (no names: every registered model, and at least one)
       ts-healthcheck --serve PORT [MODEL ...]  token-free HTTP endpoint: GET /healthz answers 200 when
                                               healthy, 503 with the problems otherwise (for load
                                               balancers, which cannot send TorchServe's key); GET
                                               /metrics the same as Prometheus gauges (workers per
                                               model and state, model and server health)

With token authorization on, it reads the management key from key_file.json; when that key has
expired it asks TorchServe for a new one with the API key (POST /token?type=management), which
rewrites key_file.json. The inference key is never touched.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import sys
import urllib.error
import urllib.request

MANAGEMENT = os.environ.get("TS_HEALTH_MANAGEMENT_URL", "http://127.0.0.1:8081")
KEY_FILE = os.environ.get("TS_KEY_FILE", os.path.join(os.environ.get("TS_RUN_DIR", "/run/torchserve"),
                                                      "key_file.json"))
TIMEOUT_S = 4


def _keys() -> dict | None:
    try:
        with open(KEY_FILE, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        return None  # token authorization disabled


def _expired(entry: dict) -> bool:
    stamp = entry.get("expiration time", "")
    try:
        when = dt.datetime.fromisoformat(stamp[:26].rstrip("Z") + "+00:00")
    except ValueError:
        return False
    return when <= dt.datetime.now(dt.UTC) + dt.timedelta(seconds=30)


def _request(path: str, token: str | None, method: str = "GET"):
    req = urllib.request.Request(MANAGEMENT + path, method=method)
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
        body = resp.read()
        return json.loads(body) if body.strip() else None


def _management_token() -> str | None:
    keys = _keys()
    if keys is None:
        return None
    if _expired(keys["management"]):
        _request("/token?type=management", keys["API"]["key"], method="POST")
        keys = _keys() or keys
    return keys["management"]["key"]


def worker_states(expected: list[str]) -> dict[str, list[str] | None]:
    """Each model's worker states (None: not registered); every registered model when none are named."""
    token = _management_token()
    if not expected:
        listed = _request("/models?limit=1000", token) or {}
        expected = [m["modelName"] for m in listed.get("models", [])]
    states: dict[str, list[str] | None] = {}
    for name in expected:
        try:
            versions = _request(f"/models/{name}", token) or []
        except urllib.error.HTTPError as err:
            if err.code == 404:
                states[name] = None
                continue
            raise
        states[name] = [w.get("status", "?") for version in versions for w in version.get("workers", [])]
    return states


def check(expected: list[str]) -> list[str]:
    """Problems found; empty means healthy."""
    states = worker_states(expected)
    if not states:
        return ["no model is registered"]
    problems = []
    for name, workers in states.items():
        if workers is None:
            problems.append(f"model {name}: not registered (missing or corrupt .mar? see the container log)")
            continue
        ready = workers.count("READY")
        if not workers or ready < len(workers):
            problems.append(f"model {name}: {ready}/{len(workers)} workers READY (states: "
                            f"{','.join(sorted(set(workers))) or 'none'}; if this persists, the archive or its "
                            "handler fails to load: see the container log)")
    return problems


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus_text(models: list[str]) -> str:
    """The health signal as Prometheus gauges: workers per model and state, each model's and the server's
    health (TorchServe exports no worker counts; its own /metrics is on the metrics port)."""
    def family(name: str, help_text: str, samples: list[str]) -> list[str]:
        return [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", *samples]

    try:
        states = worker_states(models)
    except (OSError, ValueError, KeyError):
        states = None
    workers, ready = [], []
    for name, found in sorted((states or {}).items()):
        for status in sorted(set(found or [])):
            workers.append(f'torchserve_workers{{model="{_label(name)}",status="{_label(status)}"}} '
                           f"{(found or []).count(status)}")
        ready.append(f'torchserve_model_ready{{model="{_label(name)}"}} '
                     f"{int(bool(found) and all(w == 'READY' for w in found or []))}")
    healthy = bool(states) and all(f and all(x == "READY" for x in f) for f in (states or {}).values())
    return "\n".join([
        *family("torchserve_workers", "TorchServe workers per model and state (management API).", workers),
        *family("torchserve_model_ready", "1 when the model is registered and all its workers are READY.", ready),
        *family("torchserve_healthy", "1 when /healthz answers healthy.", [f"torchserve_healthy {int(healthy)}"]),
        ""])


def problems_now(models: list[str]) -> list[str]:
    try:
        return check(models)
    except (OSError, ValueError, KeyError) as err:
        return [f"management API unreachable or unreadable: {err}"]


def serve(port: int, models: list[str]) -> None:
    """The health endpoint: it reveals health only (no keys, no model API, no request data), so it needs no
    token: /healthz (JSON, 200 or 503) and /metrics (Prometheus gauges)."""
    import http.server

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            path = self.path.split("?")[0]
            if path == "/metrics":
                body, code, kind = prometheus_text(models).encode(), 200, "text/plain; version=0.0.4"
            elif path == "/healthz":
                problems = problems_now(models)
                body = json.dumps({"status": "unhealthy" if problems else "healthy", "problems": problems}).encode()
                code, kind = (503 if problems else 200), "application/json"
            else:
                self.send_error(404)
                return
            self.send_response(code)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    http.server.ThreadingHTTPServer(("0.0.0.0", port), Health).serve_forever()


def main(argv: list[str]) -> int:
    if argv[:1] == ["--serve"]:
        serve(int(argv[1]), argv[2:])
        return 0
    problems = problems_now(argv)
    if problems:
        print("unhealthy: " + "; ".join(problems))
        return 1
    print("healthy: " + (", ".join(argv) if argv else "all models") + " READY")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
