"""A stack's config map as the CLI edits and reads it (pulumi/pulumi sdk/go/common/resource/config/map.go
`Get`, `Set`, `Decrypt`, `SecureKeys`; object.go `Set`; properties_path.go `parsePropertyPath` in strict mode),
and what `pulumi config set` writes (pkg/cmd/pulumi/config/config.go `configSetCmd.Run`): a top-level value
stays a string unless --type says otherwise; with --path, "true"/"false" become booleans and base-10 integers
numbers inside the map or list.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.pulumi_cli.values import ConfigError, Secure, Value, coerce_object, go_json, marshal, parse_key, unmarshal

ConfigMap = dict[str, Value]
Path = list[str | int]


def parse_path(path: str) -> Path:
    """parsePropertyPath(path, strict=true)."""
    elements: Path = []
    if path.startswith("."):
        raise ConfigError("expected property path to start with a name or index")
    while path:
        if path[0] == ".":
            path = path[1:]
            if not path:
                raise ConfigError("expected property path to end with a name or index")
            if path[0] == "[":
                raise ConfigError("expected property name after '.'")
        elif path[0] == "[":
            if len(path) > 1 and path[1] == '"':
                key, i = [], 2
                while True:
                    if i >= len(path):
                        raise ConfigError("missing closing quote in property name")
                    if path[i] == '"':
                        i += 1
                        break
                    if path[i] == "\\" and i + 1 < len(path) and path[i + 1] == '"':
                        key.append('"')
                        i += 2
                    else:
                        key.append(path[i])
                        i += 1
                if i >= len(path) or path[i] != "]":
                    raise ConfigError("missing closing bracket in property access")
                elements.append("".join(key))
                path = path[i + 1:]
            else:
                end = path.find("]")
                if end == -1:
                    raise ConfigError("missing closing bracket in array index")
                segment = path[1:end]
                if segment == "*":
                    elements.append("*")
                else:
                    body = segment[1:] if segment[:1] in "+-" else segment
                    if not body.isascii() or not body.isdigit():
                        raise ConfigError(f'invalid array index: strconv.ParseInt: parsing "{segment}": invalid syntax')
                    elements.append(int(segment))
                path = path[end + 1:]
        else:
            i = 0
            while i < len(path) and path[i] not in ".[":
                i += 1
            elements.append(path[:i])
            path = path[i:]
    return elements


def path_string(path: Path) -> str:
    """PropertyPath.String."""
    out = ""
    for i, k in enumerate(path):
        if isinstance(k, int):
            out += f"[{k}]"
        elif all(c.isascii() and (c.isalnum() or c == "_") for c in k):
            out += k if i == 0 else f".{k}"
        else:
            out += '["' + k.replace('"', '\\"') + '"]'
    return out


def _key_path(key: str) -> tuple[Path, str]:
    """map.go parseKeyPath: the path in the key's name, and the key of its first segment (`key` is a parsed key,
    namespace:name; the name may hold ':' as a config.Key's may)."""
    namespace, _, name = key.partition(":")
    try:
        path = parse_path(name)
    except ConfigError as err:
        raise ConfigError(f"invalid config key path: {err}") from None
    if not path:
        raise ConfigError("empty config key path")
    if not isinstance(path[0], str):
        raise ConfigError("first path segement of config key must be a string")
    if path[0] == "":
        raise ConfigError("config key is empty")
    return path, f"{namespace}:{path[0]}"


def get(config: ConfigMap, key: str, path: bool = False) -> Value | None:
    if not path:
        return config.get(key)
    segments, root_key = _key_path(key)
    root = config.get(root_key)
    if len(segments) == 1 or root is None:
        return root
    obj: Any = unmarshal(root)
    for segment in segments[1:]:
        if isinstance(obj, list) and isinstance(segment, int) and 0 <= segment < len(obj):
            obj = obj[segment]
        elif isinstance(obj, dict) and isinstance(segment, str) and segment in obj:
            obj = obj[segment]
        else:
            return None
    return marshal(obj)


def _container(accessor: str | int) -> Any:
    return [None] * (accessor + 1) if isinstance(accessor, int) else {}


def _object_set(obj: Any, prefix: Path, path: Path, new: Any) -> Any:
    """object.Set; returns the new receiver."""
    if not path:
        return new
    if not isinstance(obj, (list, dict)):
        if obj is not None and len(prefix) != 1:
            raise ConfigError(f"{path_string(prefix)}: expected {'an array' if isinstance(path[0], int) else 'a map'}")
        obj = _container(path[0])  # COMPAT: the first level is overwritten
    prefix = [*prefix, path[0]]
    if isinstance(obj, list):
        index = path[0]
        if not isinstance(index, int):
            raise ConfigError(f"{path_string(prefix)}: key for an array must be an int")
        if index < 0 or index > len(obj):
            raise ConfigError(f"{path_string(prefix)}: array index out of range")
        if index == len(obj):
            obj.append(None)
        obj[index] = _object_set(obj[index], prefix, path[1:], new)
        return obj
    key = path[0]
    if not isinstance(key, str):
        raise ConfigError(f"{path_string(prefix)}: key for a map must be a string")
    if len(path) == 1 and not obj and key == "secure" and isinstance(new, str):
        raise ConfigError('maps with the single key "secure" are reserved')
    obj[key] = _object_set(obj.get(key), prefix, path[1:], new)
    return obj


def set_value(config: ConfigMap, key: str, value: Value, path: bool = False) -> None:
    """map.go Set."""
    if not path:
        config[key] = value
        return
    segments, root_key = _key_path(key)
    new = coerce_object(value) if len(segments) > 1 or value.typ else None
    if len(segments) == 1:
        config[root_key] = value
        return
    obj = unmarshal(config[root_key]) if root_key in config else _container(segments[1])
    config[root_key] = marshal(_object_set(obj, segments[:1], segments[1:], new))


def config_key(key: str, project: str, path: bool) -> str:
    """pkg/cmd/pulumi/config/io.go parseConfigKey: with --path only the top segment needs a namespace; a key
    without ':' is in the project's."""
    if path:
        cut = next((i for i, c in enumerate(key) if c in "[."), -1)  # strings.IndexAny(key, "[.")
        if cut > 0:
            top = config_key(key[:cut], project, False)
            return top + key[cut:]
    return parse_key(key if ":" in key else f"{project}:{key}")


def config_set(config: ConfigMap, project: str, key: str, text: str, *, path: bool = False, secret: bool = False,
               typ: str = "", encrypt: Callable[[str], str] = lambda s: s) -> None:
    """`pulumi config set [--path] [--secret] [--type t] key text` on the stack's config map (configSetCmd.Run;
    its looks-like-a-secret heuristic, zxcvbn's entropy, is not reproduced)."""
    full = config_key(key, project, path)
    digits = text[1:] if text[:1] in "+-" else text
    if typ == "int" and not (digits.isascii() and digits.isdigit()):  # saving the file runs strconv.Atoi
        raise ConfigError(f'strconv.Atoi: parsing "{text}": invalid syntax')
    value = Value(encrypt(text), secure=True) if secret else Value(text, typ=typ)
    set_value(config, full, value, path)


def secure_keys(config: ConfigMap) -> list[str]:
    return sorted(k for k, v in config.items() if v.secure)


def _plain(obj: Any, decrypt: Callable[[str], str]) -> Any:
    if isinstance(obj, Secure):
        return decrypt(obj.ciphertext)
    if isinstance(obj, dict):
        return {k: _plain(v, decrypt) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v, decrypt) for v in obj]
    return obj


def decrypt(config: ConfigMap, decrypt_text: Callable[[str], str]) -> dict[str, str]:
    """map.go Decrypt → what the language host gets: strings as they are, anything else as JSON."""
    out = {}
    for key, value in config.items():
        plain = _plain(unmarshal(value), decrypt_text)
        out[key] = plain if isinstance(plain, str) else go_json(plain)
    return out
