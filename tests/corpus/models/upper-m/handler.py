"""JSON in, JSON out handler for the demo model.

Request body: {"data": [f1, f2, f3, f4]} (one row) or {"data": [[...], ...]} (several rows).
Response: {"scores": [[s1, s2, s3], ...], "labels": [argmax, ...]}.
TorchServe may batch several requests into one call; each request gets its own response.
"""
import json

import torch
from model import IN_FEATURES
from ts.torch_handler.base_handler import BaseHandler


class DemoHandler(BaseHandler):
    def preprocess(self, data):
        rows, counts = [], []
        for request in data:
            body = request.get("body") or request.get("data")
            if isinstance(body, (bytes, bytearray)):
                body = json.loads(body.decode("utf-8"))
            elif isinstance(body, str):
                body = json.loads(body)
            values = body["data"] if isinstance(body, dict) else body
            if values and not isinstance(values[0], list):
                values = [values]
            for row in values:
                if len(row) != IN_FEATURES:
                    raise ValueError(f"each row needs {IN_FEATURES} numbers, got {len(row)}")
            rows.extend(values)
            counts.append(len(values))
        self._counts = counts
        return torch.tensor(rows, dtype=torch.float32, device=self.device)

    def inference(self, data, *args, **kwargs):
        with torch.inference_mode():
            return self.model(data)

    def postprocess(self, data):
        out, start = [], 0
        for count in self._counts:
            scores = data[start : start + count]
            start += count
            out.append(
                {
                    "scores": [[round(float(v), 6) for v in row] for row in scores.tolist()],
                    "labels": [int(i) for i in scores.argmax(dim=1).tolist()],
                }
            )
        return out
