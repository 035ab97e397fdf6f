#!/opt/venv/bin/python
"""Container healthcheck: healthy only when every expected model has all its workers READY.

`/ping` answers Healthy even when a model's workers failed to start, so this asks the management
API (loopback, inside the container) about each model instead.

usage: ts-healthcheck [MODEL ...]    (no names: every registered model, and at least one)

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
KEY_FILE = os.environ.get("TS_KEY_FILE", "/home/model-server/key_file.json")
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


def check(expected: list[str]) -> list[str]:
    """Problems found; empty means healthy."""
    token = _management_token()
    if not expected:
        listed = _request("/models?limit=1000", token) or {}
        expected = [m["modelName"] for m in listed.get("models", [])]
        if not expected:
            return ["no model is registered"]
    problems = []
    for name in expected:
        try:
            versions = _request(f"/models/{name}", token) or []
        except urllib.error.HTTPError as err:
            if err.code == 404:
                problems.append(f"model {name}: not registered (missing or corrupt .mar? see the container log)")
                continue
            raise
        workers = [w for version in versions for w in version.get("workers", [])]
        ready = sum(1 for w in workers if w.get("status") == "READY")
        if not workers or ready < len(workers):
            states = ",".join(sorted({w.get("status", "?") for w in workers})) or "none"
            problems.append(f"model {name}: {ready}/{len(workers)} workers READY (states: {states}; "
                            "if this persists, the archive or its handler fails to load: see the container log)")
    return problems


def main(argv: list[str]) -> int:
    try:
        problems = check(argv)
    except (OSError, ValueError, KeyError) as err:
        problems = [f"management API unreachable or unreadable: {err}"]
    if problems:
        print("unhealthy: " + "; ".join(problems))
        return 1
    print("healthy: " + (", ".join(argv) if argv else "all models") + " READY")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
