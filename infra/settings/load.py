"""Stack config (as the engine hands it over) → frozen, typed Settings. Read once, before any resource.

Values arrive as strings; integers, booleans, lists and the `models` map arrive as JSON. Decoding is
strict (no "yes" for true, no NaN, no repeated keys), then pydantic validates each section in strict
mode, then checks.py relates the sections. Any failure is one ValidationError naming the key, the
value, what is allowed and the fix.
"""
from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic import ValidationError as PydanticError
from pydantic.alias_generators import to_camel
from torchserve_deploy import validators as v
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.model.archiver_input import archiver_path
from torchserve_deploy.model.manifest import MANIFEST, load_manifest
from torchserve_deploy.model.params import resolve
from torchserve_deploy.model.source import ModelSource
from torchserve_deploy.serve.config_properties import MAX_TORCH_THREADS, MAX_WORKERS_PER_MODEL
from torchserve_deploy.yaml_strict import load_json

from infra.settings import checks
from infra.settings.ignored import check_ignored
from infra.settings.keys import (
    HOST_KEY,
    KEY_BY_NAME,
    KEYS,
    MODELS_DEFAULT,
    MODELS_KEY,
    RETIRED,
    SECTIONS,
    K,
    KeyDecl,
    ModelEntry,
    full_key,
)
from infra.settings.paths import confined
from infra.settings.types import ModelSettings, Settings

# Namespaces a stack file may also use (providers the program creates resources with).
OTHER_NAMESPACES = ("aws", "docker", "command", "pulumi")


def _decode(name: str, raw: Any) -> Any:
    """An engine string (or a native value from a test) as the key's declared type."""
    decl = KEY_BY_NAME[name]
    key = f"{PROJECT}:{name}"
    if decl.type == "string":
        if not isinstance(raw, str):
            raise ValidationError(key, raw, "a string", f"pulumi config set {key} {decl.meta.example}")
        return raw
    value = raw
    if isinstance(raw, str):
        try:
            value = load_json(raw)
        except ValueError:
            fix = f"in the stack file: {key}: {decl.meta.example}" if decl.type == "array" else _fix(key, decl.meta)
            raise ValidationError(key, raw, decl.meta.allowed, fix) from None
    if decl.type == "array":
        if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
            raise ValidationError(key, raw, "a list of strings: " + decl.meta.allowed,
                                  f"in the stack file: {key}: {decl.meta.example}")
        return tuple(value)
    return value


def _fix(key: str, meta: K) -> str:
    return f"pulumi config set {key} {meta.example}"


def _section(model: type[BaseModel], values: dict[str, Any]) -> Any:
    try:
        return model.model_validate(values)
    except PydanticError as err:
        first = err.errors()[0]
        cause = (first.get("ctx") or {}).get("error")
        if isinstance(cause, ValidationError):
            raise cause from None
        name = str(first["loc"][0])
        meta = KEY_BY_NAME[name].meta
        key = f"{PROJECT}:{name}"
        raise ValidationError(key, values.get(name, first.get("input")), meta.allowed, _fix(key, meta)) from None


def _our_keys(config: Mapping[str, Any]) -> dict[str, Any]:
    ours: dict[str, Any] = {}
    for full, value in config.items():
        ns, _, name = full.partition(":")
        if ns == PROJECT:
            ours[name] = value
        elif ns not in OTHER_NAMESPACES and (name in KEY_BY_NAME or name == MODELS_KEY or "torchserve" in ns
                                             or difflib.SequenceMatcher(None, ns, PROJECT).ratio() >= 0.6):
            raise ValidationError(full, value, f"keys in the {PROJECT} namespace (a misspelt namespace is ignored by "
                                  "everything)", f"rename it to {PROJECT}:{name}")
    for name in sorted(ours):
        if name in RETIRED:
            raise ValidationError(f"{PROJECT}:{name}", ours[name], "no longer a key: " + RETIRED[name],
                                  f"pulumi config rm {PROJECT}:{name} and move its values")
        if name not in KEY_BY_NAME and name != MODELS_KEY:
            near = difflib.get_close_matches(name, [*KEY_BY_NAME, MODELS_KEY], n=1)
            hint = f"did you mean {PROJECT}:{near[0]}?" if near else f"remove it: pulumi config rm {PROJECT}:{name}"
            raise ValidationError(f"{PROJECT}:{name}", ours[name], "a key declared in Pulumi.yaml (see README)", hint)
    return ours


def _is_default(decl: KeyDecl, value: Any) -> bool:
    """The engine sends every declared key, its Pulumi.yaml default where the stack sets none, so a value equal to
    the default (same type, same value: 1 is not true) is not a choice the stack made."""
    default = tuple(decl.default) if isinstance(decl.default, list) else decl.default
    return type(value) is type(default) and value == default


def _chosen(ours: Mapping[str, Any]) -> dict[str, Any]:
    """The stack's own choices: every declared key decoded, those equal to their default left out."""
    decoded = {name: _decode(name, raw) for name, raw in ours.items() if name in KEY_BY_NAME}
    return {name: value for name, value in decoded.items() if not _is_default(KEY_BY_NAME[name], value)}


def load_settings(config: Mapping[str, Any], *, stack: str, root: Path,
                  secret_keys: frozenset[str] = frozenset()) -> Settings:
    """Parse and validate everything; raises ValidationError on the first bad key.
    `config` is what the engine hands the program: every key of Pulumi.yaml's config block (defaults merged in),
    each a string. `secret_keys` are the full config keys the engine marks secret."""
    ours = _our_keys(config)
    _secrets_only_where_kept(ours, secret_keys)
    host = v.one_of(f"{PROJECT}:{HOST_KEY}", ours.get(HOST_KEY, "local"), ("local", "ec2", "fleet"))
    chosen = _chosen(ours)
    for name in sorted(chosen):
        decl = KEY_BY_NAME[name]
        if host not in decl.meta.hosts:
            raise ValidationError(f"{PROJECT}:{name}", ours[name], f"set only when host is {' or '.join(decl.meta.hosts)}"
                                  f" (this stack's host is {host}, where it would be ignored)",
                                  f"pulumi config rm {PROJECT}:{name}")
    sections: dict[str, Any] = {}
    for section, model in SECTIONS.items():
        sections[section] = _section(model, {k.name: chosen[k.name] for k in KEYS
                                             if k.section == section and k.name in chosen})
    secrets = frozenset(full.partition(":")[2] for full in secret_keys if full.startswith(PROJECT + ":"))
    s = checks.relate(stack=stack, root=root, host=host, config=config, secrets=secrets, **sections)
    models = _models(ours.get(MODELS_KEY), s, root)
    trained = tuple(f"{PROJECT}:{MODELS_KEY}.{m.name}.train" if entry_trains else f"{PROJECT}:train"
                    for m, entry_trains in models if m.training is not None)
    check_ignored(host=host, image=s.image, store=s.store, ec2=s.ec2, trained=trained)
    return checks.finish(s, tuple(m for m, _ in models))


def _secrets_only_where_kept(ours: Mapping[str, Any], secret_keys: frozenset[str]) -> None:
    """A secret reaches resource inputs in plain text unless its key is one the program keeps secret."""
    kept = sorted(k.name for k in KEYS if k.meta.secret)
    for name in sorted(ours):
        full = f"{PROJECT}:{name}"
        if full in secret_keys and name not in kept:
            raise ValidationError(full, "[secret]", "a plain value (only " + ", ".join(kept) + " may be secrets: any "
                                  "other key reaches resource inputs and state in plain text)",
                                  f"pulumi config set {full} <value> (without --secret)")


# What each field of a `models` entry takes, in error messages (the ranges are ModelEntry's).
ENTRY_ALLOWED = {"path": "<model dir, relative to the repo root>", "workers": f"1-{MAX_WORKERS_PER_MODEL}",
                 "batchSize": "1-1024", "maxBatchDelayMs": "0-60000", "responseTimeoutS": "1-86400",
                 "torchThreads": f"0-{MAX_TORCH_THREADS}", "train": "true|false|{param: value}"}


def _models(raw: Any, s: Settings, root: Path) -> tuple[tuple[ModelSettings, bool], ...]:
    """Each model with whether its own entry asks for training (else the stack-wide default does, if anything)."""
    key = f"{PROJECT}:{MODELS_KEY}"
    fix = f"in the stack file: {key}: {{demo: {{path: models/demo, workers: 1}}}}"
    value: Any = MODELS_DEFAULT if raw is None else raw
    if isinstance(raw, str):
        try:
            value = load_json(raw)
        except ValueError as err:
            raise ValidationError(key, raw, f"a map from model name to settings ({err})", fix) from None
    if isinstance(value, list):
        raise ValidationError(key, value, "a map from model name to {path, workers, batchSize, maxBatchDelayMs, "
                              "responseTimeoutS, torchThreads, train} (the list form was retired)", fix)
    if not isinstance(value, dict) or not value:
        raise ValidationError(key, value, "a non-empty map from model name to {path, ...}", fix)
    out = []
    for name, entry_raw in value.items():
        where = f"{key}.{name}"
        v.model_name(f"{key} (model name)", name)
        try:
            entry = ModelEntry.model_validate(entry_raw)
        except PydanticError as err:
            first = err.errors()[0]
            # The first element names the entry's field; later ones are pydantic's union tags.
            field = str(first["loc"][0]) if first["loc"] else ""
            allowed = "{" + ", ".join(f"{k}: {v}" for k, v in ENTRY_ALLOWED.items()) + "}"
            known = to_camel(field)  # pydantic names the field as written: batchSize, or batch_size by name
            if known in ENTRY_ALLOWED:
                what = ENTRY_ALLOWED[known] if known in ("path", "train") else f"an unquoted integer in {ENTRY_ALLOWED[known]}"
                fix = f"set {where}.{field} to {what}" + ("" if known == "path" else ", or remove it to take the default")
            elif field:
                fix = f"remove {where}.{field} (a model entry holds only {', '.join(ENTRY_ALLOWED)})"
            else:
                fix = f"make {where} a map such as {{path: models/demo, workers: 1}}"
            raise ValidationError(f"{where}.{field}" if field else where, first.get("input"), allowed, fix) from None
        directory = confined(f"{where}.path", entry.path, root, s.roots)
        archiver_path(f"{where}.path", os.path.relpath(directory, root))  # the archiver's inputs lie below it
        if not (directory / MANIFEST).is_file():
            raise ValidationError(f"{where}.path", entry.path, f"a directory (relative to the repo root) holding {MANIFEST}",
                                  f"create {entry.path}/{MANIFEST} or fix the path; see models/demo/{MANIFEST}")
        source = load_manifest(directory, f"{entry.path}/{MANIFEST}", data_roots=s.roots)
        if source.name != name:
            raise ValidationError(f"{where}.path", entry.path, f"a model directory whose manifest names it {name!r} "
                                  f"(it says {source.name!r})", f"rename the entry to {source.name} or fix the manifest")
        out.append((ModelSettings(
            name=name, source=source,
            workers=entry.workers or s.defaults.workers_per_model,
            batch_size=entry.batch_size or s.defaults.batch_size,
            max_batch_delay_ms=s.defaults.max_batch_delay_ms if entry.max_batch_delay_ms is None else entry.max_batch_delay_ms,
            response_timeout_s=entry.response_timeout_s or s.defaults.response_timeout_s,
            torch_threads=s.defaults.torch_threads if entry.torch_threads is None else entry.torch_threads,
            training=_training(where, entry, source, s)), entry.train is not None))
    return tuple(out)


def _training(where: str, entry: ModelEntry, source: ModelSource, s: Settings) -> dict[str, Any] | None:
    explicit = entry.train is not None
    wanted = entry.train if explicit else s.defaults.train
    if explicit and (isinstance(wanted, dict) or wanted is True):
        if s.host != "local":
            raise ValidationError(f"{where}.train", entry.train, "no training on an ec2 host (training runs on the "
                                  "local Docker host)", "train in the dev stack, then remove train here")
        if source.training is None:
            raise ValidationError(f"{where}.train", entry.train, f"training only for a model whose {MANIFEST} "
                                  "declares a training section", f"remove train from {where}, or declare training")
    if isinstance(wanted, dict):
        return resolve(source.training.params, wanted, f"{where}.train", entry.path)  # type: ignore[union-attr]
    if wanted and source.training is not None:
        return resolve(source.training.params, {}, f"{where}.train", entry.path)
    return None


__all__ = ["ModelSettings", "Settings", "full_key", "load_settings"]
