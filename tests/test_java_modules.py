"""The production image's Java runtime is jlink'd from java-modules.txt, and its frontend jar is pruned by
ts-prune-frontend.py: jdeps must find no module beyond the list in the pruned jar, and the pruning must keep
every class TorchServe's own code and its service files name. (The Docker tests then serve with both.)"""
from __future__ import annotations

import importlib.util
import io
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from tests.mocks import ROOT

DOCKER_DIR = ROOT / "components/torchserve_deploy/image/docker"
JAVA_MODULES = set((DOCKER_DIR / "java-modules.txt").read_text().strip().split(","))
_spec = importlib.util.spec_from_file_location("ts_prune_frontend", DOCKER_DIR / "ts-prune-frontend.py")
assert _spec and _spec.loader
prune_frontend = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(prune_frontend)


def installed_jar() -> Path:
    import ts  # the pinned torchserve of the test venv: the same release the image installs
    return Path(ts.__file__).parent / "frontend/model-server.jar"


@pytest.fixture(scope="module")
def pruned_jar(tmp_path_factory) -> Path:
    jar = tmp_path_factory.mktemp("jar") / "model-server.jar"
    shutil.copyfile(installed_jar(), jar)
    before, after = prune_frontend.prune(jar)
    assert after < before * 0.8, (before, after)  # the shaded test frameworks are a large share of the jar
    return jar


def test_module_list_is_sorted_java_module_names():
    assert all(m.replace(".", "").isalnum() and m.startswith(("java.", "jdk.")) for m in JAVA_MODULES), JAVA_MODULES
    assert "java.base" in JAVA_MODULES


@pytest.mark.system
def test_jdeps_finds_no_module_beyond_the_list(pruned_jar, tmp_path):
    jdeps = shutil.which("jdeps")
    assert jdeps, "jdeps is missing: apt-get install openjdk-17-jdk-headless (make test runs tools/prereqs.sh, which does)"
    classes = tmp_path / "classes"
    with zipfile.ZipFile(pruned_jar) as jar:
        jar.extractall(classes)
    # The fat jar carries its dependencies' module descriptors; as one class path they would make jdeps
    # resolve modules (JUnit's) that are not there. The classes themselves are what the frontend runs.
    for descriptor in classes.rglob("module-info.class"):
        descriptor.unlink()
    out = subprocess.run([jdeps, "--print-module-deps", "--ignore-missing-deps", "--multi-release", "17", str(classes)],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    found = set(out.stdout.strip().splitlines()[-1].split(","))
    assert found <= JAVA_MODULES, f"java-modules.txt lacks {sorted(found - JAVA_MODULES)}"


def test_pruned_jar_keeps_torchserve_and_every_service_provider(pruned_jar):
    with zipfile.ZipFile(installed_jar()) as original, zipfile.ZipFile(pruned_jar) as jar:
        names = set(jar.namelist())
        own = {n for n in original.namelist() if n.startswith("org/pytorch/")}
        assert own and own <= names
        assert "org.pytorch.serve.ModelServer" in jar.read("META-INF/MANIFEST.MF").decode()
        assert not any(n.startswith(("groovy/", "org/codehaus/groovy/", "org/testng/", "org/junit/")) for n in names)
        for name in (n for n in names if n.startswith("META-INF/services/") and not n.endswith("/")):
            for line in jar.read(name).decode().splitlines():
                provider = line.split("#", 1)[0].strip()
                assert not provider or prune_frontend.class_entry(provider) in names, (name, provider)
        assert jar.testzip() is None


def test_pruning_is_deterministic(pruned_jar, tmp_path):
    again = tmp_path / "again.jar"
    shutil.copyfile(installed_jar(), again)
    prune_frontend.prune(again)
    assert again.read_bytes() == pruned_jar.read_bytes()


def _jar(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_service_files_keep_comments_and_present_providers_only():
    kept = {"a/Present.class"}
    text = "# licence\n\na.Present\nb.Gone # a comment\n"
    assert prune_frontend.rewrite_service(text, kept) == "# licence\n\na.Present\n"
    assert prune_frontend.rewrite_service("# only a licence\nb.Gone\n", kept) is None


def test_refuses_when_torchserve_names_a_pruned_package(tmp_path):
    jar = tmp_path / "x.jar"
    jar.write_bytes(_jar({"org/pytorch/serve/X.class": b"\xca\xfe\xba\xbe...org/codehaus/groovy/Foo...",
                          "groovy/lang/Y.class": b"y"}))
    original = jar.read_bytes()
    with pytest.raises(SystemExit, match="refers to"):
        prune_frontend.prune(jar)
    assert jar.read_bytes() == original  # nothing rewritten
