"""Edit one entry of a stack file's YAML in place (pure): only the lines of the entry set or deleted change.

Everything else in the file (comments, blank lines, quoting, other keys and their values) stays byte for byte.
That matters beyond looks: PyYAML reads YAML 1.1 and Pulumi reads yaml.v3, so re-serialising a value this tool
did not mean to touch could change what Pulumi reads (`yes`, `1:30`, `1e-3` differ between the two). Values are
read and written as the CLI reads them (infra/pulumi_cli/goyaml: a string yaml.v3 would take for a number is
quoted). A parent written as a JSON string or a flow mapping is turned into a block mapping; a scalar where a
mapping is needed is refused.
"""
from __future__ import annotations

from typing import Any

import yaml
from torchserve_deploy.yaml_strict import load_json

from infra.pulumi_cli import goyaml

Path = tuple[str, ...]


class Unsupported(ValueError):
    pass


def _child(node: yaml.Node, key: str) -> tuple[yaml.Node, yaml.Node] | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    found = [(k, v) for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key]
    if len(found) > 1:
        raise Unsupported(f"key {key!r} appears twice")
    return found[0] if found else None


def _line_end(text: str, node: yaml.Node) -> int:
    """The index just past the line holding `node`'s last character. A block collection's end mark is the next
    key's position (after any blank lines and comments that belong to it), so descend to its last item."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    end = node.end_mark.index
    if end > 0 and text[end - 1] == "\n":  # a block scalar ends at the start of the next line
        return end
    newline = text.find("\n", end)
    return len(text) if newline == -1 else newline + 1


def _dump(key: str, value: Any, column: int) -> str:
    lines = goyaml.dump({key: value}, sort_keys=False, default_flow_style=False).splitlines()
    return "".join(" " * column + line + "\n" for line in lines)


def _nest(keys: Path, value: Any) -> Any:
    for key in reversed(keys):
        value = {key: value}
    return value


def set_entry(text: str, path: Path, value: Any) -> str:
    """`text` with the entry at `path` (keys from the top level) set to `value`, creating missing parents. A
    parent that holds a JSON string (the form `pulumi config set` leaves for structured values) is replaced by
    the same data as a block mapping first."""
    return _edit(text.replace("\r\n", "\n"), path, value, delete=False, crlf="\r\n" in text)


def delete_entry(text: str, path: Path) -> str:
    """`text` without the entry at `path`; unchanged when there is none."""
    return _edit(text.replace("\r\n", "\n"), path, None, delete=True, crlf="\r\n" in text)


def _edit(text: str, path: Path, value: Any, *, delete: bool, crlf: bool) -> str:
    out = _edit_lf(text, path, value, delete)
    return out.replace("\n", "\r\n") if crlf else out


def _edit_lf(text: str, path: Path, value: Any, delete: bool) -> str:
    root = yaml.compose(text)
    if root is None:  # an empty file or only comments
        return text if delete else text + ("\n" if text and not text.endswith("\n") else "") + _dump(
            path[0], _nest(path[1:], value), 0)
    node: yaml.Node = root
    for depth, key in enumerate(path):
        if not isinstance(node, yaml.MappingNode) or node.flow_style:
            raise Unsupported(f"{'.'.join(path[:depth]) or 'the top level'} is not a mapping")
        found = _child(node, key)
        last = depth == len(path) - 1
        if found is None:
            if delete:
                return text
            at = _line_end(text, node.value[-1][1]) if node.value else len(text)
            column = node.value[0][0].start_mark.column if node.value else 0
            prefix = "" if at == 0 or text[at - 1] == "\n" else "\n"
            return text[:at] + prefix + _dump(key, _nest(path[depth + 1:], value), column) + text[at:]
        k, v = found
        start, end = k.start_mark.index - k.start_mark.column, _line_end(text, v)
        if last:
            return text[:start] + ("" if delete else _dump(key, value, k.start_mark.column)) + text[end:]
        if isinstance(v, yaml.ScalarNode) and v.tag.endswith(":null"):
            data = None
        elif isinstance(v, yaml.ScalarNode):  # the JSON string form
            data = load_json(v.value)
            if not isinstance(data, dict):
                raise Unsupported(f"{'.'.join(path[:depth + 1])} holds {v.value!r}, not a mapping")
        elif isinstance(v, yaml.MappingNode) and v.flow_style:
            data = goyaml.load(text[v.start_mark.index:v.end_mark.index])
        else:
            node = v
            continue
        if not data:  # nothing under it yet: the rest of the path goes in whole
            return text if delete else text[:start] + _dump(key, _nest(path[depth + 1:], value),
                                                            k.start_mark.column) + text[end:]
        text = text[:start] + _dump(key, data, k.start_mark.column) + text[end:]  # as a block mapping, then again
        return _edit_lf(text, path, value, delete)
    raise AssertionError("unreachable: an empty path")
