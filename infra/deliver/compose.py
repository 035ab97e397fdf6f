"""Deliver a local Plan as docker-compose services (training job, archive step, server), rendered from
the same specs as the Pulumi resources. Secret build args become `${TORCHSERVE_DEPLOY_<ARG>}`
references that compose reads from the environment: the file never holds a secret or an encrypted blob."""
from __future__ import annotations

from torchserve_deploy.container.compose import ComposeBuild, ComposeService
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.model.archive import build_archiver_spec
from torchserve_deploy.model.training import TRAINING_DOCKERFILE, build_training_spec
from torchserve_deploy.serve.server import build_server_spec

from infra.plan import ROOT, Plan

DONE = "service_completed_successfully"


def env_reference(arg: str) -> str:
    return "${TORCHSERVE_DEPLOY_" + arg + "}"


def _args(build_args: dict[str, str], secret: frozenset[str]) -> tuple[tuple[str, str], ...]:
    return tuple((k, env_reference(k) if k in secret else val) for k, val in build_args.items())


def compose_services(plan: Plan) -> dict[str, ComposeService]:
    if plan.store is None or not plan.serves:
        raise ValidationError("torchserve-deploy:host", plan.host, "a local stack that serves (compose runs on one "
                              "Docker host)", f"render a local stack, e.g. make compose STACK=dev ({plan.stack} is "
                              f"{'an ec2' if plan.store is None else 'a codebuild'} stack)")
    img = plan.image
    serving_build = ComposeBuild(img.context_dir, None, _args(img.build_args(), img.secret_build_args), img.build_type)
    services: dict[str, ComposeService] = {}
    for m in plan.models:
        after: tuple[tuple[str, str], ...] = ()
        if m.training_image is not None and m.training_run is not None:
            t = m.training_image
            services[f"train-{m.name}"] = ComposeService(
                build_training_spec(m.training_run),
                ComposeBuild(t.source_dir, TRAINING_DOCKERFILE, _args(t.build_args(), t.secret_build_args)))
            after = ((f"train-{m.name}", DONE),)
        services[f"archive-{m.name}"] = ComposeService(
            build_archiver_spec(m.archive, plan.image_ref, plan.store.mount, name=f"archive-{plan.stack}-{m.name}",
                                workspace=ROOT),
            serving_build, after)
    services["torchserve"] = ComposeService(build_server_spec(plan.server), serving_build,
                                            tuple((f"archive-{m.name}", DONE) for m in plan.models))
    return services
