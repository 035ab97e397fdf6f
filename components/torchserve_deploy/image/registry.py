"""Where a pushed image goes: a repository URL plus the Docker login for its registry.

The image component knows only this shape; which cloud makes the repository (aws/ecr.py) is the
caller's business, so the image layer never imports cloud code.
"""
from __future__ import annotations

from dataclasses import dataclass

import pulumi


@dataclass(frozen=True)
class Registry:
    repository_url: pulumi.Input[str]
    """e.g. 123456789012.dkr.ecr.us-east-1.amazonaws.com/torchserve-staging"""
    server: pulumi.Input[str]
    """The registry host Docker logs in to (no repository path)."""
    username: pulumi.Input[str]
    password: pulumi.Input[str]
    """Passed on as a secret."""
