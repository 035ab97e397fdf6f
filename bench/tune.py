"""`make tune STACK=<stack>`: a serving tuner for TorchServe (the analogue of Triton's Model Analyzer).

usage: python -m bench.tune --stack dev [--budget-s 600] [--write]

Against the stack's own image and container spec on this machine's Docker engine, within the time budget
(split evenly between the stack's models), it sweeps workers × torch threads per worker × batch size × max
batch delay × TorchServe's CPU launcher for each model (bench/tune_search.py: a coordinate search from the
stack's current values), each trial a fresh container under wrk -c16 with the model's manifest sample as the
request. It picks the highest throughput whose p99 stays within the stack's `p99TargetMs`, writes the
recommendation to .build/tune/<stack>.yaml and the sweep to .build/tune/<stack>-<model>.png, and with --write
sets models.<name>.{workers, batchSize, maxBatchDelayMs, torchThreads} in stacks/Pulumi.<stack>.yaml, and
`cpuLauncher` when every model's winner agrees on it (a reviewable diff; `pulumi up` applies it).
"""
from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

import yaml
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.yaml_strict import load_json

from bench import machine, plots, stack_edit
from bench.configs import trial_serving
from bench.serving import TRIAL_WARMUP_S, archive_source, serve_and_load
from bench.tune_search import Result, Trial, axes, search
from infra.offline import ROOT, committed_stacks, stack_settings
from infra.pulumi_cli import goyaml
from infra.settings.declare import full_key
from infra.settings.keys import MODELS_DEFAULT, MODELS_KEY
from infra.smoke import samples
from tests.engine import Engine, build_declared_image, ensure_base_image
from tests.mocks import evaluate_program, named

OUT = ROOT / ".build/tune"
TRIAL_SECONDS = 8


class Refused(Exception):
    pass


def plan(stack: str) -> tuple:
    """The stack's settings, container inputs and model samples, or Refused with what to do."""
    if stack not in committed_stacks():
        raise Refused(f"make tune: no stack {stack!r}: STACK is one of {', '.join(committed_stacks())} "
                      "(stacks/Pulumi.<stack>.yaml)")
    settings = stack_settings(stack)  # validates the stack first
    resources = evaluate_program(stack)
    containers = [r for r in resources if r.typ == "docker:index/container:Container"]
    if not containers:
        raise Refused(f"make tune: stack {stack} declares no container on this machine's Docker engine (host "
                      f"{settings.host}); tune a local stack that serves the same models on the same kind of "
                      "machine, then copy its models.<name> settings into this stack")
    found = samples(stack, [m.name for m in settings.models], settings.roots)
    missing = [f"{name} ({where})" for name, (where, sample) in found.items() if sample is None]
    if missing:
        raise Refused(f"make tune: no sample request for {', '.join(missing)}: add `sample:` to the manifest")
    return settings, resources, containers[0].inputs, {n: s for n, (_, s) in found.items()}


def on_gpu(settings) -> bool:
    """Whether the stack serves on GPUs (or from a cuda image): then the CPU launcher is not swept (the stack
    refuses it there)."""
    return settings.gpus is not None or settings.variant.accelerator == "cuda"


def tune_model(client, inputs, image_id, store, model, body, p99_ms: float, budget_s: float, cores: int,
               cpu_launcher: bool, gpu: bool):
    def measure(trial: Trial) -> Result:
        config, threads = trial_serving(model.name, trial, model.response_timeout_s)
        r = serve_and_load(client, inputs, image_id, store, model.name, config, body, seconds=TRIAL_SECONDS,
                           torch_threads=threads, warmup_s=TRIAL_WARMUP_S)
        print(f"tune {model.name}: {trial.label()} -> {r['rps']:.0f} req/s, p99 {r['p99_ms']:.1f} ms", flush=True)
        return Result(trial, r["rps"], r["p50_ms"], r["p99_ms"])

    start = Trial(model.workers, model.batch_size, model.max_batch_delay_ms, model.torch_threads, cpu_launcher)
    return start, search(measure, start, axes(cores, gpu=gpu), p99_ms, budget_s)


def stack_text(text: str, choices: dict[str, Trial]) -> str:
    """The stack file's text with each model's workers, batching and threads set (pure), editing only those
    entries' lines (bench/stack_edit.py): comments, quoting and every other key stay byte for byte. A model the
    file does not list yet is added with the path the loader would give it. The CPU launcher is one switch for
    the whole server: set only when every model's winner agrees (off removes the key: it is the default)."""
    data = goyaml.load(text) or {}
    config = (data.get("config") or {}) if isinstance(data, dict) else None
    if not isinstance(config, dict):
        raise Refused("make tune --write: the stack file is not a mapping with a `config:` mapping; keep it as "
                      "`pulumi config set` writes it")
    key = f"{PROJECT}:{MODELS_KEY}"
    listed = config.get(key)
    if listed is None:
        text = stack_edit.set_entry(text, ("config", key), copy.deepcopy(MODELS_DEFAULT))
        listed = MODELS_DEFAULT
    elif isinstance(listed, str):  # the JSON string form
        listed = load_json(listed)
    for name, t in choices.items():
        if not isinstance(listed, dict) or not isinstance(listed.get(name, {}), dict):
            raise Refused(f"make tune --write: {key} in the stack file is not a map from model name to settings; "
                          "fix the stack so `make check` passes, then tune again")
        if name not in listed:
            text = stack_edit.set_entry(text, ("config", key, name), copy.deepcopy(MODELS_DEFAULT.get(name, {})))
        for field, value in (("workers", t.workers), ("batchSize", t.batch_size),
                             ("maxBatchDelayMs", t.max_batch_delay_ms), ("torchThreads", t.torch_threads)):
            text = stack_edit.set_entry(text, ("config", key, name, field), value)
    launcher = {t.cpu_launcher for t in choices.values()}
    if launcher == {True}:
        text = stack_edit.set_entry(text, ("config", full_key("cpu_launcher")), True)
    elif launcher == {False}:
        text = stack_edit.delete_entry(text, ("config", full_key("cpu_launcher")))
    else:
        print("make tune: the models' winners disagree on the CPU launcher (one switch for the server); "
              "cpuLauncher left as it was", file=sys.stderr)
    return text


def write_stack(stack: str, choices: dict[str, Trial]) -> Path:
    """Write stack_text's change into stacks/Pulumi.<stack>.yaml, after the new text passes the strict YAML
    loader and the settings loader (so it never leaves a file `pulumi up` would refuse); atomic (a temporary
    file in the same folder, synced, then renamed over the stack file with its mode), else Refused."""
    path = ROOT / f"stacks/Pulumi.{stack}.yaml"
    with path.open(encoding="utf-8", newline="") as f:
        original = f.read()
    try:
        text = stack_text(original, choices)
        stack_settings(stack, text)
    except ValueError as bad:
        raise Refused(f"make tune --write: the recommendation would make the stack invalid, so {path.name} is "
                      f"unchanged: {bad}") from None
    fd, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tune")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(partial, path.stat().st_mode & 0o777)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make tune", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--budget-s", type=float, default=600.0, help="the whole sweep's time budget (default 600)")
    parser.add_argument("--write", action="store_true", help="write the winners into stacks/Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    try:
        settings, resources, inputs, bodies = plan(args.stack)
        state = machine.require_idle()
    except (Refused, machine.Busy) as problem:
        print(problem, file=sys.stderr)
        return 2
    except ValueError as bad:  # an invalid stack: the loader's message names the key, the value and the fix
        print(f"make tune: {bad}", file=sys.stderr)
        return 2
    began = time.monotonic()
    store = OUT / args.stack / "model-store"
    store.mkdir(parents=True, exist_ok=True)
    report: dict = {"stack": args.stack, "p99TargetMs": settings.defaults.p99_target_ms, "machine": state,
                    "budgetS": args.budget_s, "models": {}}
    engine = Engine()
    try:
        client = engine.client
        ensure_base_image(client)
        image_id, _ = build_declared_image(client, named(resources, "torchserve-image").inputs)
        share = (args.budget_s - (time.monotonic() - began)) / len(settings.models)
        for model in settings.models:
            archive_source(model.source, store)
            start, (results, winner, met, cut) = tune_model(client, inputs, image_id, store, model, bodies[model.name],
                                                           settings.defaults.p99_target_ms, share, state["cores"],
                                                           settings.server.cpu_launcher, on_gpu(settings))
            report["models"][model.name] = {
                "current": vars(start), "recommended": vars(winner.trial), "meetsP99Target": met,
                "budgetCut": cut, "trials": [r.row() for r in results]}
            plots.sweep(model.name, results, winner, settings.defaults.p99_target_ms, OUT / f"{args.stack}-{model.name}.png")
    finally:
        engine.close()
    report["elapsedS"] = round(time.monotonic() - began, 1)
    out = OUT / f"{args.stack}.yaml"
    out.write_text(yaml.safe_dump(report, sort_keys=False))
    for name, m in report["models"].items():
        print(f"{name}: recommended {m['recommended']} (current {m['current']}); p99 target met: {m['meetsP99Target']}")
    print(f"make tune: {report['elapsedS']} s of a {args.budget_s:.0f} s budget; recommendation in {out}")
    if args.write:
        try:
            print(f"wrote {write_stack(args.stack, {n: Trial(**m['recommended']) for n, m in report['models'].items()})}")
        except Refused as problem:
            print(problem, file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
