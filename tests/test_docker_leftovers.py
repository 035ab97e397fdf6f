"""What an interrupted run leaves (a test container whose restart policy revives it with dockerd) is removed at
the next start; a container without the test label (a real deployment under the same name) is never touched."""
import contextlib

import docker.errors
import pytest

from tests.engine import BASE_IMAGE, COMPOSE_TEST_PROJECT, TEST_LABEL, remove_leftovers

pytestmark = pytest.mark.docker


def test_leftovers_of_an_interrupted_run_are_removed_real_deployments_kept(engine):
    client = engine.client
    run = dict(image=BASE_IMAGE, command=["sleep", "600"], detach=True, network_mode="none",
               restart_policy={"Name": "unless-stopped"})
    left = client.containers.run(name="tsdeploy-leftover-test", labels={TEST_LABEL: "1"}, **run)
    compose = client.containers.run(name="tsdeploy-leftover-compose",
                                    labels={"com.docker.compose.project": COMPOSE_TEST_PROJECT}, **run)
    volume = client.volumes.create(name="tsdeploy-leftover-volume", labels={TEST_LABEL: "1"})
    real = client.containers.run(name="tsdeploy-leftover-real", **run)
    try:
        removed = remove_leftovers(client)
        assert {"tsdeploy-leftover-test", "tsdeploy-leftover-compose", "tsdeploy-leftover-volume"} <= set(removed)
        names = {c.name for c in client.containers.list(all=True)}
        assert "tsdeploy-leftover-real" in names
        assert not names & {"tsdeploy-leftover-test", "tsdeploy-leftover-compose"}
        assert "tsdeploy-leftover-volume" not in {v.name for v in client.volumes.list()}
    finally:
        for thing in (left, compose, real, volume):
            with contextlib.suppress(docker.errors.NotFound):  # the sweep removed it already
                thing.remove(force=True)


def test_realized_containers_carry_the_test_label(engine, dev_resources):
    from tests.engine import realize_container
    from tests.mocks import only

    inputs = {**only(dev_resources, "docker:index/container:Container").inputs, "name": "tsdeploy-label-test",
              "ports": [], "mounts": [], "healthcheck": None, "restart": "no", "uploads": [],
              "command": ["60"], "entrypoints": ["sleep"], "readOnly": False}
    inputs = {k: v for k, v in inputs.items() if v is not None}
    container = realize_container(client := engine.client, inputs, BASE_IMAGE)
    try:
        assert client.containers.get(container.id).labels.get(TEST_LABEL) == "1"
    finally:
        container.remove(force=True)
