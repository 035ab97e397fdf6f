"""Training parameters: a trainer's declared schema, typed values, and their `--key value` rendering.

Rendering follows what argparse expects: sorted by name (a stable order whatever the order of the
config), `--flag` for a true boolean (store_true) and nothing for a false one, `--key v1 v2` for a
list (nargs='+') and nothing for an empty one, `--key value` otherwise.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

from torchserve_deploy.errors import ValidationError

TYPES = ("int", "float", "str", "bool", "list[int]", "list[float]", "list[str]")


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    default: Any = None


def _scalar(kind: str, raw: Any) -> Any:
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        raise ValueError
    if isinstance(raw, bool):
        raise ValueError
    if kind == "int":
        if isinstance(raw, int):
            return raw
        raise ValueError
    if kind == "float":
        if not isinstance(raw, (int, float)) or not math.isfinite(raw):
            raise ValueError  # NaN and inf never reach a trainer
        return float(raw)
    # A string becomes one argv element (quoted by construction); control characters are refused.
    if not isinstance(raw, str) or len(raw) > 4096 or not raw.isprintable():
        raise ValueError
    return raw


def coerce(param: Param, raw: Any) -> Any:
    """A structured config value as the param's type; ValueError if it is not one."""
    if param.type.startswith("list["):
        if not isinstance(raw, list) or len(raw) > 1024:
            raise ValueError
        return [_scalar(param.type[5:-1], item) for item in raw]
    return _scalar(param.type, raw)


def resolve(schema: tuple[Param, ...], overrides: dict[str, Any], key: str, model: str) -> dict[str, Any]:
    """Defaults from the schema, overridden by the stack's values; unknown names and bad types refused.
    `key` names the mapping the overrides came from (e.g. torchserve-deploy:models.demo.train)."""
    names = {p.name: p for p in schema}
    values: dict[str, Any] = {}
    for p in schema:
        try:
            values[p.name] = None if p.default is None else coerce(p, p.default)
        except (ValueError, TypeError):
            raise ValidationError(f"{key}.{p.name}", p.default, f"a default of type {p.type} in the manifest of {model}",
                                  f"fix training.params.{p.name}.default in {model}'s torchserve-model.yaml") from None
    for name, raw in overrides.items():
        if name not in names:
            raise ValidationError(f"{key}.{name}", raw, f"parameters the trainer of {model} declares: "
                                  + ", ".join(sorted(names)), f"remove {name} or declare it in the model's training params")
        try:
            values[name] = coerce(names[name], raw)
        except (ValueError, TypeError):
            kind = names[name].type
            what = {"float": "a finite float", "str": "a printable string of at most 4096 characters"}.get(kind, f"{'an' if kind == 'int' else 'a'} {kind}")
            raise ValidationError(f"{key}.{name}", raw, f"{what} (type {kind})",
                                  f"write {name}: <{names[name].type}>") from None
    return values


def render_args(values: dict[str, Any]) -> list[str]:
    argv: list[str] = []
    for name in sorted(values):
        value = values[name]
        if value is None or value is False or value == []:
            continue
        if value is True:
            argv.append(f"--{name}")
        elif isinstance(value, list):
            argv += [f"--{name}", *(_text(v) for v in value)]
        else:
            argv += [f"--{name}", _text(value)]
    return argv


def _text(value: Any) -> str:
    return repr(value) if isinstance(value, float) else str(value)


def digest(argv: list[str]) -> str:
    return hashlib.sha256(json.dumps(argv).encode()).hexdigest()
