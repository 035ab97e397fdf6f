import pytest

from tests.mocks import evaluate_program, named, only


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
