"""torchserve-deploy program: settings → plan → deliver → exports.

The engine runs this file from infra/ with infra/ (not the repository) on sys.path, so the repository
root is added here; the components come from the installed torchserve_deploy package.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pulumi
import pulumi.runtime.config as runtime_config
from torchserve_deploy.constants import CONTAINER_KEY_FILE
from torchserve_deploy.errors import ValidationError

from infra.cloud_checks import check_vpc, check_zone
from infra.deliver import ec2, fleet, local
from infra.plan import ROOT, make_plan
from infra.settings import load_settings


def main() -> None:
    config = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    secret_keys = frozenset(k for k in config if runtime_config.is_config_secret(k))
    settings = load_settings(config, stack=pulumi.get_stack(), root=ROOT, secret_keys=secret_keys)
    plan = make_plan(settings)
    if settings.host != "local" and settings.ec2.edge == "alb" and settings.ec2.hosted_zone_id:
        check_zone(settings.ec2.domain_name, settings.ec2.hosted_zone_id)  # before any resource
    if settings.host != "local" and settings.ec2.vpc_id:
        check_vpc(settings.ec2.vpc_id)
    if not plan.token_auth:
        pulumi.log.warn(
            "torchserve-deploy:tokenAuth is false: TorchServe answers inference and management requests "
            "without a key. Turn it back on unless this endpoint is protected by something else.")
    if plan.ec2 is not None:  # ec2 and fleet stacks push to their ECR repository
        image, repo = ec2.build_image(plan)
    else:
        image = local.build_image(plan)
    pulumi.export("imageRef", image.image_ref)
    # buildType codebuild makes a CI image (e.g. an AWS CodeBuild custom image): built, smoke-tested while
    # it builds, pushed if asked; it serves nothing, so no store, archive or server.
    if not plan.serves:
        return
    models = [m.name for m in plan.models]
    if plan.fleet is not None:
        delivery = fleet.FleetDelivery(plan, image, repo)
        pulumi.export("inferenceUrl", delivery.edge.url)
        pulumi.export("keyCommand", delivery.keys.read_command if delivery.keys else None)
        pulumi.export("cluster", delivery.fleet.cluster_name)
        pulumi.export("service", delivery.fleet.service_name)
        pulumi.export("modelNames", models)
        return
    if plan.ec2 is not None:
        delivery = ec2.Ec2Delivery(plan, image, repo)
        host, port = delivery.host, plan.server.host_ports.inference
        pulumi.export("instanceId", host.instance_id)
        pulumi.export("sessionCommand", host.instance_id.apply(lambda i: f"aws ssm start-session --target {i}"))
        pulumi.export("modelNames", models)
        if delivery.edge is not None and delivery.keys is not None:
            pulumi.export("inferenceUrl", delivery.edge.url)
            pulumi.export("keyCommand", delivery.keys.read_command)
            return
        # No edge: private clients only, with TorchServe's own keys (read through Session Manager).
        container = plan.server.container_name
        pulumi.export("inferenceUrl", host.private_ip.apply(lambda ip: f"http://{ip}:{port}"))
        pulumi.export("keyCommand", host.instance_id.apply(
            lambda i: f"aws ssm start-session --target {i}  # then: sudo docker exec {container} "
                      f"cat {CONTAINER_KEY_FILE}"))
        return
    server = local.deliver(plan, image)
    pulumi.export("inferenceUrl", server.inference_url)
    pulumi.export("managementUrl", server.management_url)
    pulumi.export("metricsUrl", server.metrics_url)
    pulumi.export("modelNames", server.model_names)
    pulumi.export("containerName", server.container_name)
    pulumi.export("tokenCommand", server.token_command)


try:
    main()
except ValidationError as err:
    # RunError: Pulumi prints the message alone, without a Python traceback. Validation runs before the
    # first resource, so nothing has been created.
    raise pulumi.RunError(str(err)) from None
