"""ModelBucket: the private S3 bucket remote hosts sync their model store from.

Creates a bucket (`<name>-bucket`) with all public access blocked, bucket-owner object ownership,
default encryption (KMS with a bucket key when `kms_key_id` is given, else AES256) and versioning (a bad
upload can be rolled back), and a bucket policy: requests without TLS are denied, and only `writer_arns`
(the principal deploying the stack) may write or delete objects — a `.mar` is code, so nobody else may
plant one. ModelArchive commands upload `.mar` files under `prefix`; the host's role may read only that
prefix.
Protected (and kept) in prod; in test stacks it is emptied and deleted by `pulumi destroy`.
Outputs: `bucket_name`, `bucket_arn`, `uri` (s3://bucket/prefix/).
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ModelBucketArgs:
    name_prefix: str
    prefix: str = "models/"
    protect: bool = False
    kms_key_id: pulumi.Input[str] | None = None
    """The key's ARN, or None for AES256."""
    writer_arns: pulumi.Input[list[str]] | None = None
    """Principals that may write objects (the deployer); None leaves writes to IAM alone."""
    tags: tuple[tuple[str, str], ...] = ()


def bucket_policy(bucket_arn: str, writer_arns: list[str] | None) -> str:
    """TLS-only access; writes only by the given principals (pure)."""
    objects = f"{bucket_arn}/*"
    statements: list[dict[str, object]] = [{
        "Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": [bucket_arn, objects],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]
    if writer_arns:
        statements.append({
            "Sid": "WritesOnlyByTheDeployer", "Effect": "Deny", "Principal": "*", "Resource": objects,
            "Action": ["s3:PutObject", "s3:PutObjectAcl", "s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Condition": {"ArnNotEquals": {"aws:PrincipalArn": sorted(writer_arns)}}})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


class ModelBucket(pulumi.ComponentResource):
    bucket_name: pulumi.Output[str]
    bucket_arn: pulumi.Output[str]
    uri: pulumi.Output[str]

    def __init__(self, name: str, args: ModelBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("torchserve:store:ModelBucket", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.options = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=args.protect)
        self.bucket = aws.s3.Bucket(f"{name}-bucket", bucket_prefix=args.name_prefix, force_destroy=not args.protect,
                                    tags=dict(args.tags), opts=self.options)
        aws.s3.BucketPublicAccessBlock(f"{name}-public-access", bucket=self.bucket.id, block_public_acls=True,
                                       block_public_policy=True, ignore_public_acls=True,
                                       restrict_public_buckets=True, opts=child)
        aws.s3.BucketOwnershipControls(f"{name}-ownership", bucket=self.bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs(
            object_ownership="BucketOwnerEnforced"), opts=child)
        algorithm = "aws:kms" if args.kms_key_id is not None else "AES256"
        aws.s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=self.bucket.id, rules=[
            aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm=algorithm, kms_master_key_id=args.kms_key_id),
                bucket_key_enabled=args.kms_key_id is not None)], opts=child)
        policy = pulumi.Output.all(self.bucket.arn, args.writer_arns).apply(lambda a: bucket_policy(a[0], a[1]))
        aws.s3.BucketPolicy(f"{name}-policy", bucket=self.bucket.id, policy=policy, opts=child)
        aws.s3.BucketVersioning(f"{name}-versioning", bucket=self.bucket.id,
                                versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
                                opts=child)
        self.prefix = args.prefix
        self.bucket_name = self.bucket.bucket
        self.bucket_arn = self.bucket.arn
        self.uri = self.bucket.bucket.apply(lambda b: f"s3://{b}/{args.prefix}")
        self.register_outputs({"bucket_name": self.bucket_name, "bucket_arn": self.bucket_arn, "uri": self.uri})
