"""The package as a consumer gets it: the wheel is built, installed into a fresh venv, and
examples/consumer (a Pulumi program outside the package) is evaluated there under mocks.

Offline: the wheel is built without build isolation (setuptools from the repository venv), installed
with --no-deps --no-index, and the fresh venv finds the dependencies through a .pth line naming the
repository venv's site-packages. A path added by a .pth line is not a site directory, so the
repository's editable install (a .pth in that directory pointing at components/) is not activated:
the program can only import torchserve_deploy from the installed wheel.

Nothing is written into the repository: the build runs on a copy of the sources (setuptools builds
in-tree, writing build/ and *.egg-info beside the sources), everything else under pytest's tmp dirs.
"""
from __future__ import annotations

import email.parser
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from pathlib import Path

import pytest

from tests.mocks import ROOT

PACKAGE = "torchserve_deploy"
CONSUMER = ROOT / "examples" / "consumer"
CONSUMER_PROJECT = "torchserve-consumer"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The version is declared once, in the package (pyproject reads it: dynamic = ["version"]).
VERSION = re.search(r'^__version__ = "([^"]+)"', (ROOT / "components/torchserve_deploy/__init__.py").read_text(),
                    re.M).group(1)
assert PYPROJECT["project"]["dynamic"] == ["version"]
PACKAGE_DATA = (
    "image/docker/Dockerfile",
    "image/docker/ts-healthcheck.py",
    "image/docker/ts-entrypoint.sh",
    "aws/host/gpu-host-setup.sh",
    "aws/host/mount-model-store.sh",
    "aws/host/torchserve-fetch.sh",
    "model/training_image/Dockerfile",
    "py.typed",
)
RUNTIME_DEPS = ("pulumi", "pulumi-docker", "pulumi-command", "pydantic", "pyyaml", "torch-model-archiver")
AWS_DEPS = ("pulumi-aws",)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist", ".venv", ".model-store")

RUNNER = r'''
"""Evaluate a Pulumi program under mocks (as the engine would, from its directory) and dump what it did."""
import json
import runpy
import sys
from pathlib import Path

import pulumi

program, out, project, config = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])


class Mocks(pulumi.runtime.Mocks):
    def __init__(self):
        self.resources = []

    def new_resource(self, args):
        self.resources.append({"type": args.typ, "name": args.name, "custom": bool(args.custom),
                               "inputs": dict(args.inputs)})
        state = dict(args.inputs)
        if args.typ == "docker:index/image:Image":
            state["repoDigest"] = "sha256:" + "0" * 64  # provider-computed: the local image ID
        return [f"{args.name}-id", state]

    def call(self, args):
        return {}


mocks = Mocks()
pulumi.runtime.set_mocks(mocks, project=project, stack="test", preview=False)
pulumi.runtime.set_all_config({f"{project}:{k}": v for k, v in config.items()}, [])
exports, original_export = {}, pulumi.export


def export(name, value):
    exports[name] = value
    original_export(name, value)


pulumi.export = export
resolved = {}


@pulumi.runtime.test
def evaluate():
    runpy.run_path(str(program / "__main__.py"), run_name="__main__")
    return pulumi.Output.all(**{k: pulumi.Output.from_input(v) for k, v in exports.items()}).apply(resolved.update)


evaluate()
modules = {name: getattr(m, "__file__", None) for name, m in sorted(sys.modules.items())
           if name.split(".")[0] in ("torchserve_deploy", "infra", "tests", "components")}
out.write_text(json.dumps({"resources": mocks.resources, "exports": resolved, "modules": modules},
                          sort_keys=True, default=repr))
'''


def _env() -> dict[str, str]:
    """The subprocesses' environment: no inherited paths, pip configuration or bytecode writes."""
    env = {k: val for k, val in os.environ.items()
           if not k.startswith("PIP_") and k not in ("PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_CACHE_DIR="1", PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1", PYTHONDONTWRITEBYTECODE="1")
    return env


def _run(argv: list[str], cwd: Path, timeout: int = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, f"{argv} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


def _copy_sources(dest: Path) -> Path:
    """What setuptools reads to build the wheel (pyproject.toml, its readme, components/), copied."""
    dest.mkdir()
    for name in ("pyproject.toml", PYPROJECT["project"]["readme"], "MANIFEST.in", "setup.cfg"):
        if (ROOT / name).is_file():
            shutil.copy2(ROOT / name, dest / name)
    for license_file in ROOT.glob("LICEN[CS]E*"):
        shutil.copy2(license_file, dest / license_file.name)
    where = PYPROJECT["tool"]["setuptools"]["packages"]["find"]["where"]
    for folder in where:
        shutil.copytree(ROOT / folder, dest / folder, ignore=IGNORED)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    source = _copy_sources(tmp / "source")
    dist = tmp / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
          "-q", "-w", str(dist), str(source)], cwd=tmp)
    wheels = list(dist.glob("*.whl"))
    assert len(wheels) == 1, wheels
    return wheels[0]


@pytest.fixture(scope="module")
def fresh_venv(wheel, tmp_path_factory) -> dict[str, Path]:
    """A new venv holding only the wheel; the dependencies come from the repository venv (.pth line)."""
    venv = tmp_path_factory.mktemp("venv") / "fresh"
    _run([sys.executable, "-m", "venv", str(venv)], cwd=venv.parent)
    python = venv / "bin" / "python"
    _run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], cwd=venv.parent)
    site = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                     cwd=venv.parent).stdout.strip())
    deps = Path(sysconfig.get_paths()["purelib"])  # the running (repository) venv's site-packages
    assert (deps / "pulumi").is_dir() and (deps / "pulumi_docker").is_dir(), deps
    (site / "zz-repository-deps.pth").write_text(f"{deps}\n", encoding="utf-8")
    return {"python": python, "site": site, "deps": deps}


def _wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


def _metadata(wheel: Path) -> email.message.Message:
    with zipfile.ZipFile(wheel) as z:
        text = z.read(f"{PACKAGE}-{VERSION}.dist-info/METADATA").decode("utf-8")
    return email.parser.Parser().parsestr(text)


def test_wheel_holds_only_the_package_and_its_data(wheel):
    assert wheel.name == f"{PACKAGE}-{VERSION}-py3-none-any.whl"
    names = _wheel_names(wheel)
    tops = {n.split("/")[0] for n in names}
    assert tops == {PACKAGE, f"{PACKAGE}-{VERSION}.dist-info"}, tops
    for data in PACKAGE_DATA:
        assert f"{PACKAGE}/{data}" in names, data
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_wheel_metadata_declares_version_and_dependencies(wheel):
    meta = _metadata(wheel)
    assert meta["Name"] == "torchserve-deploy" and meta["Version"] == VERSION
    requires = meta.get_all("Requires-Dist") or []

    def names(extra: str | None) -> set[str]:
        found = set()
        for req in requires:
            name = re.match(r"[A-Za-z0-9._-]+", req).group(0).lower().replace("_", "-")
            marker = re.search(r"""extra\s*==\s*["']([^"']+)["']""", req)
            if (marker.group(1) if marker else None) == extra:
                found.add(name)
        return found

    assert set(RUNTIME_DEPS) <= names(None), requires
    assert set(AWS_DEPS) <= names("aws"), requires
    assert "aws" in (meta.get_all("Provides-Extra") or [])


def test_fresh_venv_imports_the_installed_package(fresh_venv, tmp_path):
    probe = ("import importlib.metadata, json, sys, torchserve_deploy; print(json.dumps({'file': torchserve_deploy.__file__, "
             "'version': torchserve_deploy.__version__, 'dist': importlib.metadata.version('torchserve-deploy'), "
             "'path': sys.path}))")
    seen = json.loads(_run([str(fresh_venv["python"]), "-c", probe], cwd=tmp_path).stdout)
    assert Path(seen["file"]).is_relative_to(fresh_venv["site"]), seen["file"]
    assert seen["version"] == seen["dist"] == VERSION
    # The repository venv's site-packages is only a path: its editable-install .pth (components/) is not read.
    assert str(fresh_venv["deps"]) in seen["path"]
    assert not [p for p in seen["path"] if p and Path(p).resolve().is_relative_to(ROOT / "components")], seen["path"]


def _evaluate_consumer(fresh_venv, tmp_path: Path, config: dict[str, str]) -> tuple[Path, dict]:
    program = tmp_path / "consumer"
    shutil.copytree(CONSUMER, program, ignore=IGNORED)
    runner, out = tmp_path / "runner.py", tmp_path / "registered.json"
    runner.write_text(RUNNER, encoding="utf-8")
    _run([str(fresh_venv["python"]), str(runner), str(program), str(out), CONSUMER_PROJECT, json.dumps(config)],
         cwd=program)
    return program, json.loads(out.read_text(encoding="utf-8"))


def _only(resources: list[dict], typ: str) -> dict:
    found = [r for r in resources if r["type"] == typ]
    assert len(found) == 1, f"expected one {typ}, found {[r['name'] for r in found]}"
    return found[0]


@pytest.mark.parametrize("configured_store", [False, True], ids=["default-store", "configured-store"])
def test_consumer_program_registers_a_server_from_the_installed_package(fresh_venv, tmp_path, configured_store):
    store_dir = tmp_path / "stores" / "models"
    config = {"storeDir": str(store_dir)} if configured_store else {}
    program, seen = _evaluate_consumer(fresh_venv, tmp_path, config)
    if not configured_store:
        store_dir = program / ".model-store"
    resources = seen["resources"]

    # Every component came from the wheel in the fresh venv; nothing from the repository.
    assert seen["modules"], seen
    for module, file in seen["modules"].items():
        assert module.split(".")[0] == PACKAGE, module
        assert file and Path(file).is_relative_to(fresh_venv["site"] / PACKAGE), (module, file)

    types = [r["type"] for r in resources]
    for t in ("torchserve:image:TorchServeImage", "torchserve:store:ModelStore", "torchserve:archive:ModelArchive",
              "torchserve:server:TorchServeServer", "docker:index/image:Image", "docker:index/container:Container"):
        assert types.count(t) == 1, (t, types)
    server = _only(resources, "torchserve:server:TorchServeServer")
    assert server["name"] == "torchserve" and not server["custom"]

    # The image is built from the Dockerfile shipped in the installed package (package data).
    image = _only(resources, "docker:index/image:Image")["inputs"]
    context = Path(image["build"]["context"])
    assert context == fresh_venv["site"] / PACKAGE / "image" / "docker", context
    assert (context / "Dockerfile").is_file() and (context / "ts-healthcheck.py").is_file()
    assert not context.resolve().is_relative_to(ROOT)
    assert image["build"]["target"] == "production"
    assert image["imageName"].startswith("torchserve-deploy:0.12.0-cpu-")

    # The serving container keeps the package's secure defaults.
    c = _only(resources, "docker:index/container:Container")["inputs"]
    assert c["image"] == "sha256:" + "0" * 64  # the built image's ID, not a tag
    binds = {p["internal"]: (p["ip"], p["external"]) for p in c["ports"]}
    assert binds == {8080: ("127.0.0.1", 8080), 8081: ("127.0.0.1", 8081), 8082: ("127.0.0.1", 8082),
                     7070: ("127.0.0.1", 7070), 7071: ("127.0.0.1", 7071), 8090: ("127.0.0.1", 8090)}
    assert c["user"] == "1000:1000" and c["readOnly"] is True and c["capabilities"] == {"drops": ["ALL"]}
    config_path = store_dir.parent / ".files" / c["name"] / "config.properties"
    assert [(m["source"], m["target"], m["readOnly"]) for m in c["mounts"]] == [
        (str(store_dir), "/home/model-server/model-store", True),
        (str(config_path), "/home/model-server/config.properties", True)]
    files = [r["inputs"] for r in resources if r["type"] == "command:local:Command" and r["name"].startswith("torchserve-files")]
    assert len(files) == 1 and str(config_path) in files[0]["create"]
    props = files[0]["stdin"]
    for line in ("disable_token_authorization=false", "enable_model_api=false", "load_models=consumer.mar"):
        assert line in props.splitlines(), line
    assert c["healthcheck"]["tests"] == ["CMD", "/usr/local/bin/ts-healthcheck", "consumer"]

    # The store directory and the archive of the shipped model directory.
    commands = {r["name"]: r["inputs"] for r in resources if r["type"] == "command:local:Command"}
    assert set(commands) == {"model-store-dir", "model-consumer-archive", "torchserve-files-0"}
    assert str(store_dir) in commands["model-store-dir"]["create"]
    archive = commands["model-consumer-archive"]["create"]
    assert "--model-name consumer" in archive and f"--export-path {store_dir}" in archive
    assert f"--serialized-file {program / 'model' / 'model.pt'}" in archive
    assert seen["exports"]["inference_url"] == "http://127.0.0.1:8080"
    assert seen["exports"]["model_names"] == ["consumer"]
    assert not store_dir.exists()  # under mocks nothing runs
