"""The README's commands are honest: every make target's failure says what is wrong and what to do, without a
traceback (`make deploy` checks Python and Docker before the venv, installs the pinned Pulumi CLI itself and
refuses a cloud stack without an explicit state backend); CI runs nothing but `make test`, which checks (and as
root installs) its system packages before any other work."""
import os
import shutil
import socket
import subprocess

import pytest

from tests.mocks import ROOT

PREREQS = ROOT / "tools/prereqs.sh"
# Every tool tools/prereqs.sh looks for, with its Debian/Ubuntu package, in the script's order.
TOOLS = {
    "dockerd": "docker.io", "docker": "docker.io", "debootstrap": "debootstrap", "java": "openjdk-17-jre-headless",
    "jdeps": "openjdk-17-jdk-headless", "docker-compose": "docker-compose", "cloud-init": "cloud-init", "wrk": "wrk",
    "prometheus": "prometheus", "promtool": "prometheus", "losetup": "mount",
    "mount": "mount", "blkid": "util-linux", "mountpoint": "util-linux", "mkfs.ext4": "e2fsprogs",
    "mkfs.vfat": "dosfstools", "python3": "python3-venv",
}
INSTALL = "sudo apt-get install -y --no-install-recommends"


VERSION = (ROOT / "PULUMI_VERSION").read_text().strip()
DOCKER_OK = 'case "$1" in info) echo 99.0.0 ;; *) echo "unexpected docker $*" >&2; exit 3 ;; esac\n'
DOCKER_DOWN = 'echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock." >&2\nexit 1\n'
DOCKER_NO_CONTAINER = 'if [ "$1" = container ]; then echo "Error: No such container: $5" >&2; exit 1; fi\nexit 3\n'


def dead_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def make(tmp_path, *args, docker=DOCKER_OK, python3=None):
    """`make -s <args>` with stand-ins first on PATH (docker; python3 when given), no pulumi, no state backend, and
    a Pulumi mirror on a dead local port, so nothing reaches the internet, a real engine or a real backend."""
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.fail("a pulumi CLI is in /usr/bin or /bin; these tests need a PATH without one")
    if (ROOT / ".pulumi-cli" / VERSION).exists():
        pytest.skip(f".pulumi-cli/{VERSION} is installed here: make deploy would really deploy")
    stand_ins = tmp_path / "bin"
    stand_ins.mkdir(exist_ok=True)
    for name, body in (("docker", docker), ("python3", python3)):
        if body is not None:
            (stand_ins / name).write_text("#!/bin/sh\n" + body)
            (stand_ins / name).chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PULUMI_", "MAKE")) and k != "VIRTUAL_ENV"}
    env.update(PATH=f"{stand_ins}:/usr/bin:/bin", PULUMI_MIRROR_URL=dead_url())
    result = subprocess.run(["make", "-s", "--no-print-directory", *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    return result.returncode, output


@pytest.fixture
def venv_ready():
    up_to_date = subprocess.run(["make", "-q", ".venv/.deploy-deps"], cwd=ROOT, capture_output=True, timeout=60)
    assert up_to_date.returncode == 0, "run through `make test` (or make venv) so the venv exists and is current"


def test_deploy_without_pulumi_installs_it_and_fails_cleanly_offline(tmp_path, venv_ready):
    cli_dir_existed = (ROOT / ".pulumi-cli").exists()
    code, output = make(tmp_path, "deploy")
    assert code != 0
    assert "ok: Python 3." in output and "Docker engine 99.0.0" in output  # the quick checks ran first
    assert "install_pulumi: could not download http://127.0.0.1:" in output
    assert "set PULUMI_MIRROR_URL to a folder" in output
    assert (ROOT / ".pulumi-cli").exists() == cli_dir_existed  # a failed install leaves nothing behind
    assert not (ROOT / ".pulumi-cli" / VERSION).exists()


def test_deploy_checks_docker_before_the_venv(tmp_path):
    venv = tmp_path / "venv"
    code, output = make(tmp_path, "deploy", f"VENV={venv}", docker=DOCKER_DOWN)
    assert code != 0
    assert "check: the Docker engine is not answering (docker info: Cannot connect to the Docker daemon" in output
    assert "sudo systemctl start docker" in output
    assert not venv.exists()


def test_deploy_checks_python_before_the_venv(tmp_path):
    venv = tmp_path / "venv"
    old_python = 'if [ "$1" = -V ]; then echo "Python 3.9.2"; fi\nexit 1\n'
    code, output = make(tmp_path, "deploy", f"VENV={venv}", python3=old_python)
    assert code != 0
    assert ("make deploy needs Python 3.11 or later as python3 (found: Python 3.9.2): install python3.11 and "
            "python3.11-venv, then run make deploy again") in output
    assert not venv.exists()


@pytest.mark.parametrize("target", ["deploy", "destroy", "preview", "outputs", "smoke"])
def test_cloud_stack_without_backend_is_refused(tmp_path, venv_ready, target):
    code, output = make(tmp_path, target, "STACK=staging")
    assert code != 0
    assert "stack staging creates cloud resources (host ec2)" in output
    assert f"PULUMI_BACKEND_URL=s3://<bucket>/torchserve-deploy make {target} STACK=staging" in output


def test_unknown_stack(tmp_path):
    code, output = make(tmp_path, "deploy", "STACK=nope", f"VENV={tmp_path / 'venv'}")
    assert code != 0 and "no stack 'nope' in stacks/: use STACK=<one of dev, fleet, prod, staging>" in output


def test_token_without_a_container(tmp_path, venv_ready):
    code, output = make(tmp_path, "token", docker=DOCKER_NO_CONTAINER)
    assert code != 0 and "token: no container torchserve-dev is running: run make deploy first" in output


def test_preview_without_pulumi_says_how_to_install(tmp_path, venv_ready):
    code, output = make(tmp_path, "preview")
    assert code != 0 and "preview: the Pulumi CLI is not installed: run make pulumi-cli" in output


def test_pulumi_cli_offline_fails_cleanly(tmp_path):
    code, output = make(tmp_path, "pulumi-cli")
    assert code != 0 and "install_pulumi: could not download http://127.0.0.1:" in output


def test_compose_unknown_stack(tmp_path, venv_ready):
    code, output = make(tmp_path, "compose", "STACK=nope")
    assert code != 0 and "make compose: stack: 'nope' is not valid" in output


def test_pulumi_runs_only_through_the_cli_module():
    """Every Pulumi operation goes through python -m infra.cli (the Automation API), one line per step."""
    rules = [line for line in (ROOT / "Makefile").read_text().splitlines() if not line.startswith("#")]
    assert not [line for line in rules if "pulumi login" in line or "PULUMI_BACKEND_URL" in line]
    result = subprocess.run(["make", "--no-print-directory", "-n", "-B", "deploy"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    steps = result.stdout.splitlines()
    assert [line for line in steps if line.startswith("pulumi")] == []
    assert steps[0].startswith("python3 -c") and steps[1] == "python3 -m infra.cli check --stack dev"
    assert steps[2] == "python3 -m venv .venv"
    assert steps[-3:] == [".venv/bin/python tools/install_pulumi.py --if-missing",
                          ".venv/bin/python -m infra.cli up --stack dev", ".venv/bin/python -m infra.cli smoke --stack dev"]


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


def test_the_test_venv_takes_the_cpu_torch_build():
    # PyPI's torch is the multi-GB CUDA build; PyTorch's CPU index offers <version>+cpu, which pip ranks higher.
    # Only requirements-torch.txt names the CPU index (every other package would be looked up there too),
    # make installs it before requirements-test.txt, and both pin the same torch.
    torch_lines = [line.strip() for line in (ROOT / "requirements-torch.txt").read_text().splitlines()]
    test_lines = [line.strip() for line in (ROOT / "requirements-test.txt").read_text().splitlines()]
    assert "--extra-index-url https://download.pytorch.org/whl/cpu" in torch_lines
    assert not any(line.startswith("--") for line in test_lines), test_lines
    pins = {line for line in torch_lines + test_lines if line.startswith("torch==")}
    assert len(pins) == 1 and "+" not in next(iter(pins)), pins  # ==X.Y.Z matches X.Y.Z+cpu
    recipe = subprocess.run(["make", "--no-print-directory", "-n", "-B", ".venv/.test-deps"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60).stdout
    assert recipe.index("requirements-torch.txt") < recipe.index("-r requirements-test.txt"), recipe
    import torch
    assert torch.version.cuda is None, f"the test venv holds a CUDA torch build ({torch.__version__})"


def _wheel_index(root, version: str):
    """A PEP 503 index (file://) holding one minimal torch wheel of `version` (no code: pip only reads metadata)."""
    import hashlib
    import zipfile
    folder = root / "torch"
    folder.mkdir(parents=True)
    name = f"torch-{version}-py3-none-any.whl"
    info = f"torch-{version}.dist-info"
    with zipfile.ZipFile(folder / name, "w") as wheel:
        wheel.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: torch\nVersion: {version}\n")
        wheel.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        wheel.writestr(f"{info}/RECORD", "")
    digest = hashlib.sha256((folder / name).read_bytes()).hexdigest()
    (folder / "index.html").write_text(f'<html><body><a href="{name}#sha256={digest}">{name}</a></body></html>')
    (root / "index.html").write_text('<html><body><a href="torch/">torch</a></body></html>')
    return root.as_uri()


def test_pip_picks_the_cpu_build_from_requirements_torch(tmp_path):
    # Behaviour, not text: requirements-torch.txt as committed, its CPU index replaced by a local one offering
    # 2.13.0+cpu, beside a local "PyPI" offering 2.13.0 (the CUDA build); pip must choose +cpu.
    pypi = _wheel_index(tmp_path / "pypi", "2.13.0")
    cpu = _wheel_index(tmp_path / "cpu", "2.13.0+cpu")
    text = (ROOT / "requirements-torch.txt").read_text()
    assert text.count("https://download.pytorch.org/whl/cpu") == 1
    requirements = tmp_path / "requirements-torch.txt"
    requirements.write_text(text.replace("https://download.pytorch.org/whl/cpu", cpu))
    report = tmp_path / "report.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-m", "pip", "install", "--dry-run", "--ignore-installed",
                          "--no-cache-dir", "--index-url", pypi, "-r", str(requirements), "--report", str(report)],
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    import json
    chosen = [i["metadata"]["version"] for i in json.loads(report.read_text())["install"]]
    assert chosen == ["2.13.0+cpu"], chosen


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
