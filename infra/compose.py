"""`make compose STACK=<name>`: write .build/<stack>/docker-compose.yml for the stack's containers
(training job, archive step, server), rendered from the same specs as the Pulumi resources.

The stack's committed config file is read the way the engine would pass it (no Pulumi CLI needed).
Then `docker-compose -f .build/<stack>/docker-compose.yml up` trains, archives and serves.
"""
from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import yaml

from components.archive import build_archiver_spec
from components.compose import ComposeBuild, ComposeService, render_compose
from components.container_spec import Mount
from components.image import content_tag
from components.server import build_server_spec
from components.training import TRAINING_DOCKERFILE, build_training_spec, training_tag
from infra.program import (ROOT, archive_args, image_args, server_args, store_args, trained, training_image_args,
                           training_run_args)
from infra.stack_settings import PROJECT, Settings, load_settings
from components.server_config import CONTAINER_MODEL_STORE

DONE = "service_completed_successfully"


def stack_settings(stack: str) -> Settings:
    data = yaml.safe_load((ROOT / "stacks" / f"Pulumi.{stack}.yaml").read_text()) or {}
    config = {k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in (data.get("config") or {}).items()}
    return load_settings(config, stack=stack, root=ROOT)


def compose_services(s: Settings) -> dict[str, ComposeService]:
    img = image_args(s)
    image_ref = f"{img.repository}:{content_tag(img)}"
    serving_build = ComposeBuild(img.context_dir, None, tuple(img.build_args().items()), img.build_type)
    store = store_args(s)
    mount = Mount(CONTAINER_MODEL_STORE, str(store.host_path) if store.kind == "hostDir" else str(store.volume_name),
                  "bind" if store.kind == "hostDir" else "volume")
    services: dict[str, ComposeService] = {}
    archives = []
    for m in s.models:
        run = None
        if m in trained(s):
            t_args = training_image_args(s, m)
            run = training_run_args(s, m, f"{t_args.repository}:{training_tag(t_args)}")
            services[f"train-{m.name}"] = ComposeService(
                build_training_spec(run),
                ComposeBuild(t_args.source_dir, TRAINING_DOCKERFILE, tuple(t_args.build_args().items())))
        a = archive_args(s, m, run, image_ref)
        archives.append(a)
        after = ((f"train-{m.name}", DONE),) if run else ()
        services[f"archive-{m.name}"] = ComposeService(
            build_archiver_spec(a, image_ref, mount, name=f"archive-{s.stack}-{m.name}"), serving_build, after)
    server = build_server_spec(server_args(s, image_ref, image_ref, archives, mount))
    services["torchserve"] = ComposeService(server, serving_build,
                                            tuple((f"archive-{m.name}", DONE) for m in s.models))
    return services


def write(stack: str) -> Path:
    s = stack_settings(stack)
    out = ROOT / ".build" / stack
    text, files = render_compose(compose_services(s), out)
    out.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(content)
    # Host directories the uid-1000 containers write to (as ModelStore and TrainingRun prepare them).
    for directory in [s.store_path, *(s.training_outputs / m.name for m in trained(s))]:
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            os.chown(directory, 1000, 1000)
    (out / "docker-compose.yml").write_text(text)
    return out / "docker-compose.yml"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stack", default="dev")
    path = write(parser.parse_args().stack)
    print(f"wrote {path.relative_to(ROOT)} ({PROJECT} stack config → compose)")
