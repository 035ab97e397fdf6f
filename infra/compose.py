"""`make compose STACK=<name>`: write .build/<stack>/docker-compose.yml for a local stack's containers
(training job, archive step, server), delivered from the same Plan as the Pulumi program.

The stack's committed config file is read the way the engine would pass it (no Pulumi CLI needed).
Then `docker compose -f .build/<stack>/docker-compose.yml up` (or docker-compose v1) trains, archives
and serves.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from torchserve_deploy.constants import CONTAINER_UID
from torchserve_deploy.container.compose import render_compose
from torchserve_deploy.errors import ValidationError

from infra.deliver.compose import compose_services
from infra.offline import stack_settings
from infra.plan import ROOT, make_plan


def write(stack: str) -> Path:
    s = stack_settings(stack)
    plan = make_plan(s)
    out = ROOT / ".build" / stack
    text, files = render_compose(compose_services(plan), out)
    out.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(content)
    # Host directories the uid-1000 containers write to (as ModelStore and TrainingRun prepare them).
    for directory in [s.store_path, *(s.training_outputs / m.name for m in s.trained)]:
        if not directory.exists():
            directory.mkdir(parents=True)
            if os.geteuid() == 0:
                os.chown(directory, CONTAINER_UID, CONTAINER_UID)
    (out / "docker-compose.yml").write_text(text)
    return out / "docker-compose.yml"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="dev")
    stack = parser.parse_args(argv).stack
    try:
        path = write(stack)
    except ValidationError as err:
        print(f"make compose: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # a missing model file, an unwritable .build/ or store directory
        where = f" {err.filename}" if err.filename else ""
        print(f"make compose: cannot read or write{where} ({err.strerror or err}): fix that path or its "
              f"permissions, then run make compose STACK={stack} again", file=sys.stderr)
        return 2
    print(f"wrote {path.relative_to(ROOT)} (torchserve-deploy stack {stack} → compose)")
    print(f"run it: docker compose -f {path.relative_to(ROOT)} up --build   (Compose v1: docker-compose -f ...)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
