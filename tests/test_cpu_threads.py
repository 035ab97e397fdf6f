"""CPU serving knobs make tune sweeps (issue 15): torch threads per worker (`torchThreads`, applied by the image's
worker hook) and TorchServe's CPU launcher (`cpuLauncher`). Rendering, settings and the hook under TorchServe's
real Service class, offline; the real container with both on is in tests/test_docker_cpu.py."""
import json
import subprocess
import sys
import textwrap

import pytest
from torchserve_deploy.container.spec import Mount
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.serve.config_properties import ModelServing, render_config_properties, torch_threads_env
from torchserve_deploy.serve.server import TorchServeServerArgs, build_server_spec

from tests.logs import parse_log_lines
from tests.mocks import ROOT, evaluate_program, only

IMAGE_DIR = ROOT / "components/torchserve_deploy/image/docker"


def props(text):
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def server_args(models, **kw):
    return TorchServeServerArgs(container_name="t", image="i", image_ref="i", models=models,
                                store=Mount("/home/model-server/model-store", "/srv/store", "bind"), **kw)


def test_cpu_launcher_is_off_by_default_and_rendered_when_on():
    models = (ModelServing("m"),)
    assert not [k for k in props(render_config_properties(models)) if k.startswith("cpu_launcher")]
    on = props(render_config_properties(models, cpu_launcher=True))
    # Logical cores: a container's CPUs are vCPUs; physical-only would pin half of them.
    assert (on["cpu_launcher_enable"], on["cpu_launcher_args"]) == ("true", "--use_logical_core")


def test_threads_reach_the_container_env_only_when_set_sorted_by_model():
    plain = build_server_spec(server_args((ModelServing("a"), ModelServing("b"))))
    assert "TS_TORCH_THREADS" not in dict(plain.env)  # unset: no env, so existing stacks see no diff
    spec = build_server_spec(server_args((ModelServing("zeta", torch_threads=1), ModelServing("b"),
                                          ModelServing("alpha", torch_threads=4))))
    assert dict(spec.env)["TS_TORCH_THREADS"] == "alpha=4 zeta=1"
    assert torch_threads_env((ModelServing("m", torch_threads=2),)) == "m=2"


@pytest.mark.parametrize("value", [-1, 257, True, 1.5, "2"])
def test_thread_count_is_validated(value):
    with pytest.raises(ValidationError, match="ModelServing.torch_threads"):
        ModelServing("m", torch_threads=value)


@pytest.mark.parametrize(("entry", "key", "fix"), [
    ({"torchThreads": "2"}, "models.demo.torchThreads", "set torchserve-deploy:models.demo.torchThreads to an unquoted "
     "integer in 0-256, or remove it to take the default"),
    ({"torchThreads": 257}, "models.demo.torchThreads", "an unquoted integer in 0-256"),
    ({"workers": 65}, "models.demo.workers", "an unquoted integer in 1-64"),
    ({"threads": 2}, "models.demo.threads", "remove torchserve-deploy:models.demo.threads (a model entry holds only "
     "path, workers,"),
    ({"batch_size": 0}, "models.demo.batch_size", "set torchserve-deploy:models.demo.batch_size to an unquoted integer "
     "in 1-1024"),
])
def test_a_model_entry_error_names_the_field_and_its_own_fix(entry, key, fix):
    from infra.settings import load_settings

    models = {"demo": {"path": "models/demo", **entry}}
    with pytest.raises(ValidationError) as err:
        load_settings({"torchserve-deploy:models": json.dumps(models)}, stack="dev", root=ROOT)
    message = str(err.value)
    assert message.startswith(f"torchserve-deploy:{key}: ") and fix in message.split(". Fix: ", 1)[1], message


def test_cpu_launcher_is_refused_with_gpus():
    with pytest.raises(ValidationError, match="cpu_launcher"):
        server_args((ModelServing("m"),), cpu_launcher=True, gpus="all")


def test_stack_settings_reach_the_program_per_model_over_the_default():
    resources = evaluate_program("dev", {"cpuLauncher": True, "torchThreads": 3,
                                         "models": {"demo": {"path": "models/demo", "torchThreads": 1}}})
    container = only(resources, "docker:index/container:Container").inputs
    assert "TS_TORCH_THREADS=demo=1" in container["envs"]
    config = [r for r in resources if r.typ == "command:local:Command" and "cpu_launcher_enable=true"
              in str(r.inputs.get("stdin", ""))]
    assert config, "config.properties with the CPU launcher was not written for the container"
    default = only(evaluate_program("dev", {"torchThreads": 3}), "docker:index/container:Container").inputs
    assert "TS_TORCH_THREADS=demo=3" in default["envs"]


def test_fleet_task_carries_the_threads_too():
    task = only(evaluate_program("fleet", {"torchThreads": 2}), "aws:ecs/taskDefinition:TaskDefinition").inputs
    server = [c for c in json.loads(task["containerDefinitions"]) if c["name"] != "model-sync"][0]
    assert {"name": "TS_TORCH_THREADS", "value": "demo=2"} in server["environment"]


HOOKED = textwrap.dedent("""
    import json, sys, torch
    sys.path.insert(0, {image_dir!r})
    import ts_observe
    assert ts_observe.install(["/venv/lib/python3.11/site-packages/ts/model_service_worker.py"])
    from ts.service import Service
    before = torch.get_num_threads()
    Service({model!r}, "/tmp", {{"model": {{"modelVersion": "1.0"}}}}, lambda d, c: d, None, 1)
    print(json.dumps({{"before": before, "after": torch.get_num_threads()}}))
""")


def run_hooked(model, env_value):
    env = {"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "2", "TS_TORCH_THREADS": env_value}
    out = subprocess.run([sys.executable, "-c", HOOKED.format(image_dir=str(IMAGE_DIR), model=model)],
                         capture_output=True, text=True, timeout=120, env=env)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    return json.loads(lines[-1]), parse_log_lines(lines[:-1])


def test_the_worker_hook_sets_a_listed_models_threads_before_its_handler_loads():
    threads, records = run_hooked("demo", "other=1 demo=3 bad=x")
    assert threads == {"before": 2, "after": 3}
    assert [r["message"] for r in records] == ["TS_TORCH_THREADS: ignored bad=x (each item is name=1..256)",
                                               "torch threads for model demo: 3"]


def test_a_model_not_listed_keeps_torchs_default():
    threads, records = run_hooked("wide", "demo=3")
    assert threads == {"before": 2, "after": 2} and records == []


def test_the_env_value_is_parsed_strictly():
    sys.path.insert(0, str(IMAGE_DIR))
    try:
        import ts_observe
    finally:
        sys.path.remove(str(IMAGE_DIR))
    assert ts_observe.threads_by_model("a=1  b=0 c=-1 d= =4 e=2x f=16") == ({"a": 1, "f": 16},
                                                                          ["b=0", "c=-1", "d=", "=4", "e=2x"])
    # Unicode digits (str.isdigit() takes them), over the 256 cap, a leading zero, a name that is not a model
    # name: all ignored, none raises; a name that is a prefix of another is its own item; the last duplicate wins.
    odd = "u=\u00b2 v=\u0663 w=257 x=99999999999999999999 y=08 1z=2 demo=2 demo2=3 dem=4 demo=5"
    assert ts_observe.threads_by_model(odd) == ({"demo": 5, "demo2": 3, "dem": 4},
                                                ["u=\u00b2", "v=\u0663", "w=257", "x=99999999999999999999", "y=08", "1z=2"])
