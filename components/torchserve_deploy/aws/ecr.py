"""EcrRepository: where a TorchServeImage is pushed for remote hosts, an ECR repository created here or given.

Pure helpers turn an ECR repository ARN or URL into the registry address Docker logs in to; the
component creates (or references) the repository and fetches a short-lived login token, giving an
`image.registry.Registry` that the image component pushes to.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from torchserve_deploy.errors import ValidationError
from torchserve_deploy.image.registry import Registry

_NAME = r"([a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
_ARN = re.compile(r"arn:aws[a-z-]*:ecr:([a-z0-9-]+):(\d{12}):repository/" + _NAME)
_URL = re.compile(r"(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/" + _NAME)


def ecr_repository_url(key: str, ref: object) -> str:
    """An ECR repository ARN or URL → `<account>.dkr.ecr.<region>.amazonaws.com/<name>`."""
    text = ref if isinstance(ref, str) else ""
    if m := _ARN.fullmatch(text):
        region, account, name = m.groups()
        return f"{account}.dkr.ecr.{region}.amazonaws.com/{name}"
    if _URL.fullmatch(text):
        return str(ref)
    raise ValidationError(
        key, ref, "an ECR repository URL (123456789012.dkr.ecr.us-east-1.amazonaws.com/name) or ARN "
        "(arn:aws:ecr:us-east-1:123456789012:repository/name), or empty to create one",
        f"set {key} to the repository's URL from the ECR console, or clear it",
    )


def ecr_repository_arn(url: str) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com/<name>` → the repository's ARN (for IAM policies)."""
    m = _URL.fullmatch(url)
    assert m, url
    account, region, name = m.groups()
    return f"arn:aws:ecr:{region}:{account}:repository/{name}"


def registry_server(url: str) -> str:
    """Docker's registry address is the host part alone (pulumi-docker wants no repository path)."""
    return url.split("/", 1)[0]


def lifecycle_policy(keep: int) -> str:
    """Untagged images expire after a day; of the rest, the newest `keep` stay (pure)."""
    return json.dumps({"rules": [
        {"rulePriority": 1, "description": "untagged images after a day", "action": {"type": "expire"},
         "selection": {"tagStatus": "untagged", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}},
        {"rulePriority": 2, "description": f"keep the newest {keep} images", "action": {"type": "expire"},
         "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep}},
    ]}, sort_keys=True)


@dataclass(frozen=True)
class EcrRepositoryArgs:
    name: str
    """Repository name for a created repository (one per stack, so stacks never clash)."""
    existing_url: str | None = None
    """An existing repository's URL or ARN: referenced, not created."""
    force_delete: bool = True
    """Delete with its images on `pulumi destroy` (test stacks); False keeps images (protected data)."""
    kms_key_arn: pulumi.Input[str] | None = None
    keep_images: int = 20
    """Lifecycle: the newest N images stay, untagged ones go after a day."""

    def __post_init__(self) -> None:
        if self.existing_url is not None:
            object.__setattr__(self, "existing_url", ecr_repository_url("EcrRepositoryArgs.existing_url",
                                                                         self.existing_url))


class EcrRepository(pulumi.ComponentResource):
    """An ECR repository (created, or referenced) and a login for pushing to it.
    Outputs: `url`, `arn`; `registry` for TorchServeImageArgs.push."""

    url: pulumi.Output[str]
    arn: pulumi.Output[str]

    def __init__(self, name: str, args: EcrRepositoryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:image:EcrRepository", name, None, opts)
        self.repository: aws.ecr.Repository | None = None
        if args.existing_url is None:
            self.repository = aws.ecr.Repository(
                f"{name}-repo",
                name=args.name,
                # Content-addressed tags never move, so the repository can refuse overwrites.
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
                encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(
                    encryption_type="KMS", kms_key=args.kms_key_arn) if args.kms_key_arn is not None else
                    aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
                force_delete=args.force_delete,
                opts=pulumi.ResourceOptions(parent=self),
            )
            aws.ecr.LifecyclePolicy(f"{name}-lifecycle", repository=self.repository.name,
                                    policy=lifecycle_policy(args.keep_images), opts=pulumi.ResourceOptions(parent=self))
            self.url = self.repository.repository_url
            self.arn = self.repository.arn
        else:
            self.url = pulumi.Output.from_input(args.existing_url)
            self.arn = pulumi.Output.from_input(ecr_repository_arn(args.existing_url))
        registry_id = self.url.apply(lambda u: u.split(".", 1)[0])
        token = aws.ecr.get_authorization_token_output(registry_id=registry_id,
                                                      opts=pulumi.InvokeOutputOptions(parent=self))
        self.server = self.url.apply(registry_server)
        self.registry = Registry(repository_url=self.url, server=self.server, username=token.user_name,
                                 password=pulumi.Output.secret(token.password))
        self.register_outputs({"url": self.url, "arn": self.arn})
