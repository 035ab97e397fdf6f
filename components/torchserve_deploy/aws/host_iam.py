"""IAM documents of a GPU host (pure): who may assume its role, and the least privilege it needs."""
from __future__ import annotations

import json


def assume(service: str) -> str:
    """Who may assume a role: one AWS service (ec2.amazonaws.com, ecs-tasks.amazonaws.com)."""
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]})


def assume_ec2() -> str:
    return assume("ec2.amazonaws.com")


def host_policy(ecr_arn: str, bucket_arn: str, prefix: str, log_group_arn: str, kms_key_arn: str | None) -> str:
    """Pull one repository, read one bucket prefix, write one log group and the agent's GPU metrics; decrypt with the stack's key when
    its objects are KMS-encrypted."""
    statements: list[dict[str, object]] = [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow", "Resource": ecr_arn,
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]},
        {"Sid": "ModelsList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": "ModelsRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}*"},
        {"Sid": "ContainerLogs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
        # The CloudWatch agent's GPU metrics, in its namespace only (PutMetricData has no resource ARN).
        {"Sid": "GpuMetrics", "Effect": "Allow", "Action": "cloudwatch:PutMetricData", "Resource": "*",
         "Condition": {"StringEquals": {"cloudwatch:namespace": "CWAgent"}}},
    ]
    if kms_key_arn:
        statements.append({"Sid": "ModelsDecrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)
