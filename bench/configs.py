"""What `make bench` serves: the bench models and the configurations compared (stock, generated, ablations)."""
from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from torchserve_deploy.model.archive import ModelSource
from torchserve_deploy.serve.config_properties import ModelServing, render_config_properties, torch_threads_env

from bench.tune_search import Trial
from infra.settings import load_settings
from tests.mocks import ROOT

WORK = ROOT / ".build/bench"
STOCK = """inference_address=http://0.0.0.0:8080
management_address=http://0.0.0.0:8081
metrics_address=http://0.0.0.0:8082
grpc_inference_address=0.0.0.0
grpc_management_address=0.0.0.0
number_of_netty_threads=32
job_queue_size=1000
model_store=/home/model-server/model-store
workflow_store=/home/model-server/wf-store
disable_token_authorization=true
load_models={mar}
"""


@dataclass(frozen=True)
class BenchModel:
    source: ModelSource
    body: dict
    features: int
    model_file: Path
    weights: Path


def _weights(folder: str) -> Path:
    weights = WORK / f"{folder}.pt"
    if not weights.exists():
        WORK.mkdir(parents=True, exist_ok=True)
        subprocess.run([str(ROOT / ".venv/bin/python"), str(ROOT / f"bench/models/{folder}/make_weights.py"),
                        str(weights)], check=True)
    return weights


def models() -> dict[str, BenchModel]:
    demo = load_settings({}, stack="dev", root=ROOT).models[0].source
    out = {"demo": BenchModel(demo, {"data": [1.0, 2.0, 3.0, 4.0]}, 4, demo.model_file, demo.serialized_file)}
    for name, features in (("wide", 64), ("cnn", 48)):
        model_file, weights = ROOT / f"bench/models/{name}/model.py", _weights(name)
        source = ModelSource(name=name, version="1.0", handler=ROOT / "models/demo/handler.py", model_file=model_file,
                             serialized_file=weights)
        out[name] = BenchModel(source, {"data": [round(0.01 * i, 2) for i in range(features)]}, features,
                               model_file, weights)
    return out


def generated_config(model: str, **serving) -> str:
    """The config this module generates for the dev stack's settings, serving `model` (`serving` overrides
    ModelServing fields, for the ablations)."""
    m = load_settings({}, stack="dev", root=ROOT).models[0]
    fields = {"min_workers": m.workers, "max_workers": m.workers, "batch_size": m.batch_size,
              "max_batch_delay_ms": m.max_batch_delay_ms, **serving}
    return render_config_properties((ModelServing(model, **fields),))


def static_trial() -> Trial:
    """The dev stack's static default (what the generated config serves)."""
    s = load_settings({}, stack="dev", root=ROOT)
    m = s.models[0]
    return Trial(m.workers, m.batch_size, m.max_batch_delay_ms, m.torch_threads, s.server.cpu_launcher)


def p99_bound_ms() -> int:
    return load_settings({}, stack="dev", root=ROOT).defaults.p99_target_ms


def trial_serving(name: str, trial: Trial, response_timeout_s: int = 120) -> tuple[str, str]:
    """What one tuner trial serves, as a stack with those settings declares it: (config.properties, the
    TS_TORCH_THREADS value for the image's worker hook, "" for torch's default)."""
    model = ModelServing(name, min_workers=trial.workers, max_workers=trial.workers, batch_size=trial.batch_size,
                         max_batch_delay_ms=trial.max_batch_delay_ms, response_timeout_s=response_timeout_s,
                         torch_threads=trial.torch_threads)
    return render_config_properties((model,), cpu_launcher=trial.cpu_launcher), torch_threads_env((model,))


def with_line(config: str, key: str, value: str) -> str:
    lines = [line for line in config.splitlines() if not line.startswith(f"{key}=")]
    return "\n".join([*lines, f"{key}={value}"]) + "\n"


# Each generated choice reverted to TorchServe's stock value, one at a time: its measured effect (one run each).
ABLATIONS = {
    "workers = cores (2), stock": lambda m: generated_config(m, min_workers=2, max_workers=2),
    "batch size 1, stock": lambda m: generated_config(m, batch_size=1, max_batch_delay_ms=100),
    "metrics_mode=log, stock": lambda m: with_line(generated_config(m), "metrics_mode", "log"),
    "token auth off, as upstream's entrypoint": lambda m: with_line(generated_config(m), "disable_token_authorization", "true"),
}
# The latency configuration for one client at a time: no batching wait.
LATENCY = lambda m: generated_config(m, batch_size=1, max_batch_delay_ms=0)  # noqa: E731
