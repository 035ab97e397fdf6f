"""YAML and JSON readers that refuse what pyyaml and json accept silently: repeated keys (the last one
would win without a word) and, in JSON, NaN and Infinity."""
from __future__ import annotations

import json
from typing import Any

import yaml

from torchserve_deploy.errors import ValidationError


class _StrictLoader(yaml.SafeLoader):
    pass


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"key {key!r} appears twice", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load_yaml(text: str, where: str) -> Any:
    """YAML text → data; syntax errors and repeated keys become a ValidationError naming `where`."""
    try:
        return yaml.load(text, Loader=_StrictLoader)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
        at = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(err, "problem", None) or str(err).splitlines()[0]
        raise ValidationError(where, f"{problem}{at}", "valid YAML with each key once", f"fix {where}") from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number")


def _no_repeats(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def load_json(text: str) -> Any:
    """JSON → data; raises ValueError on NaN/Infinity and repeated keys."""
    return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_repeats)
