"""The torchserve-deploy policy pack: `pulumi up --policy-pack policy` (or `pulumi preview --policy-pack policy`).

The CLI runs this file with `python -m pulumi.policy`, which puts this directory on sys.path; constructing the
PolicyPack starts the analyzer server the engine talks to (it does not return). The rules live in
torchserve_policies.py, which tests/test_policy_pack.py imports directly.
"""
from pulumi_policy import EnforcementLevel, PolicyPack
from torchserve_policies import POLICIES

PolicyPack(
    name="torchserve-deploy",
    enforcement_level=EnforcementLevel.MANDATORY,
    policies=POLICIES,
    description="TorchServe exposure and hardening: management on loopback only, no public SSH or serving ports, "
                "IMDSv2, encrypted volumes, no public IPs on hosts, HTTPS-only internet listeners, TLS-only buckets.",
)
