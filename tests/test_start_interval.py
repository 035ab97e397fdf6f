"""Issue 15: the healthcheck's start interval where the engine supports it (Docker 25+), off by default, and
refused before any resource is created on an older or silent engine."""
from pathlib import Path

import pytest
import yaml
from torchserve_deploy.container.compose import ComposeService, render_compose
from torchserve_deploy.container.docker_run import render_docker_run
from torchserve_deploy.container.spec import ContainerSpec, Healthcheck

from infra.deliver import local
from tests.mocks import evaluate_program, only

CONTAINER = "docker:index/container:Container"


def test_engine_versions():
    assert [local.supports_start_interval(v) for v in ("25.0.0", "27.3.1", "20.10.24", "24.0.7", None, "", "x.1")] == [
        True, True, False, False, False, False, False]


def test_off_by_default_and_never_asks_the_engine(monkeypatch):
    monkeypatch.setattr(local, "engine_version", lambda: pytest.fail("asked the engine without the setting"))
    hc = only(evaluate_program("dev"), CONTAINER).inputs["healthcheck"]
    assert "startInterval" not in hc


def test_set_on_a_new_engine_reaches_the_container(monkeypatch):
    monkeypatch.setattr(local, "engine_version", lambda: "27.3.1")
    hc = only(evaluate_program("dev", {"healthStartIntervalS": 1}), CONTAINER).inputs["healthcheck"]
    assert hc["startInterval"] == "1s" and hc["startPeriod"] == "60s"


@pytest.mark.parametrize("version", ["20.10.24", None])
def test_refused_on_an_old_or_silent_engine_before_any_resource(monkeypatch, version):
    monkeypatch.setattr(local, "engine_version", lambda: version)
    with pytest.raises(Exception) as err:
        evaluate_program("dev", {"healthStartIntervalS": 2})
    text = str(err.value)
    assert "torchserve-deploy:healthStartIntervalS" in text and "Docker engine 25 or later" in text
    assert (version or "not answering") in text and "pulumi config set torchserve-deploy:healthStartIntervalS 0" in text


def test_out_of_range_is_a_config_error():
    with pytest.raises(Exception) as err:
        evaluate_program("dev", {"healthStartIntervalS": 61})
    assert "healthStartIntervalS" in str(err.value)


def test_compose_and_docker_run_render_it_only_when_set():
    on = ContainerSpec(name="s", image="i", healthcheck=Healthcheck(test=("probe",), start_interval_s=1))
    off = ContainerSpec(name="s", image="i", healthcheck=Healthcheck(test=("probe",)))
    doc = yaml.safe_load(render_compose({"s": ComposeService(on)}, Path("/x"))[0])
    assert doc["services"]["s"]["healthcheck"]["start_interval"] == "1s"
    doc = yaml.safe_load(render_compose({"s": ComposeService(off)}, Path("/x"))[0])
    assert "start_interval" not in doc["services"]["s"]["healthcheck"]
    assert "--health-start-interval" in render_docker_run(on, "i")
    assert "--health-start-interval" not in render_docker_run(off, "i")
