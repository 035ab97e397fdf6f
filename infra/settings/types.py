"""The typed settings every later stage reads (attribute access only; built by load.py)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from torchserve_deploy.image.variants import Variant
from torchserve_deploy.model.source import ModelSource

from infra.settings.keys import Ec2Section, FleetSection, ImageSection, ModelDefaults, ServerSection, StoreSection


@dataclass(frozen=True)
class ModelSettings:
    """One model as the stack serves it: its source files, serving settings and training values."""

    name: str
    source: ModelSource
    workers: int
    batch_size: int
    max_batch_delay_ms: int
    response_timeout_s: int
    torch_threads: int
    """torch.set_num_threads in each worker; 0 leaves torch's default (or the CPU launcher's share)."""
    training: dict[str, Any] | None
    """The trainer's parameter values when this model is trained in this stack, else None."""


@dataclass(frozen=True)
class Settings:
    """Everything the plan needs, typed and validated. No string-keyed lookups past this point."""

    stack: str
    root: Path
    host: Literal["local", "ec2", "fleet"]
    image: ImageSection
    server: ServerSection
    defaults: ModelDefaults
    store: StoreSection
    ec2: Ec2Section
    fleet: FleetSection
    models: tuple[ModelSettings, ...]
    region: str | None
    secret_keys: frozenset[str]
    """Config keys (short names) the stack holds as secrets."""
    variant: Variant
    gpus: str | None
    shm_size_mb: int
    log_max_size_mb: int
    container_name: str
    store_path: Path
    store_volume: str
    training_outputs: Path
    roots: tuple[Path, ...]

    @property
    def trained(self) -> tuple[ModelSettings, ...]:
        return tuple(m for m in self.models if m.training is not None)
