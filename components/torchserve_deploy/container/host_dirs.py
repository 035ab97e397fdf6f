"""Shell for host directories that the project's non-root containers write to (pure)."""
from __future__ import annotations

import shlex

from torchserve_deploy.constants import CONTAINER_USER


def prepare_host_dir(path: str) -> str:
    """Create `path` for the uid-1000 containers. Only a directory this command creates is chowned (and
    only as root): an existing directory keeps its owner, so a misplaced path can never hand a system
    or user directory to the container's uid."""
    q = shlex.quote(path)
    return f'if [ ! -d {q} ]; then mkdir -p {q} && if [ "$(id -u)" = 0 ]; then chown {CONTAINER_USER} {q}; fi; fi'
