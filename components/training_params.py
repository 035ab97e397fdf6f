"""Training parameters: a trainer's declared schema, typed values, and their `--key value` rendering.

Rendering follows what argparse expects: sorted by name (a stable order whatever the order of the
config), `--flag` for a true boolean (store_true) and nothing for a false one, `--key v1 v2` for a
list (nargs='+') and nothing for an empty one, `--key value` otherwise.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from components.errors import ValidationError

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
        if raw in ("true", "false"):
            return raw == "true"
        raise ValueError
    if isinstance(raw, bool):
        raise ValueError
    if kind == "int":
        if isinstance(raw, int):
            return raw
        if isinstance(raw, str) and raw.lstrip("-").isdigit():
            return int(raw)
        raise ValueError
    if kind == "float":
        return float(raw)
    if not isinstance(raw, str):
        raise ValueError
    return raw


def coerce(param: Param, raw: Any) -> Any:
    """A config value (string from `key=value`, or a YAML value) as the param's type; ValueError if not."""
    if param.type.startswith("list["):
        inner = param.type[5:-1]
        items = raw if isinstance(raw, list) else ([] if raw == "" else str(raw).split(","))
        return [_scalar(inner, item) for item in items]
    return _scalar(param.type, raw)


def resolve(schema: tuple[Param, ...], overrides: dict[str, Any], key: str, model: str) -> dict[str, Any]:
    """Defaults from the schema, overridden by the stack's values; unknown names and bad types refused."""
    names = {p.name: p for p in schema}
    values = {p.name: p.default for p in schema}
    for name, raw in overrides.items():
        if name not in names:
            raise ValidationError(key, f"{model}.{name}={raw}", f"parameters the trainer of {model} declares: "
                                  + ", ".join(sorted(names)), f"remove {model}.{name} or declare it in the model's training params")
        try:
            values[name] = coerce(names[name], raw)
        except (ValueError, TypeError):
            raise ValidationError(key, f"{model}.{name}={raw}", f"a value of type {names[name].type} for {model}.{name}",
                                  f"write {model}.{name}=<{names[name].type}>") from None
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
