"""The fleet's stack settings (one declaration per key, like keys.py): ECS tasks on auto-scaled GPU instances."""
from __future__ import annotations

from typing import Annotated

from pydantic import Field

from infra.settings.declare import FLEET, K, Section


class FleetSection(Section):
    fleet_min_tasks: Annotated[int, Field(ge=1, le=100), K(
        "fleet: fewest serving tasks (one per GPU instance; the capacity provider starts the instances they need).",
        "an integer from 1 to 100", "2", hosts=(FLEET,))] = 2
    fleet_max_tasks: Annotated[int, Field(ge=1, le=100), K(
        "fleet: most serving tasks (and instances).", "an integer from 1 to 100", "6", hosts=(FLEET,))] = 6
    fleet_target_requests_per_task: Annotated[int, Field(ge=0, le=10_000_000), K(
        "fleet: requests per task per minute that target tracking holds (ALBRequestCountPerTarget); 0 derives it "
        "from the per-task capacity `make bench` measured (see README).", "0, or requests per minute",
        "60000", hosts=(FLEET,))] = 0
    fleet_scale_out_cooldown_s: Annotated[int, Field(ge=0, le=3600), K(
        "fleet: seconds after a scale-out before the next one.", "an integer from 0 to 3600", "60",
        hosts=(FLEET,))] = 60
    fleet_scale_in_cooldown_s: Annotated[int, Field(ge=0, le=3600), K(
        "fleet: seconds after a scale-in before the next one.", "an integer from 0 to 3600", "300",
        hosts=(FLEET,))] = 300
    fleet_p99_alarm_ms: Annotated[int, Field(ge=10, le=120000), K(
        "fleet: p99 target response time (ms) above which the rollout alarm fires.", "an integer from 10 to 120000",
        "1000", hosts=(FLEET,))] = 1000
    fleet_error_alarm_count: Annotated[int, Field(ge=1, le=1000000), K(
        "fleet: target 5xx responses per minute at which the rollout alarm fires.", "an integer from 1", "10",
        hosts=(FLEET,))] = 10
