"""Pulumi.yaml's config block and a stack file, read and merged as the CLI does before every preview, update
and destroy; the result is what the language host hands the program.

Followed, from pulumi/pulumi (read at pkg/v3.259.0-14, 1b59498):
- sdk/go/common/workspace/loaders.go `LoadProjectBytes` (schema's config entries, RewriteShorthandConfigValues:
  a bare value is a `default` for a project key and a `value` for another namespace; Project.Validate) and
  `LoadProjectStackBytes` (keys without a namespace get the project's; checkForEmptyConfig: a key with no value
  is "" with a warning);
- pkg/workspace/config.go `mergeConfig` (called by ValidateStackConfigAndApplyProjectConfig, or by
  ApplyProjectConfig without validation for --skip-config-validation): the stack's ESC environment merged under
  the stack's own values, each declared key missing from the stack set from its `value`/`default`
  (createConfigValue: string/int/bool as text, anything else as JSON), missing required keys, then each typed key
  checked (`validateStackConfigValue`: secret, then ValidateConfigValue on the decrypted value);
- sdk/go/common/workspace/project.go `ValidateConfigValue`, `InferFullTypeName`, `Project.Validate`.
"""
from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from infra.pulumi_cli import goyaml
from infra.pulumi_cli.config_map import ConfigMap, get, set_value
from infra.pulumi_cli.config_map import decrypt as decrypt_map
from infra.pulumi_cli.gotime import GoTime
from infra.pulumi_cli.goyaml import NonStringKey
from infra.pulumi_cli.values import ConfigError, Secure, Value, from_yaml, go_json, marshal, merge, parse_key, unmarshal

TYPES = ("string", "integer", "boolean", "array", "object")
DECLARATION_KEYS = {"type", "items", "description", "secret", "default", "value"}


@dataclass(frozen=True)
class ConfigType:
    """workspace.ProjectConfigType."""

    type: str | None = None
    items: Any = None
    description: str = ""
    default: Any = None
    value: Any = None
    secret: bool = False


@dataclass(frozen=True)
class Project:
    name: str
    config: dict[str, ConfigType]
    main: str = ""


@dataclass
class StackFile:
    config: ConfigMap
    environment: Any = None
    warnings: list[str] = field(default_factory=list)


class EscSecret(str):
    """A secret string in an ESC environment's pulumiConfig."""


ESC_UNKNOWN = object()


def _namespaced_by(project: str, key: str) -> bool:
    return ":" not in key or key.startswith(project + ":")


def _check_items(key: str, items: Any) -> None:
    if not isinstance(items, dict) or items.get("type") not in TYPES or (items["type"] == "array" and "items" not in items):
        raise ConfigError(f"could not validate 'Pulumi.yaml': config.{key}.items: a type (and items for an array)")
    if "items" in items:
        _check_items(key, items["items"])


def full_type_name(typ: str, items: Any) -> str:
    """InferFullTypeName."""
    return f"array<{full_type_name(items.get('type', ''), items.get('items'))}>" if items else typ


def validate_value(typ: str, items: Any, value: Any) -> bool:
    """ValidateConfigValue (value: a decoded default, or a stack value: text, or the JSON of an object value)."""
    if typ == "string":
        return isinstance(value, str)
    if typ == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return -(2**63) <= value < 2**63  # a Go int; a larger YAML integer decodes as uint64
        if isinstance(value, float):
            return math.isinf(value) or not math.isnan(value) and value == int(value)  # f == math.Trunc(f)
        if isinstance(value, str):
            body = value[1:] if value[:1] in "+-" else value
            return body.isascii() and body.isdigit() and -(2**63) <= int(value) < 2**63  # strconv.Atoi
        return False
    if typ == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if typ == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(validate_value(items.get("type", ""), items.get("items"), item) for item in value)


def load_project(text: str) -> Project:
    raw = goyaml.load(text)
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw.get("name"):
        raise ConfigError("project is missing a 'name' attribute")
    name, config = raw.get("name"), raw.get("config") or {}
    if isinstance(config, str):  # RewriteConfigPathIntoStackConfigDir: the old form of stackConfigDir
        config = {}
    if not isinstance(config, dict) or any(isinstance(k, NonStringKey) for k in config):
        raise ConfigError("could not validate 'Pulumi.yaml': config must be a map of string keys")
    types = {}
    for key, entry in config.items():
        if isinstance(entry, (str, bool, list)) or isinstance(entry, int) and -(2**63) <= entry < 2**63:
            entry = {"default" if _namespaced_by(name, key) else "value": entry}  # RewriteShorthandConfigValues
        if not isinstance(entry, dict) or set(entry) - DECLARATION_KEYS or \
                not isinstance(entry.get("secret", False), bool) or not isinstance(entry.get("description", ""), str):
            raise ConfigError(f"could not validate 'Pulumi.yaml': config.{key}: a value or a declaration with only "
                              f"{', '.join(sorted(DECLARATION_KEYS))} (secret a boolean, description a string)")
        for given in ("default", "value"):
            if _has_non_string_key(entry.get(given)):
                raise ConfigError("expected only string keys")  # SimplifyMarshalledValue
        if "type" in entry and entry["type"] not in TYPES:
            raise ConfigError(f"could not validate 'Pulumi.yaml': config.{key}.type must be one of {', '.join(TYPES)}")
        if "items" in entry:
            _check_items(key, entry["items"])
        types[key] = ConfigType(entry.get("type"), entry.get("items"), entry.get("description") or "",
                                entry.get("default"), entry.get("value"), bool(entry.get("secret")))
    _validate_project(name, types)
    main = raw.get("main") or ""
    if not isinstance(main, str):
        raise ConfigError("could not validate 'Pulumi.yaml': main must be a string")
    return Project(name, types, main)


def program_dir(root: Path, main: str) -> Path:
    """The directory the CLI starts the language host and the providers in (pkg/engine/project.go getPwdMain):
    the project's root without `main`, `main` itself when it names a directory, else the directory holding it."""
    if not main:
        return root
    target = Path(os.path.normpath(root / main))
    if not target.exists():
        raise ConfigError(f"project 'main' could not be read: {target}")
    return target if target.is_dir() else target.parent


def _has_non_string_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(isinstance(k, NonStringKey) or _has_non_string_key(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_non_string_key(v) for v in value)


def _validate_project(name: str, types: Mapping[str, ConfigType]) -> None:
    """Project.Validate."""
    for key, t in types.items():
        if t.default is not None and t.value is not None:
            raise ConfigError(f"project config '{key}' cannot have both a 'default' and 'value' attribute")
        if _namespaced_by(name, key):
            if t.type == "array" and t.items is None:
                raise ConfigError(f"The configuration key '{key}' declares an array but does not specify the "
                                  "underlying type via the 'items' attribute")
            if t.type is not None and t.default is not None and not validate_value(t.type, t.items, t.default):
                raise ConfigError(f"The default value specified for configuration key '{key}' is not of the "
                                  f"expected type '{full_type_name(t.type, t.items)}'")
        elif t.type is not None:
            raise ConfigError(f"Configuration key '{key}' is not namespaced by the project and should not define a type")
        elif t.default is not None:
            raise ConfigError(f"Configuration key '{key}' is not namespaced by the project and should not define a "
                              "default value. Did you mean to use the 'value' attribute instead of 'default'?")
        elif t.value is None:
            raise ConfigError(f"Configuration key '{key}' is namespaced and must provide an attribute 'value'")


def load_stack(project: Project, text: str) -> StackFile:
    """LoadProjectStackBytes: the stack file's config as Values, keys namespaced, empty values as ""."""
    return stack_from_yaml(project, goyaml.load(text))


def stack_from_yaml(project: Project, raw: Any) -> StackFile:
    """The stack file as yaml.v3 decoded it → its config map."""
    if raw is None:
        return StackFile({})
    if not isinstance(raw, dict) or any(not isinstance(k, str) for k in raw):
        raise ConfigError("expected project to be an object")
    config = raw.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise ConfigError("could not unmarshal map: the stack's config must be a map")
    odd = [k for k in config if isinstance(k, NonStringKey)]
    if odd:  # the map is not string-keyed: nothing is namespaced and ParseKey refuses the key
        raise ConfigError(f"could not unmarshal map: could not parse {odd[0]} as a configuration key "
                          "(configuration keys should be of the form `<namespace>:<name>`)")
    empty = sorted(k for k, v in config.items() if v is None)
    warnings = [f"No value for configuration key{'s' if len(empty) > 1 else ''} "
                f"{(' and ' if len(empty) == 2 else ', ').join(f'{chr(34)}{k}{chr(34)}' for k in empty)}. "
                'This is currently treated as an empty string `""`, but will be treated as `null` in a future version '
                "of pulumi."] if empty else []
    values: ConfigMap = {}
    for key, value in config.items():
        full = parse_key(key if ":" in str(key) else f"{project.name}:{key}")
        if full in values:  # `a` and `<project>:a`: Go keeps one of them at random (map order); refused here
            raise ConfigError(f"could not unmarshal map: {full} is set twice (as {key} and another spelling)")
        try:
            values[full] = Value("") if value is None else marshal(from_yaml(value))
        except ConfigError as err:  # the CLI says only "json: unsupported value: NaN"; the key is named here
            raise ConfigError(f"could not unmarshal map: {full}: {err}") from None
    return StackFile(values, raw.get("environment"), warnings)


def _esc_plain(value: Any) -> Any:
    """toPlaintext of an ESC value (the decoded pulumiConfig)."""
    if value is ESC_UNKNOWN:
        return "[unknown]"
    if isinstance(value, EscSecret):
        return Secure(str(value))  # encrypted by the stack's encrypter below
    if isinstance(value, dict):
        return {k: _esc_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_esc_plain(v) for v in value]
    return value


def _encrypted(obj: Any, encrypt: Callable[[str], str]) -> Any:
    if isinstance(obj, Secure):
        return Secure(encrypt(obj.ciphertext))
    if isinstance(obj, dict):
        return {k: _encrypted(v, encrypt) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_encrypted(v, encrypt) for v in obj]
    return obj


def _default_value(raw: Any) -> Value:
    """createConfigValue."""
    if isinstance(raw, GoTime):
        return Value(go_json(raw.rfc3339()), object=True)  # json.Marshal(time.Time)
    if isinstance(raw, (str, bool, int)):
        return Value(("true" if raw else "false") if isinstance(raw, bool) else str(raw))
    return Value(go_json(from_yaml(raw)), object=True)


def merge_config(stack: str, project: Project, config: ConfigMap, *, environment: Mapping[str, Any] | None = None,
                 encrypt: Callable[[str], str], decrypt: Callable[[str], str], validate: bool = True) -> None:
    """mergeConfig, in place on `config` (the stack's map)."""
    for raw_key, env_value in (environment or {}).items():
        key = parse_key(raw_key if ":" in raw_key else f"{project.name}:{raw_key}")
        env = marshal(_encrypted(_esc_plain(env_value), encrypt))
        config[key] = env if key not in config else marshal(merge(unmarshal(config[key]), unmarshal(env)))
    missing = []
    for name in sorted(project.config):
        t = project.config[name]
        key = parse_key(name if ":" in name else f"{project.name}:{name}")
        found = get(config, key, path=True) is not None
        if not found and t.value is None and t.default is None and key.split(":")[0] == project.name:
            missing.append(name)
        elif not found and (t.value is not None or t.default is not None):
            set_value(config, key, _default_value(t.default if t.default is not None else t.value), path=True)
    if validate and missing:
        quoted = [f"'{m}'" for m in missing]  # formatMissingKeys
        listed = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]
        raise ConfigError(f"Stack '{stack}' is missing configuration value{'s' if len(missing) > 1 else ''} {listed}")
    if validate:
        _validate_values(stack, project, config, decrypt)


def _validate_values(stack: str, project: Project, config: ConfigMap, decrypt: Callable[[str], str]) -> None:
    """validateStackConfigValues / validateStackConfigValue."""
    for name in sorted(project.config):
        t = project.config[name]
        key = parse_key(name if ":" in name else f"{project.name}:{name}")
        value = get(config, key, path=True) or Value("")
        if t.type is None:
            continue
        if t.secret and not value.secure:
            raise ConfigError(f"Stack '{stack}' with configuration key '{name}' must be encrypted as it's secret")
        plain = decrypt_map({key: value}, decrypt)[key]
        content = json.loads(plain) if value.object else plain
        if not validate_value(t.type, t.items, content):
            raise ConfigError(f"Stack '{stack}' with configuration key '{name}' must be of type "
                              f"'{full_type_name(t.type, t.items)}'")


def base64_crypter() -> tuple[Callable[[str], str], Callable[[str], str]]:
    """config.Base64Crypter (the crypter Pulumi's own tests use)."""
    return (lambda s: base64.b64encode(s.encode()).decode(), lambda s: base64.b64decode(s).decode())
