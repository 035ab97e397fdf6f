"""Reading TorchServe's container logs as the image writes them: one JSON object per line (log4j2.xml for the
frontend, ts_observe.py for the worker), except the plain banners the JVM and TorchServe print before logging
starts (they bypass log4j)."""
from __future__ import annotations

import json

# Printed straight to stdout/stderr at start-up, before or beside log4j: the only plain lines allowed.
PLAIN_BANNERS = (
    "WARNING: sun.reflect.Reflection.getCallerClass is not supported. This will impact performance.",
    "Model server started.",
)
PLAIN_PREFIXES = ("nvidia-smi not available or failed: ",)
# The `torchserve` launcher (native runs only; the image starts java itself).
LAUNCHER_LINES = ("Removing orphan pid file.",)


def parse_log_lines(lines: list[str], extra_plain: tuple[str, ...] = LAUNCHER_LINES) -> list[dict]:
    """Every line's JSON object; a line that is neither a JSON object nor a known banner fails."""
    records, bad = [], []
    for line in lines:
        if not line.strip() or line in PLAIN_BANNERS or line in extra_plain or line.startswith(PLAIN_PREFIXES):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            bad.append(line)
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad.append(line)
    assert not bad, "log lines that are not JSON objects:\n" + "\n".join(bad[:20])
    return records
