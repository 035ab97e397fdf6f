"""The README's deploy command is honest where the Pulumi CLI is missing: a clear message, non-zero exit."""
import os
import shutil
import subprocess

import pytest

from tests.mocks import ROOT


def test_deploy_without_pulumi_cli_says_how_to_install(tmp_path):
    if shutil.which("pulumi", path="/usr/bin:/bin"):
        pytest.fail("a pulumi CLI is in /usr/bin or /bin; this test needs a PATH without one")
    assert (ROOT / ".venv/.deploy-deps").exists(), "run through `make test` so the venv exists"
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    result = subprocess.run(["make", "-s", "deploy"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode != 0
    assert "needs the Pulumi CLI" in result.stdout and "get.pulumi.com" in result.stdout
