"""What a model directory declares: the files torch-model-archiver packs and, optionally, its trainer."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torchserve_deploy.model.params import Param


@dataclass(frozen=True)
class TrainingSource:
    """A model's trainer: its source (the training image's context), data, checkpoint and parameter schema."""

    source_dir: Path
    entrypoint: str
    requirements: str
    data_dir: Path
    checkpoint: str
    params: tuple[Param, ...]


@dataclass(frozen=True)
class ModelSource:
    """The files torch-model-archiver packs. Paths are absolute (the program resolves them)."""

    name: str
    version: str
    handler: Path
    model_file: Path | None = None
    serialized_file: Path | None = None
    extra_files: tuple[Path, ...] = ()
    requirements_file: Path | None = None
    config_file: Path | None = None
    training: TrainingSource | None = None
    """How to train this model's weights, when its directory declares it (see TrainingSource)."""

    def files(self) -> list[tuple[str, Path]]:
        """(archiver flag, path) for every input file, in the archiver's argument order."""
        pairs = [("--model-file", self.model_file), ("--serialized-file", self.serialized_file),
                 ("--handler", self.handler), ("--requirements-file", self.requirements_file),
                 ("--config-file", self.config_file)]
        found = [(flag, path) for flag, path in pairs if path is not None]
        return found + [("--extra-files", path) for path in self.extra_files]
