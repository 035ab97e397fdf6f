"""Read a model directory's torchserve-model.yaml into a ModelSource (validated, paths confined).

Every path in the manifest must resolve (symlinks followed) to a file inside the model directory, so
a manifest can never pack /etc/passwd into an archive or use /etc as a build context. Training data
may also live under `data_roots` (directories the caller allows explicitly).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic import ValidationError as PydanticError
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from torchserve_deploy import validators as v
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.model.archiver_input import archiver_path, distinct_names
from torchserve_deploy.model.params import TYPES, Param
from torchserve_deploy.model.source import ModelSource, TrainingSource
from torchserve_deploy.yaml_strict import load_yaml

MANIFEST = "torchserve-model.yaml"
RelPath = Annotated[str, Field(min_length=1, max_length=255)]
SAMPLE_MAX_BYTES = 16 * 1024


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, alias_generator=to_camel,
                              populate_by_name=True)


class ParamDecl(_Strict):
    type: Literal["int", "float", "str", "bool", "list[int]", "list[float]", "list[str]"]
    default: Any = None


class TrainingManifest(_Strict):
    source: RelPath = "."
    entrypoint: RelPath = "main.py"
    requirements: RelPath = "requirements.txt"
    data: RelPath = "data"
    checkpoint: Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")] = "model.pt"
    params: dict[Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")], ParamDecl] = {}


class Manifest(_Strict):
    name: str
    version: str = "1.0"
    handler: RelPath
    model_file: RelPath | None = None
    serialized_file: RelPath | None = None
    extra_files: list[RelPath] = []
    requirements_file: RelPath | None = None
    config_file: RelPath | None = None
    training: TrainingManifest | None = None
    sample: dict[str, Any] | None = None
    """The JSON body of one POST /predictions/<name> request; the post-deploy smoke test sends it and
    expects HTTP 200 with a JSON answer."""

    @field_validator("sample")
    @classmethod
    def _json_sample(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is None:
            return None
        try:
            size = len(json.dumps(value, allow_nan=False).encode())
        except (TypeError, ValueError):  # a YAML date or timestamp, .nan, .inf
            raise PydanticCustomError("sample", "a JSON object (strings, finite numbers, booleans, null, lists, "
                                      "objects; quote dates)") from None
        if size > SAMPLE_MAX_BYTES:
            raise PydanticCustomError("sample", "a JSON object of at most {limit} bytes (this one is {size})",
                                      {"limit": SAMPLE_MAX_BYTES, "size": size})
        return value


def _inside(where: str, field: str, base: Path, value: str, roots: tuple[Path, ...] = ()) -> Path:
    """`value` resolved (symlinks followed) inside `base`, or strictly inside one of `roots`; never in a .git."""
    path = v.resolved(f"{where}: {field}", value, base / value, f"fix {field} in {where}")
    inside = path.is_relative_to(base.resolve()) or any(path != r and path.is_relative_to(r) for r in roots)
    if not inside or ".git" in path.parts:
        within = " or ".join(str(r) for r in (base.name + "/", *roots))
        raise ValidationError(f"{where}: {field}", value, f"a path inside {within} (no '..', absolute paths or "
                              "symlinks leading out)", f"move the file into the model directory and fix {field}")
    return path


def _file(where: str, field: str, base: Path, value: str) -> Path:
    path = _inside(where, field, base, value)
    if not path.is_file():
        raise ValidationError(f"{where}: {field}", value, f"an existing file inside {base.name}/", f"fix {field} in {where}")
    return path


def _archived(where: str, field: str, base: Path, value: str) -> Path:
    """An archiver input: an existing file inside the model directory whose resolved name the archiver cannot
    re-read as something else (a list, a glob, another handler)."""
    path = _file(where, field, base, value)
    inside = path.relative_to(base.resolve())  # as rendered, the path starts with the model directory's own
    archiver_path(f"{where}: {field}", f"{base.name}/{inside}", handler=field == "handler")
    return path


def _shape_error(where: str, err: PydanticError) -> ValidationError:
    first = err.errors()[0]
    loc = ".".join(str(p) for p in first["loc"])
    if first["type"] == "extra_forbidden":
        return ValidationError(f"{where}: {loc}", first["input"], "the fields name, version, handler, modelFile, "
                               "serializedFile, extraFiles, requirementsFile, configFile, training, sample",
                               f"remove or rename {loc}")
    return ValidationError(f"{where}: {loc}", first.get("input"), first["msg"][0].lower() + first["msg"][1:],
                           f"fix {loc} in {where}")


def load_manifest(directory: Path, where: str, *, data_roots: tuple[Path, ...] = ()) -> ModelSource:
    """`directory/torchserve-model.yaml` → ModelSource with absolute, confined, existing paths."""
    try:
        text = (directory / MANIFEST).read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ValidationError(where, f"not UTF-8 (byte {err.start})", "a UTF-8 YAML file", f"save {where} as UTF-8") from None
    data = load_yaml(text, where)
    if not isinstance(data, dict):
        raise ValidationError(where, data, "a mapping of manifest fields (name, handler, ...)",
                              f"write {where} as `name: <model>` / `handler: handler.py` lines; see models/demo")
    try:
        m = Manifest.model_validate(data)
    except PydanticError as err:
        raise _shape_error(where, err) from None
    v.model_name(f"{where}: name", m.name)
    v.model_version(f"{where}: version", m.version)

    def optional(field: str, value: str | None) -> Path | None:
        return None if value is None else _archived(where, field, directory, value)

    training = None
    if m.training is not None:
        t = m.training
        source = _inside(where, "training.source", directory, t.source)
        if not source.is_dir():
            raise ValidationError(f"{where}: training.source", t.source, "a directory inside the model directory",
                                  f"fix training.source in {where}")
        for field in ("entrypoint", "requirements"):
            _file(where, f"training.{field}", source, getattr(t, field))
        data_dir = _inside(where, "training.data", directory, t.data, data_roots)
        if not data_dir.is_dir():
            raise ValidationError(f"{where}: training.data", t.data, "an existing data directory",
                                  f"create it or fix training.data in {where}")
        params = tuple(Param(name, spec.type, spec.default) for name, spec in sorted(t.params.items()))
        training = TrainingSource(source_dir=source, entrypoint=t.entrypoint, requirements=t.requirements,
                                  data_dir=data_dir, checkpoint=t.checkpoint, params=params)
    model_source = ModelSource(
        name=m.name, version=m.version, handler=_archived(where, "handler", directory, m.handler),
        model_file=optional("modelFile", m.model_file), serialized_file=optional("serializedFile", m.serialized_file),
        extra_files=tuple(_archived(where, "extraFiles", directory, e) for e in m.extra_files),
        requirements_file=optional("requirementsFile", m.requirements_file),
        config_file=optional("configFile", m.config_file), training=training)
    distinct_names(f"{where}: files", model_source.files())
    return model_source


__all__ = ["MANIFEST", "SAMPLE_MAX_BYTES", "TYPES", "Manifest", "load_manifest"]
