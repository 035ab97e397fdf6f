import contextlib
import re
import shutil
import subprocess

import pytest

from infra.plan import PROVIDER_CWD
from tests.mocks import ROOT, evaluate_program, named


@pytest.fixture(scope="session")
def dev_resources():
    """The dev stack evaluated once under mocks (tests only read it)."""
    return evaluate_program("dev")


@pytest.fixture(scope="session")
def engine():
    """A real Docker engine: reused if one answers, else started here and stopped at the end."""
    from tests.engine import Engine, ensure_base_image

    e = Engine()
    ensure_base_image(e.client)
    yield e
    e.close()


@pytest.fixture(scope="session")
def production_image(engine, dev_resources):
    """The dev stack's declared production image, built once per session and removed afterwards."""
    from tests.engine import build_declared_image

    inputs = named(dev_resources, "torchserve-image").inputs
    image_id, log = build_declared_image(engine.client, inputs)
    yield {"id": image_id, "inputs": inputs, "log": log}
    engine.client.images.remove(image_id, force=True)


def declared(resources, name):
    return named(resources, name).inputs


@pytest.fixture(scope="session")
def trained(engine, dev_resources):
    """The declared training image built, and the declared training run executed with it."""
    from tests.engine import build_declared_image, with_test_memlock

    client = engine.client
    image_id, _ = build_declared_image(client, declared(dev_resources, "train-demo-image"))
    run = declared(dev_resources, "train-demo-run")["create"]
    mock_image = re.search(r"sha256:[0-9a-f]{64}", run).group(0)
    outputs = ROOT / ".build/dev/training/demo"
    shutil.rmtree(outputs, ignore_errors=True)
    subprocess.run(["/bin/sh", "-c", declared(dev_resources, "model-store-dir")["create"]], cwd=PROVIDER_CWD, check=True)
    result = subprocess.run(["/bin/sh", "-c", with_test_memlock(run.replace(mock_image, image_id))], cwd=PROVIDER_CWD,
                            capture_output=True, text=True)
    try:
        assert result.returncode == 0, result.stdout + result.stderr
        yield {"checkpoint": outputs / "model.pt", "stdout": result.stdout, "image_id": image_id}
    finally:
        client.images.remove(image_id, force=True)


def run_declared_commands(resources, prefix):
    """Run the create step of each declared command:local:Command whose name starts with `prefix`, as the
    provider would (in the directory the engine starts it in, the program's, with its stdin)."""
    for r in resources:
        if r.typ == "command:local:Command" and r.name.startswith(prefix):
            subprocess.run(["/bin/sh", "-c", r.inputs["create"]], cwd=PROVIDER_CWD, check=True,
                           input=r.inputs.get("stdin", ""), text=True)


@pytest.fixture(scope="session")
def dev_store(trained, dev_resources):
    """The declared archive step run on the trained checkpoint: demo.mar in the dev store; the server's
    declared files (config.properties) written where its container bind-mounts them."""
    store = ROOT / ".build/dev/model-store"
    existed = (store / "demo.mar").exists()
    subprocess.run(["/bin/sh", "-c", declared(dev_resources, "model-demo-archive")["create"]], cwd=PROVIDER_CWD, check=True)
    run_declared_commands(dev_resources, "torchserve-files-")
    yield store
    if not existed:
        (store / "demo.mar").unlink(missing_ok=True)


@contextlib.contextmanager
def running_dev_server(client, inputs, image_id, **overrides):
    """The declared dev container, created, started, healthy; removed afterwards."""
    from tests.engine import realize_container, wait_healthy

    existing = client.containers.list(all=True, filters={"name": f"^{inputs['name']}$"})
    assert not existing, f"a container named {inputs['name']} exists (a real dev deployment?): remove it first"
    container = realize_container(client, inputs, image_id, **overrides)
    try:
        wait_healthy(container)
        yield container
    finally:
        container.remove(force=True)
