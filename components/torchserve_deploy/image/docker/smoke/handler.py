"""Smoke-test handler: no weights, no torch work; echoes the sum of the numbers it receives."""
import json


def handle(data, context):
    if data is None:  # TorchServe calls handle once at load time with no data
        return None
    out = []
    for request in data:
        body = request.get("body") or request.get("data")
        if isinstance(body, (bytes, bytearray)):
            body = json.loads(body)
        out.append({"sum": sum(body["data"])})
    return out
