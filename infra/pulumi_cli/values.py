"""Config values as the Pulumi CLI holds them, from pulumi/pulumi sdk/go/common/resource/config:

- value.go `Value`: a string with `secure` and `object` flags (and a type for `config set --type`);
- object.go `object`: the decoded form (bool, int64/uint64, float64, string, ciphertext, list, map), its
  `UnmarshalYAML`/`unmarshalObject` (a map {secure: <str>} is a ciphertext, timestamps become time.String()),
  `MarshalString` (primitives as JSON text, strings as is, lists and maps as JSON with object=true),
  `Merge` (JSON merge patch: maps merge key by key, anything else replaces) and `Set` (config set --path);
- key.go `ParseKey`, map.go `Get`/`Set`/`Decrypt`/`SecureKeys`, plaintext.go `marshalText`;
- sdk/go/common/resource/properties_path.go `parsePropertyPath` (strict), for --path keys;
- Go's encoding/json for every JSON text (compact, sorted keys, <>& and U+2028/9 escaped, floats as Go
  formats them: 1.0 is "1", 1e21 is "1e+21").
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from infra.pulumi_cli.gotime import GoTime


class ConfigError(ValueError):
    """What the CLI refuses, in the CLI's own words."""


@dataclass(frozen=True)
class Secure:
    """A ciphertext (object.go CiphertextSecret)."""

    ciphertext: str


@dataclass(frozen=True)
class Value:
    """value.go Value: the string form, whether it is a ciphertext, whether it is JSON, and its --type."""

    text: str
    secure: bool = False
    object: bool = False
    typ: str = ""  # "" (unknown), string, int, bool, float


def parse_key(text: str) -> str:
    """key.go ParseKey: <namespace>:<name>, or the old <namespace>:config:<name>."""
    parts = text.split(":")
    if len(parts) == 2:
        return text
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    raise ConfigError(f"could not parse {text} as a configuration key (configuration keys should be of the form "
                      "`<namespace>:<name>`)")


# --- JSON as Go's encoding/json writes it -------------------------------------------------------------

def _go_float(f: float) -> str:
    if math.isnan(f) or math.isinf(f):
        raise ConfigError(f"json: unsupported value: {f}")
    d = Decimal(repr(f)).normalize()
    if f != 0 and (abs(f) < 1e-6 or abs(f) >= 1e21):
        sign, digits, exp = d.as_tuple()
        e = int(exp) + len(digits) - 1
        mantissa = str(digits[0]) + ("." + "".join(map(str, digits[1:])) if len(digits) > 1 else "")
        text = f"{'-' if sign else ''}{mantissa}e{'-' if e < 0 else '+'}{abs(e):02d}"
        return text.replace("e-0", "e-") if -10 < e < 0 else text
    return format(d, "f")


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}


def _go_string(s: str) -> str:
    return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04x}" if ord(c) < 0x20 else c) for c in s) + '"'


def go_json(value: Any) -> str:
    """encoding/json.Marshal of a decoded config object (a ciphertext as {"secure": ...})."""
    if isinstance(value, Secure):
        return '{"secure":' + _go_string(value.ciphertext) + "}"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _go_float(value)
    if isinstance(value, str):
        return _go_string(value)
    if isinstance(value, list):
        return "[" + ",".join(go_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{_go_string(k)}:{go_json(v)}" for k, v in sorted(value.items())) + "}"
    raise ConfigError(f"json: unsupported type {type(value).__name__}")


# --- object <-> Value ---------------------------------------------------------------------------------

def from_yaml(raw: Any) -> Any:
    """object.go unmarshalObject of a value as yaml.v3 decoded it."""
    if isinstance(raw, GoTime):
        return raw.string()
    if isinstance(raw, float) and raw.is_integer() and abs(raw) < 1e6:
        # LoadProjectStackBytes re-encodes the file with yaml.v3 and reads it again: 4.0 and -0.0 come back as the
        # integers 4 and 0 (strconv's shortest 'g' writes them without a point), larger floats as floats.
        return int(raw)
    if isinstance(raw, dict):
        if len(raw) == 1 and isinstance(raw.get("secure"), str):
            return Secure(raw.get("secure"))
        bad = [k for k in raw if not isinstance(k, str)]
        if bad:  # workspace.SimplifyMarshalledValue
            raise ConfigError(f"expected only string keys, got '{bad[0]}'")
        return {k: from_yaml(v) for k, v in raw.items()}
    if isinstance(raw, list):
        return [from_yaml(v) for v in raw]
    return raw


def contains_secret(obj: Any) -> bool:
    if isinstance(obj, Secure):
        return True
    if isinstance(obj, dict):
        return any(contains_secret(v) for v in obj.values())
    if isinstance(obj, list):
        return any(contains_secret(v) for v in obj)
    return False


def marshal(obj: Any) -> Value:
    """object.MarshalString → Value."""
    if isinstance(obj, (bool, int, float)):
        return Value(go_json(obj))
    if isinstance(obj, str):
        return Value(obj)
    if isinstance(obj, Secure):
        return Value(obj.ciphertext, secure=True)
    return Value(go_json(obj), secure=contains_secret(obj), object=True)


def _from_json(data: Any) -> Any:
    """UnmarshalJSON with UseNumber: a number is an int64 if it is one, else a float64."""
    if isinstance(data, int) and not isinstance(data, bool) and not -(2**63) <= data < 2**63:
        return float(data)
    if isinstance(data, dict):
        if len(data) == 1 and isinstance(data.get("secure"), str):
            return Secure(data["secure"])
        return {k: _from_json(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_from_json(v) for v in data]
    return data


def unmarshal(value: Value) -> Any:
    """Value.unmarshalObject."""
    if value.secure or value.object or not value.typ:
        if not value.object:
            return Secure(value.text) if value.secure else value.text
        try:
            return _from_json(json.loads(value.text))
        except ValueError as err:
            raise ConfigError(f"invalid character in JSON ({err})") from None
    if value.typ == "int":
        return int(value.text)
    if value.typ == "bool":
        return value.text in ("1", "t", "T", "TRUE", "true", "True")  # strconv.ParseBool; else a warning, false
    if value.typ == "float":
        return float(value.text)
    return value.text


def coerce(text: str) -> Any:
    """object.go coerce: "true"/"false" → bool; base-10 digits without a leading 0 → int; else the string."""
    if text in ("true", "false"):
        return text == "true"
    if len(text) > 1 and text[0] == "0":
        return text
    body = text[1:] if text[:1] in "+-" else text
    if body.isascii() and body.isdigit() and -(2**63) <= int(text) <= 2**64 - 1:
        return int(text)
    return text


def coerce_object(value: Value) -> Any:
    """Value.coerceObject: untyped plain strings become booleans or numbers where they look like them."""
    if value.secure or value.object or value.typ:
        return unmarshal(value)
    return coerce(value.text)


def merge(obj: Any, base: Any) -> Any:
    """object.Merge: `obj` patched onto `base` (JSON merge patch; only maps merge)."""
    if isinstance(obj, dict) and isinstance(base, dict):
        merged = dict(base)
        for k, v in obj.items():
            merged[k] = merge(v, merged.get(k))
        return merged
    return obj
