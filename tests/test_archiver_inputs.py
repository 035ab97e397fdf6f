"""No manifest can put a file from outside its model directory into an archive. torch-model-archiver 0.12.0 re-reads
its path arguments (it splits --extra-files on commas, strips and glob-expands each entry, follows symlinks, appends
".py" to a handler), so every archiver input is checked in the form the archiver receives it.

Each attack below is first run against the pinned archiver with the check switched off, to show that it does take
the canary file from outside the model directory; then the manifest must be refused. Unusual but safe names are
accepted and archived with nothing but the model directory's own files."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.model import archive as archive_module
from torchserve_deploy.model.archive import ModelArchiveArgs, archive_command
from torchserve_deploy.model.manifest import MANIFEST, load_manifest
from torchserve_deploy.model.source import ModelSource

ARCHIVER = str(Path(sys.executable).parent / "torch-model-archiver")
CANARY = b"CANARY: a file outside the model directory\n"


@pytest.fixture
def repo(tmp_path):
    """A repository with one model directory (models/m) and a secret beside it (outside/secret.txt)."""
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.txt").write_bytes(CANARY)
    model = tmp_path / "models" / "m"
    model.mkdir(parents=True)
    (model / "handler.py").write_text("def handle(data, context):\n    return data\n")
    (model / "model.pt").write_bytes(b"weights")
    (model / "labels.json").write_text("{}")
    return tmp_path


def manifest(model: Path, **fields) -> None:
    (model / MANIFEST).write_text(yaml.safe_dump({"name": "m", "handler": "handler.py", "serializedFile": "model.pt",
                                                  **fields}))


def run_archiver(repo: Path, source: ModelSource) -> dict[str, bytes]:
    """The rendered archive command, run in the repository root as the deploy runs it; the .mar's files."""
    out = repo / "store"
    out.mkdir(exist_ok=True)
    argv = archive_command(ModelArchiveArgs(source=source, export_dir=out, project_root=repo, archiver=ARCHIVER))
    subprocess.run(argv, cwd=repo, check=True, capture_output=True, env={**os.environ, "PYTHONWARNINGS": "ignore"})
    with zipfile.ZipFile(out / "m.mar") as mar:
        return {name: mar.read(name) for name in mar.namelist() if not name.endswith("/")}


def unchecked(repo: Path, handler: str = "handler.py", extra: tuple[str, ...] = ()) -> ModelSource:
    model = repo / "models" / "m"
    return ModelSource(name="m", version="1.0", handler=model / handler, serialized_file=model / "model.pt",
                       extra_files=tuple(model / e for e in extra))


def _comma(model: Path) -> dict:
    (model / "x").write_text("x")
    (model / "x,outside").mkdir()
    (model / "x,outside" / "secret.txt").write_text("decoy")
    return {"extra": ("x,outside/secret.txt",)}


def _glob(name: str):
    """A file really named `name`, a glob pattern that also matches a symlink to a secret outside the model."""
    def attack(model: Path) -> dict:
        (model / name).write_text(f"a file really named {name}")
        (model / "leak").symlink_to(model.parent.parent / "outside" / "secret.txt")
        return {"extra": (name,)}
    return attack


def _handler_without_py(model: Path) -> dict:
    (model / "h").write_text("# the file the manifest names")
    (model / "h.py").symlink_to(model.parent.parent / "outside" / "secret.txt")
    return {"handler": "h"}


ATTACKS = {"comma": _comma, "glob *": _glob("*"), "glob [...]": _glob("[l]eak"), "glob ?": _glob("lea?"),
           "handler without .py": _handler_without_py}


@pytest.mark.parametrize("attack", ATTACKS)
def test_each_attack_takes_the_canary_unless_refused(repo, monkeypatch, attack):
    model = repo / "models" / "m"
    made = ATTACKS[attack](model)
    with monkeypatch.context() as m:  # the check switched off: the pinned archiver does take the file
        m.setattr(archive_module, "archiver_path", lambda key, value, handler=False: value)
        files = run_archiver(repo, unchecked(repo, made.get("handler", "handler.py"), made.get("extra", ())))
    assert CANARY in files.values(), f"{attack}: the archiver did not take the canary; the attack is not real"
    fields = {"handler": made["handler"]} if "handler" in made else {"extraFiles": list(made["extra"])}
    manifest(model, **fields)
    with pytest.raises(ValidationError) as err:
        load_manifest(model, f"models/m/{MANIFEST}")
    assert "torch-model-archiver reads as written" in str(err.value)
    with pytest.raises(ValidationError):  # and the component refuses the rendered path itself
        ModelArchiveArgs(source=unchecked(repo, made.get("handler", "handler.py"), made.get("extra", ())),
                         export_dir=repo / "store", project_root=repo)


@pytest.mark.parametrize("fields,setup", [
    ({"extraFiles": ["leak"]}, lambda m: (m / "leak").symlink_to(m.parent.parent / "outside" / "secret.txt")),
    ({"extraFiles": ["../../outside/secret.txt"]}, lambda m: None),
    ({"extraFiles": ["ABSOLUTE"]}, lambda m: None),
    ({"extraFiles": ["a\nb"]}, lambda m: (m / "a\nb").write_text("x")),
    ({"extraFiles": ["labels.json "]}, lambda m: (m / "labels.json ").write_text("x")),  # stripped: labels.json
    ({"extraFiles": ["sub"]}, lambda m: ((m / "sub").mkdir(), (m / "sub" / "leak").symlink_to(
        m.parent.parent / "outside" / "secret.txt"))),
    ({"handler": "h:x.py"}, lambda m: (m / "h:x.py").write_text("x")),
    ({"serializedFile": "weights"}, lambda m: (m / "weights").symlink_to(m.parent.parent / "outside" / "secret.txt")),
])
def test_paths_leading_out_or_reread_are_refused(repo, fields, setup):
    model = repo / "models" / "m"
    setup(model)
    if fields.get("extraFiles") == ["ABSOLUTE"]:
        fields = {"extraFiles": [str(repo / "outside" / "secret.txt")]}
    manifest(model, **fields)
    with pytest.raises(ValidationError):
        load_manifest(model, f"models/m/{MANIFEST}")


@pytest.mark.parametrize("name", ["labels with spaces.json", "é-ü.json", "a+b@c=d.json", "#hash.json", "x.y.z",
                                  "-leading-dash.json", "n'quote.json"])
def test_unusual_safe_names_are_archived_with_only_the_directorys_own_files(repo, name):
    model = repo / "models" / "m"
    (model / name).write_bytes(b"extra " + name.encode())
    (model / "inside").symlink_to("labels.json")  # a link inside the directory is fine: its target is archived
    manifest(model, extraFiles=[name, "inside"])
    source = load_manifest(model, f"models/m/{MANIFEST}")
    files = run_archiver(repo, source)
    own = {p.read_bytes() for p in model.rglob("*") if p.is_file()}
    assert CANARY not in files.values()
    assert {b for n, b in files.items() if not n.startswith("MAR-INF")} <= own
    assert files[name] == b"extra " + name.encode()


def test_a_model_directory_the_archiver_would_glob_is_refused(repo):
    from infra.settings import load_settings

    shutil.copytree(repo / "models" / "m", repo / "models" / "[m]")
    manifest(repo / "models" / "[m]")
    with pytest.raises(ValidationError) as err:
        load_settings({"torchserve-deploy:models": '{"m": {"path": "models/[m]"}}'}, stack="dev", root=repo)
    assert err.value.key == "torchserve-deploy:models.m.path"


def test_files_of_one_name_are_refused_they_would_replace_each_other(repo):
    """The archiver copies every input into one folder: sub/handler.py would silently replace handler.py."""
    model = repo / "models" / "m"
    (model / "sub").mkdir()
    (model / "sub" / "handler.py").write_text("# NOT the declared handler")
    manifest(model, extraFiles=["sub/handler.py"])
    with pytest.raises(ValidationError, match="would replace the --handler named handler.py"):
        load_manifest(model, f"models/m/{MANIFEST}")


def test_a_model_directory_starting_with_a_dash_is_refused(repo):
    from infra.settings import load_settings

    shutil.copytree(repo / "models" / "m", repo / "-m")
    manifest(repo / "-m")
    with pytest.raises(ValidationError) as err:
        load_settings({"torchserve-deploy:models": '{"m": {"path": "-m"}}'}, stack="dev", root=repo)
    assert err.value.key == "torchserve-deploy:models.m.path" and "not starting with -" in str(err.value)


def test_a_trained_checkpoint_left_as_a_link_is_not_archived(repo):
    """The training code writes the checkpoint during `up`: the archive step refuses a link (the archiver would
    follow it to any file the deploying user can read), and archives a regular file."""
    from torchserve_deploy.model.archive import ModelArchive

    from infra.offline import run_under_mocks

    outputs = repo / ".build" / "training"
    outputs.mkdir(parents=True)
    checkpoint = outputs / "model.pt"
    args = ModelArchiveArgs(source=unchecked(repo), export_dir=repo / "store", project_root=repo, archiver=ARCHIVER,
                            trained_checkpoint=checkpoint, trained_by="run-1")
    mocks = run_under_mocks(lambda: ModelArchive("m", args))
    create = [r for r in mocks.resources if r.name == "m-archive"][0].inputs["create"]
    checkpoint.symlink_to(repo / "outside" / "secret.txt")
    done = subprocess.run(["/bin/sh", "-c", create], cwd=repo, capture_output=True, text=True)
    assert done.returncode == 1 and "refusing to archive .build/training/model.pt" in done.stderr
    assert not (repo / "store" / "m.mar").exists()
    checkpoint.unlink()
    checkpoint.write_bytes(b"trained weights")
    subprocess.run(["/bin/sh", "-c", create], cwd=repo, check=True, capture_output=True)
    with zipfile.ZipFile(repo / "store" / "m.mar") as mar:
        assert mar.read("model.pt") == b"trained weights"


def test_the_archiver_container_sees_the_workspace_and_paths_from_it(repo):
    """In a container (compose) the archiver reads the mounted workspace, whatever directory the host-side command
    would run in: the paths are rendered from the workspace, and a workspace not holding every input is refused."""
    from torchserve_deploy.container.spec import Mount
    from torchserve_deploy.model.archive import WORKSPACE, build_archiver_spec

    args = ModelArchiveArgs(source=unchecked(repo), export_dir=repo / "store", project_root=repo / "infra")
    store = Mount("/home/model-server/model-store", "store", "volume")
    spec = build_archiver_spec(args, "img:1", store, "archive-m", workspace=repo)
    assert spec.working_dir == WORKSPACE and spec.mounts[0] == Mount(WORKSPACE, str(repo), "bind", read_only=True)
    assert "models/m/handler.py" in spec.command and not any(c.startswith("../") for c in spec.command)
    with pytest.raises(ValidationError, match="a directory holding every input"):
        build_archiver_spec(args, "img:1", store, "archive-m", workspace=repo / "infra")
