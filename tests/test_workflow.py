"""The pull-request workflow: yamllint clean, and wired as the review process needs (offline tests, a
commented `pulumi preview --diff` of every committed stack, backend and secrets from configuration)."""
import subprocess
import sys
from pathlib import Path

import yaml

from infra.offline import ROOT, committed_stacks

WORKFLOW = ROOT / ".github/workflows/infrastructure.yml"


def load():
    data = yaml.safe_load(WORKFLOW.read_text())
    data["on"] = data.pop(True, data.get("on"))  # YAML 1.1 reads the key `on` as true
    return data


def test_yamllint():
    result = subprocess.run([str(Path(sys.executable).parent / "yamllint"), "--strict", "-c", str(ROOT / ".yamllint.yml"),
                             str(WORKFLOW), *map(str, sorted((ROOT / "stacks").glob("*.yaml"))), str(ROOT / "Pulumi.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def steps_using(job, action):
    return [s for s in job["steps"] if s.get("uses", "").startswith(action)]


def test_pull_request_previews_every_stack_with_a_diff_comment():
    wf = load()
    assert "pull_request" in wf["on"]
    preview = wf["jobs"]["preview"]
    assert sorted(preview["strategy"]["matrix"]["stack"]) == committed_stacks()
    assert preview["permissions"]["pull-requests"] == "write" and preview["needs"] == "offline-tests"
    [pulumi] = steps_using(preview, "pulumi/actions@v7")
    w = pulumi["with"]
    assert (w["command"], w["diff"], w["comment-on-pr"]) == ("preview", True, True)
    assert w["stack-name"] == "${{ matrix.stack }}" and w["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
    assert pulumi["env"]["PULUMI_CONFIG_PASSPHRASE"] == "${{ secrets.PULUMI_CONFIG_PASSPHRASE }}"


def test_offline_tests_run_first_and_deploy_is_opt_in():
    wf = load()
    run = " ".join(s.get("run", "") for s in wf["jobs"]["offline-tests"]["steps"])
    assert "pytest" in run and "not docker" in run
    deploy = wf["jobs"]["deploy-staging"]
    assert "vars.DEPLOY_STAGING == 'true'" in deploy["if"] and deploy["environment"] == "staging"
    [up] = steps_using(deploy, "pulumi/actions@v7")
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "staging"
    assert wf["permissions"] == {"contents": "read"}  # least privilege by default


def test_no_credentials_in_the_file():
    text = WORKFLOW.read_text()
    for marker in ("AKIA", "aws_secret_access_key", "PULUMI_ACCESS_TOKEN:"):
        assert marker not in text
