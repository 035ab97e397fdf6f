"""Training: parameter rendering (pure), validation, components under mocks, and the train → archive
→ serve chain in the dev stack."""
import pytest
from torchserve_deploy import ValidationError
from torchserve_deploy.container.docker_run import render_docker_run
from torchserve_deploy.model.params import Param, render_args, resolve
from torchserve_deploy.model.training import (
    TrainingImage,
    TrainingImageArgs,
    TrainingRun,
    TrainingRunArgs,
    build_training_spec,
)

from infra.settings import load_settings
from tests.mocks import ROOT, evaluate_program, named, only, run_under_mocks

P = "torchserve-deploy:"
SCHEMA = (Param("epochs", "int", 3), Param("lr", "float", 0.05), Param("pretrained", "bool", False),
          Param("layers", "list[int]", []), Param("train_data", "str", "/data/train.csv"))


def test_arguments_follow_argparse_conventions_in_a_stable_order():
    values = resolve(SCHEMA, {"pretrained": True, "layers": [64, 32], "lr": 0.1}, "k", "m")
    assert render_args(values) == ["--epochs", "3", "--layers", "64", "32", "--lr", "0.1", "--pretrained",
                                   "--train_data", "/data/train.csv"]
    assert render_args(resolve(SCHEMA, {"lr": 0.1, "layers": [64, 32], "pretrained": True}, "k", "m")) == \
        render_args(values)  # order of the settings does not matter
    assert "--pretrained" not in render_args(resolve(SCHEMA, {"pretrained": False}, "k", "m"))
    assert "--layers" not in render_args(resolve(SCHEMA, {}, "k", "m"))  # empty list: omitted


def models(train):
    return {P + "models": {"demo": {"path": "models/demo", "train": train}}}


@pytest.mark.parametrize("train,key,message", [
    ({"epochs": "five"}, "epochs", "torchserve-deploy:models.demo.train.epochs: 'five' is not valid. Allowed: an "
     "int (type int). Fix: write epochs: <int>"),
    ({"momentum": 0.9}, "momentum", "torchserve-deploy:models.demo.train.momentum: 0.9 is not valid. Allowed: "
     "parameters the trainer of models/demo declares: bs, epochs, log_frequency, lr, num_worker, pretrained, "
     "train_data, val_data. Fix: remove momentum or declare it in the model's training params"),
    ({"pretrained": "yes"}, "pretrained", None),
    ({"lr": float("nan")}, "lr", None),
    ({"lr": float("inf")}, "lr", None),
    ({"epochs": 5.5}, "epochs", None),
    ({"train_data": "/data/a\nb"}, "train_data", None),
])
def test_bad_training_params_are_refused(train, key, message):
    with pytest.raises(ValidationError) as err:
        load_settings(models(train), stack="dev", root=ROOT)
    assert err.value.key == f"{P}models.demo.train.{key}"
    if message:
        assert str(err.value) == message


def test_training_needs_a_trainer():
    with pytest.raises(ValidationError) as err:
        load_settings({P + "models": {"m": {"path": "tests/corpus/models/valid-no-trainer", "train": {"epochs": 5}}}},
                      stack="dev", root=ROOT)
    assert err.value.key == P + "models.m.train" and "declares a training section" in str(err.value)


def test_missing_data_path_is_refused(tmp_path):
    import shutil

    shutil.copytree(ROOT / "models/demo", tmp_path / "demo")
    shutil.rmtree(tmp_path / "demo/data")
    with pytest.raises(ValidationError) as err:
        load_settings({P + "models": {"demo": {"path": "demo"}}, P + "train": True}, stack="dev", root=tmp_path)
    assert err.value.key == "demo/torchserve-model.yaml: training.data"


def run_args(**kw):
    base = dict(container_name="train-x", image="sha256:img", image_ref="train:tag", arguments=("--epochs", "3"),
                data_dir=ROOT / "models/demo/data", outputs_dir=ROOT / ".build/t/out")
    return TrainingRunArgs(**{**base, **kw})


def test_training_spec_like_the_server():
    spec = build_training_spec(run_args(gpus="0"))
    assert spec.shm_size_mb == 1024 and [(u.name, u.soft) for u in spec.ulimits] == [("memlock", -1), ("stack", 67108864)]
    assert [(m.target, m.read_only) for m in spec.mounts] == [("/data", True), ("/outputs", False)]
    argv = render_docker_run(spec, "sha256:img")
    assert argv[argv.index("--gpus") + 1] == "device=0" and argv[-3:] == ["sha256:img", "--epochs", "3"]
    assert "type=bind,source=" + str(ROOT / "models/demo/data") + ",target=/data,readonly" in argv


def test_run_identity_changes_with_image_params_or_data_only():
    base = run_args().run_digest
    assert run_args(image="sha256:other").run_digest == base  # the ID is how it runs, not what it is
    assert run_args(image_ref="train:new").run_digest != base
    assert run_args(arguments=("--epochs", "4")).run_digest != base
    assert run_args(data_ref="models/other/data").run_digest != base


def test_training_components_under_mocks():
    def build():
        img = TrainingImage("t", TrainingImageArgs(source_dir=ROOT / "models/demo", entrypoint="train.py",
                                                  requirements="requirements-train.txt", project_root=ROOT))
        return TrainingRun("t", run_args(image=img.image_id))

    mocks = run_under_mocks(build)
    image = only(mocks.resources, "docker:index/image:Image")
    assert image.name == "t-image" and image.inputs["build"]["context"] == "models/demo"
    assert image.inputs["build"]["dockerfile"] == "components/torchserve_deploy/model/training_image/Dockerfile"
    assert image.inputs["build"]["args"]["ENTRYPOINT"] == "train.py"
    run = only(mocks.resources, "command:local:Command")
    assert run.name == "t-run" and run.inputs["triggers"] == [run_args().run_digest]
    # Attached: the trainer's log streams into `pulumi up` as it comes, after a line naming its log directory.
    script = run.inputs["create"].splitlines()
    assert script[2].startswith("echo 'training train-x: streaming its log (also written to ")
    assert script[3].startswith("docker run --name train-x --user 1000:1000") and "--detach" not in script[3]
    assert 'exit "$rc"' in run.inputs["create"]


def test_dev_stack_trains_then_archives_the_checkpoint(dev_resources):
    run = named(dev_resources, "train-demo-run").inputs
    archive = named(dev_resources, "model-demo-archive").inputs
    assert "--epochs 5" in run["create"] and "--lr 0.1" in run["create"]
    assert "--serialized-file ../.build/dev/training/demo/model.pt" in archive["create"]
    assert "models/demo/model.pt" not in archive["create"]


def test_archive_follows_the_training_run():
    plain = named(evaluate_program("dev"), "model-demo-archive").inputs["triggers"]
    more = named(evaluate_program("dev", {"models": {"demo": {"path": "models/demo", "train": {"epochs": 6}}}}),
                 "model-demo-archive").inputs["triggers"]
    assert plain != more


def test_without_training_the_shipped_weights_are_archived():
    resources = evaluate_program("dev", {"models": {"demo": {"path": "models/demo"}}})
    assert not [r for r in resources if r.typ.startswith("torchserve:training")]
    assert "--serialized-file ../models/demo/model.pt" in named(resources, "model-demo-archive").inputs["create"]
