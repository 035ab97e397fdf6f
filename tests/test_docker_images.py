"""Images built for real from the stacks' captured inputs: production reuses its cache, codebuild passes
its smoke test (at build time, and again as the image's command)."""
import pytest

from tests.engine import build_declared_image
from tests.mocks import evaluate_program, named
from tests.test_java_modules import JAVA_MODULES

pytestmark = pytest.mark.docker


def test_production_rebuild_with_unchanged_inputs_reuses_every_layer(engine, production_image):
    image_id, log = build_declared_image(engine.client, production_image["inputs"])
    assert image_id == production_image["id"]
    steps = [line for line in log if line.startswith("Step ")]
    cached = [line for line in log if "Using cache" in line]
    runs = [s for s in steps if " : RUN " in s or " : COPY " in s]
    assert runs and len(cached) >= len(runs), "\n".join(log)


def test_production_image_runs_as_non_root_without_jdk(engine, production_image):
    client = engine.client
    out = client.containers.run(production_image["id"], entrypoint=["sh", "-c"],
                                command=["id -u; command -v javac gcc cc pip || true; command -v java; "
                                         "java -Xshare:on -version 2>&1 | tail -1; dpkg-query -W 'openjdk*' 2>&1 | head -1; "
                                         "java --list-modules | cut -d@ -f1"],
                                network_mode="none", remove=True).decode()
    lines = out.split("\n")
    assert lines[0] == "1000"
    assert "javac" not in out and "/gcc" not in out and "/pip" not in out
    assert lines[1] == "/opt/java/bin/java", out  # the jlink'd runtime, with its CDS archive in use ("sharing")
    assert "sharing" in lines[2], out
    assert "no packages found" in lines[3], out  # no Debian JRE package
    modules = {line for line in lines[4:] if line}
    assert JAVA_MODULES <= modules and len(modules) < 30, modules  # the listed ones and their requirements only


def test_codebuild_image_passes_its_smoke_test(engine, production_image):
    client = engine.client
    inputs = named(evaluate_program("dev", {"buildType": "codebuild", "models": {"demo": {"path": "models/demo"}}}),
                   "torchserve-image").inputs
    assert inputs["build"]["target"] == "codebuild"
    image_id, log = build_declared_image(client, inputs)  # the smoke test runs inside this build
    try:
        assert any("smoke: OK" in line for line in log), "\n".join(log[-30:])
        container = client.containers.run(image_id, network_mode="none", detach=True)
        try:
            result = container.wait(timeout=300)
            logs = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
        assert result["StatusCode"] == 0 and "smoke: OK" in logs, logs[-2000:]
        tools = client.containers.run(image_id, command=["sh", "-c", "git --version && curl --version | head -1 && "
                                                         "pytest --version"], network_mode="none", remove=True)
        assert b"git version" in tools and b"pytest" in tools
    finally:
        client.images.remove(image_id, force=True)
