"""make bench's own logic, offline: statistics and targets, the idle-machine refusal, the start breakdown,
GPU sampling's parser, the in-process model loader, the results file, and --gpu without a GPU."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys

import pytest

from bench import gpu, limits, machine, results, startup
from bench.stats import AT_LEAST, AT_MOST, median, paired_ratios
from tests.mocks import ROOT


def test_a_target_counts_only_when_the_whole_spread_is_on_its_side():
    assert AT_LEAST(2.0).met(2.1, 3.0) and not AT_LEAST(2.0).met(1.9, 3.0)
    assert AT_MOST(1.0).met(0.5, 1.0) and not AT_MOST(1.0).met(0.5, 1.01)


def test_ratios_pair_interleaved_runs():
    assert paired_ratios([4.0, 6.0, 9.0], [2.0, 2.0, 3.0]) == [2.0, 3.0, 3.0]
    with pytest.raises(AssertionError):
        paired_ratios([1.0], [1.0, 2.0])
    assert median([3.0, 1.0, 2.0]) == 2.0


def test_measure_runs_keeps_samples_median_and_spread():
    m = results.measure_runs("x", [10.0, 30.0, 20.0], "req/s", [5.0, 10.0, 10.0], target=AT_LEAST(2.0))
    assert (m.value, m.baseline, m.ratio, m.ratio_spread, m.runs) == (20.0, 10.0, 2.0, (2.0, 3.0), 3)
    assert m.met is True and m.samples["values"] == [10.0, 30.0, 20.0]
    assert results.measure_runs("x", [3.0, 1.0], "s", [2.0, 2.0], target=AT_MOST(1.0)).met is False


def test_bench_refuses_a_busy_machine(monkeypatch):
    monkeypatch.setattr(machine, "busy_share", lambda seconds=2.0: 0.9)
    with pytest.raises(machine.Busy, match="BENCH_MAX_BUSY"):
        machine.require_idle()
    monkeypatch.setattr(machine, "busy_share", lambda seconds=2.0: 0.01)
    state = machine.require_idle()
    assert state["cores"] == os.cpu_count() and len(state["loadavg"]) == 3


def test_cpu_model_is_recorded_with_the_machine():
    info = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz\nflags\t: fpu\n"
    assert machine.cpu_model(info) == "Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz"
    assert machine.cpu_model("processor\t: 0\n") == "unknown"  # e.g. arm64 kernels print no model name


def test_busy_share_reads_proc_stat():
    assert 0.0 <= machine.busy_share(0.2) <= 1.0


class FakeContainer:
    def __init__(self, started: str, log: str) -> None:
        self.attrs = {"State": {"StartedAt": started, "Status": "running"}}
        self.log = log

    def reload(self) -> None:
        pass

    def logs(self, timestamps: bool = False, tail: int | None = None) -> bytes:
        return self.log.encode()


def test_start_breakdown_from_log_timestamps():
    log = "\n".join([
        "2026-11-22T07:00:01.500000000Z INFO Torchserve version: 0.12.0",
        "2026-11-22T07:00:02.000000000Z Model server started.",
        "2026-11-22T07:00:03.250000000Z INFO W-9000-demo_1.0-stdout MODEL_LOG - Listening on addr:port: 127.0.0.1:9000",
        "2026-11-22T07:00:03.300000000Z INFO W-9000-demo_1.0-stdout MODEL_LOG - Torch worker started.",
        "2026-11-22T07:00:03.500000000Z INFO W-9000-demo_1.0 WorkerThread - Backend response time: 33",
    ])
    phases = startup.breakdown(FakeContainer("2026-11-22T07:00:00.000000000Z", log), ready_s=3.75)
    assert phases == {"jvm start + entrypoint": 1.5, "frontend init (config, ports)": 0.5,
                      "worker: python start + imports": 1.25, "model load": 0.25, "to READY (healthz answers)": 0.25}
    missing = startup.breakdown(FakeContainer("2026-11-22T07:00:00Z", log.splitlines()[0]), ready_s=2.0)
    assert missing["model load"] is None and missing["to READY (healthz answers)"] == 0.5


def test_gpu_sampler_parses_nvidia_smi_csv():
    assert gpu.parse("87, 30000, 81559\n12, 100, 81559\n") == [(87.0, 30000.0, 81559.0), (12.0, 100.0, 81559.0)]
    assert gpu.GpuSampler(enabled=False).summary() == {}


def test_in_process_loader_picks_the_top_level_module(tmp_path):
    import importlib.util

    import torch
    spec = importlib.util.spec_from_file_location("bench_cnn_for_test", ROOT / "bench/models/cnn/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # not as "model": the demo's tests import their own module by that name
    weights = tmp_path / "cnn.pt"
    torch.save(module.ResNet18Class().state_dict(), weights)
    model = limits.load_model(ROOT / "bench/models/cnn/model.py", weights)
    assert type(model).__name__ == "ResNet18Class" and not model.training
    assert tuple(model(torch.rand(2, 48)).shape) == (2, 10)
    assert limits.throughput(model, 48, batch=2, seconds=0.2) > 0


def test_results_file_and_report(tmp_path, monkeypatch):
    monkeypatch.setattr(results, "RESULTS", tmp_path / "results.json")
    monkeypatch.setattr(results, "REPORT", tmp_path / "docs/benchmarks.md")
    (tmp_path / "docs/bench").mkdir(parents=True)
    picture = tmp_path / "docs/bench/serving-demo.png"
    picture.write_bytes(b"png")
    rows = [results.measure_runs("demo: requests/s, generated config vs stock", [3.0, 2.0, 4.0], "req/s",
                                 [1.0, 1.0, 1.0], target=AT_LEAST(2.0))]
    results.write(rows, "make bench", "notes", {"cores": 2, "loadavg": [0.1, 0.2, 0.3], "busy_share": 0.01}, [picture])
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["machine"]["cores"] == 2 and data["rows"][0]["ratio_spread"] == [2.0, 4.0]
    assert results.load_rows(tmp_path / "results.json")[0]["value"] == 3.0
    report = (tmp_path / "docs/benchmarks.md").read_text()
    assert "| 2.0–4.0 | 3 | >= 2.0 | yes |" in report and "![serving-demo](bench/serving-demo.png)" in report


def test_committed_results_hold_spread_and_targets():
    rows = results.load_rows()
    repeated = [r for r in rows if r["runs"] >= 3]
    assert repeated, "bench/results.json has no repeated measurement: run make bench"
    for r in repeated:
        lo, hi = r["ratio_spread"]
        assert lo <= r["ratio"] <= hi and len(r["samples"]["values"]) == r["runs"], r
    for r in rows:  # every stated target has a verdict, and the verdict follows from the spread
        if r["target"]:
            op, bound = r["target"].split()
            lo, hi = r["ratio_spread"] or (r["ratio"], r["ratio"])
            assert r["met"] == (lo >= float(bound) if op == ">=" else hi <= float(bound)), r
    report = (ROOT / "docs/benchmarks.md").read_text()
    for row in rows:
        assert row["name"] in report
    for picture in ROOT.glob("docs/bench/*.png"):
        assert f"(bench/{picture.name})" in report


def test_gpu_mode_fails_cleanly_without_a_gpu(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}  # an empty PATH folder: no nvidia-smi, whatever the machine has
    out = subprocess.run([sys.executable, "-m", "bench", "--gpu"], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 2, out.stderr
    assert "nvidia-smi is not installed" in out.stderr and "Traceback" not in out.stderr


# --- make tune: the search and its outputs ---------------------------------------------------------------

from bench import tune, tune_search  # noqa: E402
from bench.configs import trial_serving  # noqa: E402
from bench.tune_search import Result, Trial  # noqa: E402
from infra.settings import load_settings  # noqa: E402
from tests.mocks import evaluate_program, only  # noqa: E402

CORES = 4


def fake_model(trial: Trial) -> Result:
    """More workers and bigger batches serve more, at a higher p99; delay adds latency and a little throughput.
    Threads share the cores: workers × threads beyond CORES (torch's default is one thread per core) slows every
    worker down, and the CPU launcher's pinning adds a little."""
    busy = trial.workers * (trial.torch_threads or CORES)
    contention = max(1.0, busy / CORES)
    rps = ((100 * trial.workers ** 0.5 * (1 + trial.batch_size) ** 0.5 + trial.max_batch_delay_ms)
           * min(busy, CORES) / CORES / contention * (1.1 if trial.cpu_launcher else 1.0))
    p99 = (10 * trial.batch_size + 2 * trial.max_batch_delay_ms + 5 * trial.workers) * contention
    return Result(trial, rps, p99 / 2, p99)


class Clock:
    def __init__(self, per_call: float) -> None:
        self.now, self.per_call = 0.0, per_call

    def __call__(self) -> float:
        self.now += self.per_call
        return self.now


def test_tuner_sweeps_threads_and_the_cpu_launcher_within_the_cores():
    grid = tune_search.axes(CORES)
    assert list(grid) == ["workers", "torch_threads", "batch_size", "max_batch_delay_ms", "cpu_launcher"]
    values = {axis: [m[axis] for m in moves] for axis, moves in grid.items() if axis != "workers"}
    assert values["torch_threads"] == [0, 1, 2, 4] and values["cpu_launcher"] == [False, True]
    # Each worker count with torch's default threads and with its share of the cores.
    assert [(m["workers"], m["torch_threads"]) for m in grid["workers"]] == [(1, 0), (1, 4), (2, 0), (2, 2), (4, 0),
                                                                             (4, 1)]
    assert [m["torch_threads"] for m in tune_search.axes(1)["torch_threads"]] == [0, 1]
    assert [m["torch_threads"] for m in tune_search.axes(16)["torch_threads"]] == [0, 1, 2, 4, 8, 16]
    assert "cpu_launcher" not in tune_search.axes(CORES, gpu=True)  # GPU servers never take the launcher
    assert set(tune_search.TRIAL_FIELDS) == {"workers", "batch_size", "max_batch_delay_ms", "torch_threads",
                                            "cpu_launcher"}
    assert Trial(2, 8, 5, 2, True).label() == "w2 b8 d5 t2 L" and Trial(1, 1, 0).label() == "w1 b1 d0 t0"


def test_tuner_finds_the_fastest_config_within_the_p99_bound():
    grid = tune_search.axes(CORES)
    results, winner, met, cut = tune_search.search(fake_model, Trial(1, 4, 5), grid, 100.0, 1e9)
    assert met and not cut and winner.p99_ms <= 100.0
    everything = [fake_model(Trial(*values)) for values in itertools.product(
        (1, 2, 4), (1, 2, 4, 8, 16), (1, 2, 5, 10, 20), (0, 1, 2, 4), (False, True))]
    best_possible = max(r.rps for r in everything if r.p99_ms <= 100.0)
    assert winner.rps >= 0.9 * best_possible  # a coordinate search, not exhaustive: close to the grid's best
    assert len(results) == len({r.trial for r in results}) <= 1 + sum(map(len, grid.values()))  # no trial twice
    # More than one worker on torch's default threads oversubscribes the cores: the winner gives each worker its
    # share, and takes the launcher's pinning.
    t = winner.trial
    assert t.workers > 1 and t.workers * t.torch_threads <= CORES and t.torch_threads > 0 and t.cpu_launcher, t


def test_tuner_without_a_feasible_config_picks_the_lowest_p99_and_says_so():
    _, winner, met, _ = tune_search.search(fake_model, Trial(1, 4, 5), tune_search.axes(CORES), 1.0, 1e9)
    t = winner.trial
    assert not met and (t.workers, t.batch_size, t.max_batch_delay_ms) == (1, 1, 1)


def test_tuner_stops_at_its_budget():
    grid = tune_search.axes(8)
    results, _, _, cut = tune_search.search(fake_model, Trial(1, 4, 5), grid, 100.0, budget_s=10.0,
                                            clock=Clock(per_call=1.0))
    assert cut and 1 <= len(results) < 1 + sum(map(len, grid.values()))


def test_a_trial_is_served_as_a_stack_with_those_settings_declares_it():
    config, threads = trial_serving("demo", Trial(2, 8, 5, 1, True))
    assert "cpu_launcher_enable=true" in config and "cpu_launcher_args=--use_logical_core" in config
    assert '"minWorkers":2' in config.replace(" ", "") and threads == "demo=1"
    config, threads = trial_serving("demo", Trial(1, 4, 5))
    assert "cpu_launcher" not in config and threads == ""
    # The trial is what the dev stack declares with the winner's settings: the tuner measures what --write ships.
    settings = {"cpuLauncher": True, "models": {"demo": {"path": "models/demo", "workers": 2, "batchSize": 8,
                                                         "maxBatchDelayMs": 5, "torchThreads": 1}}}
    resources = evaluate_program("dev", settings)
    declared = [r.inputs["stdin"] for r in resources if r.typ == "command:local:Command"
                and "load_models=" in r.inputs.get("stdin", "")]
    assert declared == [trial_serving("demo", Trial(2, 8, 5, 1, True))[0]]
    assert "TS_TORCH_THREADS=demo=1" in only(resources, "docker:index/container:Container").inputs["envs"]


def test_tuner_refuses_a_stack_without_a_local_container():
    out = subprocess.run([sys.executable, "-m", "bench.tune", "--stack", "staging"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2 and "declares no container on this machine's Docker engine" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr
    out = subprocess.run([sys.executable, "-m", "bench.tune", "--stack", "../etc"], cwd=ROOT, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 2 and "no stack '../etc'" in out.stderr and "Traceback" not in out.stderr


def test_tuner_writes_the_winners_into_the_stack_file(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    original = (ROOT / "stacks/Pulumi.dev.yaml").read_text()
    (tmp_path / "stacks/Pulumi.dev.yaml").write_text(original)
    monkeypatch.setattr(tune, "ROOT", tmp_path)
    (tmp_path / "stacks/Pulumi.dev.yaml").chmod(0o640)
    tune.write_stack("dev", {"demo": Trial(2, 8, 10, 1, True)})
    assert (tmp_path / "stacks/Pulumi.dev.yaml").stat().st_mode & 0o777 == 0o640  # the file's mode is kept
    assert [p.name for p in (tmp_path / "stacks").iterdir()] == ["Pulumi.dev.yaml"]  # no temporary file left
    text = (tmp_path / "stacks/Pulumi.dev.yaml").read_text()
    assert text.startswith(original[: original.index("config:")])  # the header comments stay
    import yaml
    config = yaml.safe_load(text)["config"]
    demo = config["torchserve-deploy:models"]["demo"]
    assert (demo["workers"], demo["batchSize"], demo["maxBatchDelayMs"], demo["torchThreads"], demo["path"]) == (
        2, 8, 10, 1, "models/demo")
    assert config["torchserve-deploy:cpuLauncher"] is True
    written = load_settings(config, stack="dev", root=ROOT)  # what --write leaves is a valid stack
    assert written.server.cpu_launcher and written.models[0].torch_threads == 1
    tune.write_stack("dev", {"demo": Trial(1, 4, 5)})  # off is the default: the key goes
    config = yaml.safe_load((tmp_path / "stacks/Pulumi.dev.yaml").read_text())["config"]
    assert "torchserve-deploy:cpuLauncher" not in config and config["torchserve-deploy:models"]["demo"]["torchThreads"] == 0


def test_tuner_leaves_the_launcher_alone_when_the_models_disagree(capsys):
    text = tune.stack_text("config:\n  torchserve-deploy:cpuLauncher: true\n",
                           {"demo": Trial(1, 4, 5, 0, False), "b": Trial(2, 4, 5, 1, True)})
    import yaml
    assert yaml.safe_load(text)["config"]["torchserve-deploy:cpuLauncher"] is True
    assert "disagree on the CPU launcher" in capsys.readouterr().err


STACK_WITH_NEIGHBOURS = """# dev stack; config: see the README (a comment that names config:)
encryptionsalt: v1:abc=:v1:def:ghi
config:
  torchserve-deploy:host: local   # a comment inside the block
  torchserve-deploy:models: '{"demo": {"path": "models/demo", "workers": 1}}'
secretsprovider: passphrase
"""


def test_tuner_edits_only_the_entries_it_sets():
    """The header comment (even one that says `config:`), encryptionsalt before the block, the comment inside it
    and keys after it stay byte for byte; the models (here in the JSON string form) get the winner; strict YAML
    still loads (the line-level editing itself: tests/test_stack_edit.py)."""
    from torchserve_deploy.yaml_strict import load_yaml

    text = tune.stack_text(STACK_WITH_NEIGHBOURS, {"demo": Trial(2, 8, 10, 1, False)})
    head = STACK_WITH_NEIGHBOURS[: STACK_WITH_NEIGHBOURS.index("\nconfig:") + 1]
    assert text.startswith(head) and text.endswith("\nsecretsprovider: passphrase\n"), text
    data = load_yaml(text, "stack")  # repeated keys refused
    assert data["encryptionsalt"] == "v1:abc=:v1:def:ghi" and data["secretsprovider"] == "passphrase"
    assert data["config"]["torchserve-deploy:host"] == "local"
    assert "  torchserve-deploy:host: local   # a comment inside the block" in text.splitlines()
    assert data["config"]["torchserve-deploy:models"] == {"demo": {
        "path": "models/demo", "workers": 2, "batchSize": 8, "maxBatchDelayMs": 10, "torchThreads": 1}}
    assert tune.stack_text(text, {"demo": Trial(2, 8, 10, 1, False)}) == text  # idempotent: no spurious diff
    # A stack that lists no models gets the model with the path the loader gives it by default.
    bare = tune.stack_text("config:\n  torchserve-deploy:host: local\n", {"demo": Trial(2, 4, 5)})
    assert yaml_models(bare) == {"demo": {"path": "models/demo", "workers": 2, "batchSize": 4, "maxBatchDelayMs": 5,
                                          "torchThreads": 0}}
    assert yaml_models(tune.stack_text("# only a comment\n", {"demo": Trial(1, 4, 5)}))["demo"]["workers"] == 1
    for broken in ("config: [1, 2]\n", "- a list\n"):
        with pytest.raises(tune.Refused, match="not a mapping with a `config:` mapping"):
            tune.stack_text(broken, {"demo": Trial(1, 4, 5)})
    for broken in ("config:\n  torchserve-deploy:models: '[1]'\n", "config:\n  torchserve-deploy:models: {demo: 3}\n"):
        with pytest.raises(tune.Refused, match="is not a map from model name to settings"):
            tune.stack_text(broken, {"demo": Trial(1, 4, 5)})


def yaml_models(text: str) -> dict:
    import yaml

    return yaml.safe_load(text)["config"]["torchserve-deploy:models"]


def test_tuner_never_writes_a_stack_the_loader_refuses(tmp_path, monkeypatch):
    (tmp_path / "stacks").mkdir()
    original = (ROOT / "stacks/Pulumi.dev.yaml").read_text()
    (tmp_path / "stacks/Pulumi.dev.yaml").write_text(original)
    monkeypatch.setattr(tune, "ROOT", tmp_path)
    with pytest.raises(tune.Refused, match=r"would make the stack invalid.*models\.ghost\.path"):
        tune.write_stack("dev", {"ghost": Trial(1, 4, 5)})  # a model with no directory: refused, file untouched
    assert (tmp_path / "stacks/Pulumi.dev.yaml").read_text() == original
    assert [p.name for p in (tmp_path / "stacks").iterdir()] == ["Pulumi.dev.yaml"]  # no partial file left


def test_tuner_moves_stay_within_what_a_stack_accepts():
    """On a big host the sweep never proposes workers over 64 or threads over 256 (the settings' ranges)."""
    from torchserve_deploy.serve.config_properties import MAX_TORCH_THREADS, MAX_WORKERS_PER_MODEL

    for cores in (0, 1, 96, 128, 1000):
        grid = tune_search.axes(cores)
        workers = [m["workers"] for m in grid["workers"]]
        threads = [m["torch_threads"] for moves in (grid["workers"], grid["torch_threads"]) for m in moves]
        assert 1 <= min(workers) and max(workers) <= MAX_WORKERS_PER_MODEL, (cores, workers)
        assert 0 <= min(threads) and max(threads) <= MAX_TORCH_THREADS, (cores, threads)
    assert max(m["workers"] for m in tune_search.axes(128)["workers"]) == 64


def test_tuner_does_not_sweep_the_launcher_for_a_cuda_image_without_gpus():
    """The stack refuses cpuLauncher with a cuda image even with no `gpus` set: the tuner asks the settings, not
    the container spec."""
    cuda = load_settings({"torchserve-deploy:accelerator": "cuda", "torchserve-deploy:cudaVersion": "cu128"}, stack="dev",
                         root=ROOT)
    assert cuda.gpus is None and tune.on_gpu(cuda)
    assert not tune.on_gpu(load_settings({}, stack="dev", root=ROOT))


def test_a_served_trial_makes_its_own_work_folder(tmp_path, monkeypatch):
    # `make tune` in a fresh clone serves its first trial before anything else has made .build/bench/.
    from bench import serving

    class Reached(Exception):
        pass

    def stop(client, spec, image_id):
        raise Reached(spec["mounts"])

    work = tmp_path / "fresh" / ".build" / "bench"
    monkeypatch.setattr(serving, "WORK", work)
    monkeypatch.setattr(serving, "realize_container", stop)
    _, _, inputs, _ = tune.plan("dev")  # the dev stack's own declared container, as `make tune` serves it
    with pytest.raises(Reached) as reached:
        serving.serve_and_load(None, inputs, "sha256:0", tmp_path / "store", "demo", "a=b\n", {})
    assert (work / "config.properties").read_text() == "a=b\n"
    assert {m["source"] for m in reached.value.args[0]} == {str(tmp_path / "store"), str(work / "config.properties")}
