"""IAM documents of the fleet (pure): the instances' role, the task execution role and the task role."""
from __future__ import annotations

import json

ECS_INSTANCE_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role"
SSM_POLICY = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"


def execution_policy(ecr_arn: str, log_group_arn: str) -> str:
    """What ECS needs to start the task: pull from the one repository, write the one log group."""
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "EcrLogin", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
        {"Sid": "EcrPull", "Effect": "Allow", "Resource": ecr_arn,
         "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]},
        {"Sid": "Logs", "Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
         "Resource": f"{log_group_arn}:*"},
    ]}, sort_keys=True)


def task_policy(bucket_arn: str, prefix: str, kms_key_arn: str | None) -> str:
    """What the task's code may do: the model-sync init container reads the archives' prefix; nothing else."""
    statements: list[dict[str, object]] = [
        {"Sid": "ModelsList", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn,
         "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*"]}}},
        {"Sid": "ModelsRead", "Effect": "Allow", "Action": "s3:GetObject", "Resource": f"{bucket_arn}/{prefix}*"},
    ]
    if kms_key_arn:
        statements.append({"Sid": "ModelsDecrypt", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": kms_key_arn})
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, sort_keys=True)


def ecs_user_data(cluster: str) -> str:
    """Joins the cluster with GPU support; tasks get credentials from the agent (task roles), never from IMDS."""
    return "\n".join([
        "#!/bin/bash",
        "cat >> /etc/ecs/ecs.config <<'EOF'",
        f"ECS_CLUSTER={cluster}",
        "ECS_ENABLE_GPU_SUPPORT=true",
        "ECS_ENABLE_TASK_IAM_ROLE=true",
        "ECS_ENABLE_CONTAINER_METADATA=true",
        "EOF",
        "",
    ])
