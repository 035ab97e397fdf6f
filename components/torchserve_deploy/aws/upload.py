"""Upload one model archive to S3 (run by a ModelArchive's command on the machine running pulumi).

usage: python -m torchserve_deploy.aws.upload FILE s3://BUCKET/KEY   (AWS credentials as for pulumi itself)
"""
from __future__ import annotations

import sys
from pathlib import Path

import boto3  # type: ignore[import-untyped]


def main(argv: list[str]) -> int:
    if len(argv) != 2 or not argv[1].startswith("s3://"):
        print(__doc__, file=sys.stderr)
        return 64
    path, uri = Path(argv[0]), argv[1][len("s3://"):]
    bucket, _, key = uri.partition("/")
    # No ServerSideEncryption here: the bucket's default encryption applies (KMS when kmsKeyId is set).
    boto3.client("s3").upload_file(str(path), bucket, key)
    print(f"uploaded {path.name} to s3://{bucket}/{key}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
