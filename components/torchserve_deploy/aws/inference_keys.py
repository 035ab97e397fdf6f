"""InferenceKeys: the stack's inference key, kept in Secrets Manager and checked at the edge.

TorchServe 0.12 makes its own keys at start (key_file.json), in memory, expiring after
token_expiration_min, with no way to supply one; a load balancer cannot send them. So behind the edge the
key is the stack's: a random key per `version` (children `<name>-v<n>`, pulumi-random), stored as a
secret (`<name>-secret`, KMS-encrypted when a key is given) that clients read with one command. Keys do
not expire: rotation is deliberate (bump `version`), and with `grace` the previous version stays valid
until the next bump, so clients can move over. Keys are alphanumeric (an ALB header condition treats
`*` and `?` as wildcards).

Outputs: `secret_arn`, `read_command`; `accepted` (the keys the edge accepts, secret).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from torchserve_deploy.errors import ValidationError

KEY_LENGTH = 48


@dataclass(frozen=True)
class InferenceKeysArgs:
    secret_name: str
    version: int = 1
    grace: bool = True
    kms_key_id: str | None = None
    protect: bool = False
    """Kept 30 days after deletion when protected; deleted at once otherwise (test stacks leave nothing)."""
    tags: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.version < 1:
            raise ValidationError("InferenceKeysArgs.version", self.version, "an integer from 1", "use 1")


class InferenceKeys(pulumi.ComponentResource):
    secret_arn: pulumi.Output[str]
    read_command: pulumi.Output[str]

    def __init__(self, name: str, args: InferenceKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:edge:InferenceKeys", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        versions = [args.version] + ([args.version - 1] if args.grace and args.version > 1 else [])
        keys = {n: random.RandomPassword(f"{name}-v{n}", length=KEY_LENGTH, special=False, keepers={"version": str(n)},
                                         opts=child) for n in versions}
        self.accepted: pulumi.Output[list[str]] = pulumi.Output.secret(
            pulumi.Output.all(*[keys[n].result for n in versions]))
        self.secret = aws.secretsmanager.Secret(
            f"{name}-secret", name=args.secret_name, kms_key_id=args.kms_key_id, tags=dict(args.tags),
            description="TorchServe inference key: send it as 'Authorization: Bearer <key>'",
            recovery_window_in_days=30 if args.protect else 0, opts=child)
        value: pulumi.Output[str] = pulumi.Output.all(*[keys[n].result for n in versions]).apply(
            lambda ks: json.dumps({"key": ks[0], "version": args.version, "previous": ks[1] if len(ks) > 1 else None},
                                  sort_keys=True))
        aws.secretsmanager.SecretVersion(f"{name}-value", secret_id=self.secret.id,
                                         secret_string=value, opts=child)  # secret: derived from the keys
        self.secret_arn = self.secret.arn
        self.read_command = self.secret.arn.apply(
            lambda arn: f"aws secretsmanager get-secret-value --secret-id {arn} --query SecretString --output text"
                        " | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"key\"])'")
        self.register_outputs({"secret_arn": self.secret_arn, "read_command": self.read_command})
