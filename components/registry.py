"""Where a TorchServeImage is pushed for remote hosts: an ECR repository created here or given.

Pure helpers turn an ECR repository ARN or URL into the registry address Docker logs in to; the
`EcrTarget` builds (or references) the repository and fetches a short-lived login token.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from components.errors import ValidationError

_ARN = re.compile(r"^arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository/([a-z0-9._/-]+)$")
_URL = re.compile(r"^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/([a-z0-9._/-]+)$")


def ecr_repository_url(key: str, ref: str) -> str:
    """An ECR repository ARN or URL → `<account>.dkr.ecr.<region>.amazonaws.com/<name>`."""
    if m := _ARN.match(ref):
        region, account, name = m.groups()
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"
    if _URL.match(ref):
        return ref
    raise ValidationError(
        key, ref, "an ECR repository URL (123456789012.dkr.ecr.us-east-1.amazonaws.com/name) or ARN "
        "(arn:aws:ecr:us-east-1:123456789012:repository/name), or empty to create one",
        f"set {key} to the repository's URL from the ECR console, or clear it",
    )


def ecr_repository_arn(url: str) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<name>` → the repository's ARN (for IAM policies)."""
    m = _URL.match(url)
    assert m, url
    account, region, name = m.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def registry_server(url: str) -> str:
    """Docker's registry address is the host part alone (pulumi-docker wants no repository path)."""
    return url.split("/", 1)[0]


@dataclass(frozen=True)
class EcrPush:
    """Push to ECR: `repository_url` (URL or ARN) of an existing repository, or None to create one."""

    repository_url: str | None = None

    def __post_init__(self) -> None:
        if self.repository_url is not None:
            object.__setattr__(self, "repository_url", ecr_repository_url("EcrPush.repository_url", self.repository_url))


class EcrTarget:
    """The repository URL and Docker registry credentials for an image pushed to ECR."""

    def __init__(self, name: str, repository: str, push: EcrPush, parent: pulumi.Resource) -> None:
        if push.repository_url is None:
            self.repository = aws.ecr.Repository(
                f"{name}-repo",
                name=repository,
                # Content-addressed tags never move, so the repository can refuse overwrites.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                opts=pulumi.ResourceOptions(parent=parent),
            )
            self.url: pulumi.Output[str] = self.repository.repository_url
            self.arn: pulumi.Output[str] = self.repository.arn
        else:
            self.repository = None
            self.url = pulumi.Output.from_input(push.repository_url)
            self.arn = pulumi.Output.from_input(ecr_repository_arn(push.repository_url))
        registry_id = self.url.apply(lambda u: u.split(".", 1)[0])
        token = aws.ecr.get_authorization_token_output(registry_id=registry_id,
                                                      opts=pulumi.InvokeOutputOptions(parent=parent))
        self.server = self.url.apply(registry_server)
        self.credentials = docker.RegistryArgs(
            server=self.server,
            username=token.user_name,
            password=pulumi.Output.secret(token.password),
        )
