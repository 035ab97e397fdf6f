"""The pull-request workflow: yamllint clean, and wired as the review process needs (offline tests, a
commented `pulumi preview --diff` of every committed stack with the policy pack, backend from configuration),
and safe: actions pinned by commit SHA, a running `pulumi up` never cancelled, no shared passphrase, one OIDC
role and one KMS key per stack (docs/ci-oidc.md)."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

from infra.offline import ROOT, committed_stacks, stack_config

WORKFLOW = ROOT / ".github/workflows/infrastructure.yml"
PULUMI = "pulumi/actions@"
AWS_CREDENTIALS = "aws-actions/configure-aws-credentials@"
PREVIEW_JOBS = ("preview", "preview-prod")
DEPLOY_JOBS = ("deploy-staging",)


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


def pulumi_command(job):
    """The one pulumi/actions step that runs a command (the others only install the CLI)."""
    [step] = [s for s in steps_using(job, PULUMI) if "command" in s.get("with", {})]
    return step


def matrix_entries(job):
    return job["strategy"]["matrix"]["include"]


def job_stacks(name, job):
    if "strategy" in job:
        return [entry["stack"] for entry in matrix_entries(job)]
    return [name.removeprefix("deploy-")]


def uses_lines():
    return [line.strip() for line in WORKFLOW.read_text().splitlines() if re.match(r"\s*(- )?uses:", line)]


def test_pull_request_previews_every_stack_with_a_diff_comment():
    wf = load()
    assert "pull_request" in wf["on"]
    previewed = []
    for name in PREVIEW_JOBS:
        preview = wf["jobs"][name]
        assert preview["permissions"]["pull-requests"] == "write" and preview["needs"] == "offline-tests"
        w = pulumi_command(preview)["with"]
        assert (w["command"], w["diff"], w["comment-on-pr"]) == ("preview", True, True)
        assert w["stack-name"] == "${{ matrix.stack }}" and w["cloud-url"] == "${{ vars.PULUMI_BACKEND_URL }}"
        previewed += job_stacks(name, preview)
    # Every cloud stack gets a PR preview; dev (local Docker, no secrets, no cloud state) is reviewed offline.
    cloud = [s for s in committed_stacks() if stack_config(s).get("torchserve-deploy:host") == "ec2"]
    assert sorted(previewed) == cloud and "dev" not in previewed


def test_offline_tests_run_first_and_deploy_is_opt_in():
    wf = load()
    run = " ".join(s.get("run", "") for s in wf["jobs"]["offline-tests"]["steps"])
    assert "pytest" in run and "not docker" in run
    deploy = wf["jobs"]["deploy-staging"]
    assert "vars.DEPLOY_STAGING == 'true'" in deploy["if"] and deploy["environment"] == "staging"
    assert "github.event_name == 'push'" in deploy["if"] and "github.ref == 'refs/heads/main'" in deploy["if"]
    up = pulumi_command(deploy)
    assert up["with"]["command"] == "up" and up["with"]["stack-name"] == "staging"
    assert wf["permissions"] == {"contents": "read"}  # least privilege by default


def test_no_credentials_in_the_file():
    text = WORKFLOW.read_text()
    for marker in ("AKIA", "aws_secret_access_key", "PULUMI_ACCESS_TOKEN:"):
        assert marker not in text


def test_every_action_is_pinned_to_a_commit_sha_with_its_release():
    lines = uses_lines()
    assert len(lines) >= 4 * len(load()["jobs"])  # checkout, python, credentials, pulumi: nothing skipped
    pin = re.compile(r"(- )?uses: (?P<action>[\w.-]+/[\w./-]+)@(?P<sha>[0-9a-f]{40}) # v\d+\.\d+\.\d+$")
    pins = {}
    for line in lines:
        m = pin.fullmatch(line)
        assert m, f"not pinned to a full commit SHA with a '# vX.Y.Z' comment: {line}"
        pins.setdefault(m["action"], set()).add(line.split("@", 1)[1])
    assert all(len(versions) == 1 for versions in pins.values()), pins  # one pin per action across the file
    for job in load()["jobs"].values():  # and the parsed YAML agrees with the text
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@[0-9a-f]{40}", step["uses"]), step["uses"]


def test_deploy_has_its_own_group_that_never_cancels_a_running_up():
    wf = load()
    assert "concurrency" not in wf  # a workflow-wide group would let a push cancel the deploy again
    preview_groups = {wf["jobs"][name]["concurrency"]["group"] for name in PREVIEW_JOBS}
    for name in PREVIEW_JOBS:
        c = wf["jobs"][name]["concurrency"]
        assert "github.event.pull_request.number" in c["group"] and "matrix.stack" in c["group"]
        assert c["cancel-in-progress"] is True
    for name in DEPLOY_JOBS:
        c = wf["jobs"][name]["concurrency"]
        assert c["group"] == name == f"deploy-{pulumi_command(wf['jobs'][name])['with']['stack-name']}"
        assert c["cancel-in-progress"] is False
        assert c["group"] not in preview_groups and not c["group"].startswith("preview")
    offline = wf["jobs"]["offline-tests"]["concurrency"]  # cancels superseded PR runs only
    assert offline["cancel-in-progress"] == "${{ github.event_name == 'pull_request' }}"
    assert "github.sha" in offline["group"]


def test_no_shared_passphrase_each_stack_uses_its_own_kms_key():
    wf = load()
    assert "PULUMI_CONFIG_PASSPHRASE" not in WORKFLOW.read_text()
    assert "PULUMI_CONFIG_PASSPHRASE" not in yaml.safe_dump(wf)
    for name in (*PREVIEW_JOBS, *DEPLOY_JOBS):
        job = wf["jobs"][name]
        assert "passphrase" not in yaml.safe_dump(pulumi_command(job)).lower()
        [guard] = [s for s in job["steps"] if "secretsprovider: awskms://alias/torchserve-deploy-${STACK}" in s.get("run", "")]
        stack = job.get("env", {}).get("STACK") or guard.get("env", {}).get("STACK")
        assert stack in ("${{ matrix.stack }}", pulumi_command(job)["with"]["stack-name"])
        assert job["steps"].index(guard) < job["steps"].index(pulumi_command(job))


def test_each_stack_assumes_its_own_role():
    wf = load()
    seen = {}
    for name in (*PREVIEW_JOBS, *DEPLOY_JOBS):
        job = wf["jobs"][name]
        [creds] = steps_using(job, AWS_CREDENTIALS)
        role = creds["with"]["role-to-assume"]
        assert creds["with"]["aws-region"] == "${{ vars.AWS_REGION }}"
        kind = "PREVIEW" if name in PREVIEW_JOBS else "DEPLOY"
        if role == "${{ matrix.role }}":
            pairs = [(e["stack"], e["role"]) for e in matrix_entries(job)]
        else:
            pairs = [(stack, role) for stack in job_stacks(name, job)]
        for stack, ref in pairs:
            assert ref == f"${{{{ vars.AWS_{kind}_ROLE_{stack.upper()} }}}}", (name, stack, ref)
            assert ref not in seen, f"{ref} shared by {seen.get(ref)} and {name}"
            seen[ref] = name
    assert "AWS_PREVIEW_ROLE_ARN" not in WORKFLOW.read_text()  # the old role shared by every stack


def test_previews_pass_the_policy_pack():
    wf = load()
    for name in (*PREVIEW_JOBS, *DEPLOY_JOBS):
        job = wf["jobs"][name]
        step = pulumi_command(job)
        assert step["with"]["policyPacks"] == "policy" and step["with"]["work-dir"] == "."
        [install] = [s for s in job["steps"] if s.get("working-directory") == "policy"]
        assert install["run"] == "pulumi install"
        assert job["steps"].index(install) < job["steps"].index(step)


def test_id_token_write_only_where_a_role_is_assumed():
    wf = load()
    assert "id-token" not in wf["permissions"]
    for name, job in wf["jobs"].items():
        assumes = bool(steps_using(job, AWS_CREDENTIALS))
        assert (job.get("permissions", {}).get("id-token") == "write") == assumes, name
        if assumes:
            assert set(job["permissions"]) <= {"contents", "pull-requests", "id-token"}
            assert job["permissions"]["contents"] == "read"
        comments = any(s.get("with", {}).get("comment-on-pr") for s in job["steps"])
        assert (job.get("permissions", {}).get("pull-requests") == "write") == comments, name


def test_prod_preview_is_gated_and_forks_get_no_credentials():
    wf = load()
    assert wf["jobs"]["preview-prod"]["environment"] == "prod-preview"
    assert "environment" not in wf["jobs"]["preview"]  # its sub stays repo:<org>/<repo>:pull_request
    assert job_stacks("preview-prod", wf["jobs"]["preview-prod"]) == ["prod"]
    for name in PREVIEW_JOBS:
        assert "github.event.pull_request.head.repo.full_name == github.repository" in wf["jobs"][name]["if"]
    for job in wf["jobs"].values():
        for step in steps_using(job, "actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
    assert "pull_request_target" not in wf["on"]
