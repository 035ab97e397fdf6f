import pytest

from tests.mocks import evaluate_program


@pytest.fixture(scope="session")
def dev_resources():
    """The dev stack evaluated once under mocks (tests only read it)."""
    return evaluate_program("dev")
