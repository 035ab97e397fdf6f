"""JSON logs for TorchServe's Python backend worker, with request ids, and one access record per request.

Loaded by ts-observe.pth from the image's site-packages at every Python start, it does something only in
TorchServe's backend worker (argv[0] ends in ts/model_service_worker.py); everywhere else it returns at once.
In the worker it:
- gives the root logger one stdout handler that writes each record as one JSON object on one line
  (time, level, logger, message, and `model`, `version`, `request_ids` while a batch is being handled, so a
  handler's own log lines carry the ids of the requests they belong to). TorchServe's worker then skips its
  own logging.basicConfig (the root logger already has a handler);
- writes one record per request after each batch on the logger `ts.access`: request_id (TorchServe's
  x-request-id response header), model, version, status, latency_ms (the worker's time for the batch) and
  batch_size;
- sets torch's intra-op threads for a model whose name TS_TORCH_THREADS lists (`demo=2 wide=1`, rendered
  from models.<name>.torchThreads) before its handler initializes: TorchServe itself leaves every worker
  with torch's default of one thread per core, which oversubscribes the cores when a host runs several
  workers (its CPU launcher, when enabled, sets OMP_NUM_THREADS per worker; a listed model's value wins);
- leaves the lines TorchServe's frontend parses as they are: `[METRICS]...`, `[PID]<n>` and
  `Torch worker started.` (the frontend marks a worker alive by them).

The frontend copies worker lines to its MODEL_LOG logger; log4j2.xml passes lines that are already JSON
objects through and wraps every other line in one. TorchServe 0.12.0 is the last release, so the two names
patched here (ts.service.Service.predict and ts.service.create_predict_response) are fixed; if either is
missing the worker logs one JSON warning and serves without access records rather than failing.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

WORKER = "ts/model_service_worker.py"
ACCESS_LOGGER = "ts.access"
THREADS_ENV = "TS_TORCH_THREADS"
# Lines TorchServe's frontend matches on the worker's stdout: they stay plain text.
PLAIN_PREFIXES = ("[METRICS]", "[PID]")
PLAIN_LINES = ("Torch worker started.",)
# The worker's own line for every batch, which the access records already time: dropped (exact format string).
CHATTER = frozenset({"Backend received inference at: %d"})
MAX_TORCH_THREADS = 256  # as models.<name>.torchThreads allows
THREADS_ITEM = re.compile(r"([A-Za-z][A-Za-z0-9_-]{0,62})=([1-9][0-9]{0,2})", re.ASCII)  # model names as validated

_batch: dict[str, Any] = {}
"""The batch being handled (model, version, request_ids, statuses); the worker handles one batch at a time."""


def _utc(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


class JsonLines(logging.Formatter):
    """One JSON object per record (json.dumps escapes newlines, so a record is always one line)."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if message.startswith(PLAIN_PREFIXES) or message in PLAIN_LINES:
            return message
        out: dict[str, Any] = {"time": _utc(record.created), "level": record.levelname, "logger": record.name}
        access = getattr(record, "access", None)
        if access is not None:
            out.update(access)
        elif _batch:
            out.update(model=_batch["model"], version=_batch["version"], request_ids=_batch["request_ids"])
        out["message"] = message
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=True, separators=(",", ":"), default=str)


class DropChatter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (isinstance(record.msg, str) and record.msg in CHATTER)


def _model(context: Any) -> tuple[str, str]:
    manifest = getattr(context, "manifest", None) or {}
    version = (manifest.get("model") or {}).get("modelVersion", "") if isinstance(manifest, dict) else ""
    return str(getattr(context, "model_name", "") or ""), str(version or "")


def _wrap_create_response(create: Any) -> Any:
    def create_predict_response(ret: Any, req_id_map: Any, message: Any, code: int, context: Any = None,
                                *args: Any, **kwargs: Any) -> Any:
        statuses = {}
        for idx in req_id_map or {}:
            status = code
            if context is not None and code == 200:  # a handler may set a status per request
                try:
                    status = context.get_response_status(idx)[0] or 200
                except Exception:  # the response is built by TorchServe either way
                    status = code
            statuses[idx] = status
        _batch["statuses"] = statuses
        return create(ret, req_id_map, message, code, context, *args, **kwargs)

    return create_predict_response


def _wrap_predict(predict: Any, access: logging.Logger) -> Any:
    def traced_predict(self: Any, batch: Any) -> Any:
        ids = {i: (b.get("requestId") or b"").decode("utf-8", "replace") for i, b in enumerate(batch or [])}
        model, version = _model(getattr(self, "context", None))
        _batch.clear()
        _batch.update(model=model, version=version, request_ids=list(ids.values()))
        start = time.perf_counter()
        try:
            return predict(self, batch)
        finally:
            latency_ms = round((time.perf_counter() - start) * 1000, 3)
            statuses = _batch.get("statuses", {})
            _batch.clear()
            for idx, request_id in ids.items():
                access.info("request", extra={"access": {
                    "request_id": request_id, "model": model, "version": version,
                    "status": statuses.get(idx, 500), "latency_ms": latency_ms, "batch_size": len(ids)}})

    return traced_predict


def threads_by_model(value: str) -> tuple[dict[str, int], list[str]]:
    """`demo=2 wide=1` -> ({"demo": 2, "wide": 1}, []); items that are not `name=1..256` (ASCII digits) come back
    as the second value, ignored (the renderer only writes valid items; this guards a hand-set variable)."""
    out: dict[str, int] = {}
    ignored = []
    for item in value.split():
        match = THREADS_ITEM.fullmatch(item)
        if match and int(match[2]) <= MAX_TORCH_THREADS:
            out[match[1]] = int(match[2])
        else:
            ignored.append(item)
    return out, ignored


def _wrap_init(init: Any, threads: dict[str, int]) -> Any:
    def __init__(self: Any, model_name: Any, *args: Any, **kwargs: Any) -> None:
        count = threads.get(str(model_name))
        if count:
            import torch  # the worker imports it for the handler anyway

            torch.set_num_threads(count)
            logging.getLogger(__name__).info("torch threads for model %s: %d", model_name, torch.get_num_threads())
        init(self, model_name, *args, **kwargs)

    return __init__


def install(argv: list[str] | None = None) -> bool:
    """Set up JSON logging and the access records when this process is TorchServe's backend worker."""
    argv = sys.argv if argv is None else argv
    if not argv or not argv[0].replace("\\", "/").endswith(WORKER):
        return False
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonLines) for h in root.handlers):
        return True
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonLines())
    handler.addFilter(DropChatter())
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        import ts.service as service

        service.Service.predict = _wrap_predict(service.Service.predict, logging.getLogger(ACCESS_LOGGER))
        service.create_predict_response = _wrap_create_response(service.create_predict_response)
        threads, ignored = threads_by_model(os.environ.get(THREADS_ENV, ""))
        if ignored:
            logging.getLogger(__name__).warning("%s: ignored %s (each item is name=1..%d)", THREADS_ENV,
                                                " ".join(ignored), MAX_TORCH_THREADS)
        if threads:
            service.Service.__init__ = _wrap_init(service.Service.__init__, threads)  # type: ignore[method-assign]
    except (ImportError, AttributeError) as missing:
        logging.getLogger(__name__).warning("no access records: TorchServe's worker changed (%s)", missing)
    return True
