"""YAML and JSON readers that refuse what pyyaml and json accept silently: repeated keys (the last one
would win without a word), aliases (a few lines of them expand to a billion items), keys that are not
plain scalars, absurd nesting and numbers, and, in JSON, NaN and Infinity. Every refusal is a
ValidationError (or ValueError for JSON), never a traceback."""
from __future__ import annotations

import json
from typing import Any

import yaml

from torchserve_deploy.errors import ValidationError


class _StrictLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.composer.ComposerError(None, None, "aliases (*name) are not accepted", event.start_mark)
        return super().compose_node(parent, index)


def _mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode):
            raise yaml.constructor.ConstructorError(None, None, "keys must be plain names", key_node.start_mark)
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
    except (RecursionError, ValueError, TypeError) as err:  # absurd nesting, a 5000-digit number
        raise ValidationError(where, type(err).__name__, "valid YAML of reasonable depth and numbers",
                              f"fix {where}") from None
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
    try:
        return json.loads(text, parse_constant=_no_constant, object_pairs_hook=_no_repeats)
    except RecursionError:
        raise ValueError("nested too deeply") from None
