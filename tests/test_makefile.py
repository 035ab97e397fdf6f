"""The README's commands are honest: `make deploy` without the Pulumi CLI says how to install it; CI runs
nothing but `make test`, which checks (and as root installs) its system packages before any other work."""
import os
import shutil
import subprocess

import pytest

from tests.mocks import ROOT

PREREQS = ROOT / "tools/prereqs.sh"
# Every tool tools/prereqs.sh looks for, with its Debian/Ubuntu package, in the script's order.
TOOLS = {
    "dockerd": "docker.io", "docker": "docker.io", "debootstrap": "debootstrap", "java": "openjdk-17-jre-headless",
    "docker-compose": "docker-compose", "cloud-init": "cloud-init", "wrk": "wrk", "losetup": "mount",
    "mount": "mount", "blkid": "util-linux", "mountpoint": "util-linux", "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools", "python3": "python3-venv",
}
INSTALL = "sudo apt-get install -y --no-install-recommends"


def test_deploy_without_pulumi_cli_says_how_to_install(tmp_path):
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.fail("a pulumi CLI is in /usr/bin or /bin; this test needs a PATH without one")
    assert (ROOT / ".venv/.deploy-deps").exists(), "run through `make test` so the venv exists"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["make", "-s", "deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "needs the Pulumi CLI" in result.stdout and "get.pulumi.com" in result.stdout


def test_ci_runs_nothing_but_make_test():
    lines = [line.strip() for line in (ROOT / ".ci/run").read_text().splitlines()]
    body = [line for line in lines if line and not line.startswith(("#", "set ", "cd "))]
    assert body == ["make test"]


@pytest.mark.parametrize("target", ["test", "test-torchserve", "test-docker"])
def test_full_suites_check_prereqs_before_any_other_work(target):
    # -n prints the recipes (including @-silenced ones) without running any; -B as if nothing were built yet.
    result = subprocess.run(["make", "--no-print-directory", "-n", "-B", target], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    commands = result.stdout.splitlines()
    assert "tools/prereqs.sh" in commands[0], commands


def test_unit_suite_needs_no_system_packages():
    result = subprocess.run(["make", "--no-print-directory", "-n", "-B", "test-unit"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "prereqs" not in result.stdout


def fake_tools(tmp_path, names, python3_has_venv=True):
    """A directory holding stand-ins (exit 0) for exactly these tools; python3's exits 1 without venv."""
    directory = tmp_path / "bin"
    directory.mkdir()
    for name in names:
        status = 1 if name == "python3" and not python3_has_venv else 0
        (directory / name).write_text(f"#!/bin/sh\nexit {status}\n")
        (directory / name).chmod(0o755)
    return directory


def run_prereqs(tools_dir):
    # The script's own commands (sh, id) come from PATH; the prerequisites are looked up on PREREQS_PATH only.
    # Never as root here: whatever is missing, the script prints the command instead of installing anything.
    env = {"PATH": os.environ["PATH"], "PREREQS_PATH": str(tools_dir), "PREREQS_ASSUME_NOT_ROOT": "1"}
    return subprocess.run(["sh", str(PREREQS)], env=env, capture_output=True, text=True, timeout=30)


def test_prereqs_all_present_is_silent(tmp_path):
    result = run_prereqs(fake_tools(tmp_path, [*TOOLS, "apt-get"]))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "" and result.stderr == ""


@pytest.mark.parametrize("missing", [list(TOOLS), ["wrk", "mkfs.vfat"], ["dockerd", "docker"], ["losetup", "blkid"]],
                         ids=["everything", "wrk-vfat", "docker-once", "loop-tools"])
def test_prereqs_missing_as_non_root_prints_one_install_command(tmp_path, missing):
    result = run_prereqs(fake_tools(tmp_path, [name for name in [*TOOLS, "apt-get"] if name not in missing]))
    assert result.returncode != 0
    packages = list(dict.fromkeys(TOOLS[name] for name in TOOLS if name in missing))
    output = (result.stdout + result.stderr).splitlines()
    assert [line for line in output if "apt-get" in line] == [f"{INSTALL} {' '.join(packages)}"]


def test_prereqs_python3_without_venv_needs_python3_venv(tmp_path):
    result = run_prereqs(fake_tools(tmp_path, [*TOOLS, "apt-get"], python3_has_venv=False))
    assert result.returncode != 0
    assert f"{INSTALL} python3-venv" in result.stderr.splitlines()


def test_prereqs_without_apt_lists_the_missing_tools(tmp_path):
    result = run_prereqs(fake_tools(tmp_path, [name for name in TOOLS if name not in ("java", "wrk")]))
    assert result.returncode != 0
    assert "apt-get install" not in result.stdout + result.stderr
    listed = [line.split()[0] for line in result.stderr.splitlines() if line.startswith("  ")]
    assert listed == ["java", "wrk"]
