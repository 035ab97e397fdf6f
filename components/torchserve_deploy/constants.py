"""Facts every layer shares, spelled once."""
from __future__ import annotations

PROJECT = "torchserve-deploy"
"""The Pulumi project and config namespace."""

CONTAINER_UID = 1000
CONTAINER_USER = f"{CONTAINER_UID}:{CONTAINER_UID}"
"""model-server in the serving image and trainer in the training image are both created with this UID/GID."""

STACK_LABEL = "torchserve-deploy.stack"
"""Docker label (and AWS tag key) naming the stack that owns a resource."""
MODELS_LABEL = "torchserve-deploy.models"
TRAINING_RUN_LABEL = "torchserve-deploy.training-run"

LOOPBACK = "127.0.0.1"
ANY_IPV4 = "0.0.0.0"

CONTAINER_HOME = "/home/model-server"
CONTAINER_MODEL_STORE = f"{CONTAINER_HOME}/model-store"
CONTAINER_CONFIG = f"{CONTAINER_HOME}/config.properties"
# TorchServe works in this directory (a tmpfs on the read-only root) and writes key_file.json there.
CONTAINER_RUN_DIR = "/run/torchserve"
CONTAINER_KEY_FILE = f"{CONTAINER_RUN_DIR}/key_file.json"
CONTAINER_TMP = "/tmp"
HEALTH_PATH = "/healthz"
"""The token-free, worker-aware health endpoint (ts-healthcheck --serve) that load balancers probe."""
