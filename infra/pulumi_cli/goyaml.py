"""YAML as the Pulumi CLI reads Pulumi.yaml and stack files: gopkg.in/yaml.v3 (v3.0.1, pinned in pulumi's
sdk/go.mod) decoding into Go's `any`, not YAML 1.1 as pyyaml resolves it.

A plain scalar is resolved by yaml.v3's resolve.go `resolve()`: only true/True/TRUE and false/False/FALSE are
booleans (yes, no, on, off stay strings); ~, null, Null, NULL and the empty scalar are null; integers go through
Go's strconv.ParseInt(s, 0, 64) after removing '_', so 0x1F, 0o17, 017 (octal 15) and 1_000 are integers; then
uint64, then floats ([-+]?(.d+|d+(.d*)?)([eE][-+]?d+)?, .inf, .nan); YYYY-... dates are timestamps. Quoted,
literal and folded scalars are strings (decode.go, Node.indicatedString). A repeated key is refused, as
yaml.v3 refuses it ("mapping key ... already defined").

Not reproduced, refused with a message instead: aliases and merge keys (yaml.v3 expands them; refusing them
keeps alias bombs out), and explicit tags other than !!str, !!int, !!float, !!bool, !!null and !!timestamp.
"""
from __future__ import annotations

import math
import re
from typing import Any

import yaml

from infra.pulumi_cli.gotime import GoTime, parse_timestamp

INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_MAP = {**dict.fromkeys(("true", "True", "TRUE"), True), **dict.fromkeys(("false", "False", "FALSE"), False),
        **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
        **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
        **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
        **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf)}
_GO_FLOAT = re.compile(r"[-+]?(?:[0-9](?:_?[0-9])*(?:\.(?:[0-9](?:_?[0-9])*)?)?|\.[0-9](?:_?[0-9])*)"
                       r"(?:[eE][-+]?[0-9](?:_?[0-9])*)?")
_DIGITS = {2: "01", 8: "01234567", 10: "0123456789", 16: "0123456789abcdefABCDEF"}
_TAGS = {"tag:yaml.org,2002:" + t: "!!" + t for t in ("str", "int", "float", "bool", "null", "timestamp")}


class GoYamlError(ValueError):
    """The CLI cannot read the file (or this stand-in does not reproduce what it holds)."""


def _go_parse_int(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 0, 64) / ParseUint: base from the prefix, a leading 0 means octal."""
    sign, body = (text[0], text[1:]) if text[:1] in "+-" else ("", text)
    base, digits = 10, body
    if body[:2].lower() in ("0x", "0o", "0b"):
        base, digits = {"x": 16, "o": 8, "b": 2}[body[1].lower()], body[2:]
    elif len(body) > 1 and body[0] == "0":
        base, digits = 8, body[1:]
    if not digits or any(c not in _DIGITS[base] for c in digits):
        return None
    value = int(digits, base) * (-1 if sign == "-" else 1)
    if value > INT64[1] and sign:  # ParseInt is out of range and ParseUint takes no sign
        return None
    return value if INT64[0] <= value <= UINT64_MAX else None


def resolve(tag: str, text: str) -> Any:
    """yaml.v3 resolve(tag, in) for a plain scalar ("" tag) or one with an explicit standard tag."""
    if tag == "!!str":
        return text
    hint = text[:1]
    value: Any = text
    if text in _MAP:
        value = _MAP[text]
    elif hint == "." or hint in "+-0123456789" and hint:
        value = _resolve_number(text, tag)
    want = {"!!int": int, "!!float": float, "!!bool": bool, "!!null": type(None), "!!timestamp": GoTime}.get(tag)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is not None and not (isinstance(value, want) and not (want is int and isinstance(value, bool))):
        raise GoYamlError(f"cannot decode {text!r} as a {tag}")
    return value


def _go_float(text: str) -> float | None:
    """strconv.ParseFloat of a decimal: '_' only between digits; out of range is an error."""
    if not _GO_FLOAT.fullmatch(text):
        return None
    value = float(text.replace("_", ""))
    return None if math.isinf(value) else value


def _resolve_number(text: str, tag: str) -> Any:
    if text[0] == ".":
        number = _go_float(text)
        return text if number is None else number
    if tag in ("", "!!timestamp"):
        stamp = parse_timestamp(text)
        if stamp is not None:
            return stamp
    plain = text.replace("_", "")
    number = _go_parse_int(plain)
    if number is not None:
        return number
    if _FLOAT.fullmatch(plain) and not math.isinf(float(plain)):  # ParseFloat fails out of range
        return float(plain)
    return text


class NonStringKey(str):
    """A mapping key yaml.v3 decoded as something other than a string (1, true, 1.5), as Pulumi's object.go
    unmarshalObject names it: fmt.Sprintf("%v", key)."""


def _go_sprint(value: Any) -> str:
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):  # %v is strconv's shortest 'g': an exponent below -4 or from 6 up is written e±XX
        digits, exponent = _shortest(value)
        if -4 <= exponent < 6:
            return format(value, "f").rstrip("0").rstrip(".") if "." in format(value, "f") else format(value, "f")
        mantissa = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{'-' if value < 0 else ''}{mantissa}e{'-' if exponent < 0 else '+'}{abs(exponent):02d}"
    return value.string() if isinstance(value, GoTime) else str(value)


def _shortest(value: float) -> tuple[str, int]:
    """The shortest decimal digits of `value` and its decimal exponent (1.5e7 → ("15", 7))."""
    text = f"{abs(value):.17e}"
    for places in range(17):
        candidate = f"{abs(value):.{places}e}"
        if float(candidate) == abs(value):
            text = candidate
            break
    mantissa, exponent = text.split("e")
    return mantissa.replace(".", "").rstrip("0") or "0", int(exponent)


class _Loader(yaml.SafeLoader):
    """pyyaml's parser with yaml.v3's scalar resolution and duplicate-key refusal."""

    def compose_scalar_node(self, anchor: Any) -> Any:
        event = self.peek_event()  # type: ignore[no-untyped-call]
        node = super().compose_scalar_node(anchor)
        if event.tag == "!" and event.style in ("'", '"', "|", ">"):
            node.tag = "tag:yaml.org,2002:str"  # a quoted scalar with the non-specific tag stays a string
        return node

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            mark = self.peek_event().start_mark  # type: ignore[no-untyped-call]
            raise GoYamlError(f"line {mark.line + 1}: aliases (*name) are not reproduced here: write the value out")
        return super().compose_node(parent, index)

    def construct_object(self, node: Any, deep: bool = False) -> Any:
        if isinstance(node, yaml.ScalarNode):
            return _scalar(node)
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node)
        if isinstance(node, yaml.SequenceNode):
            return [self.construct_object(child) for child in node.value]
        raise GoYamlError(f"line {node.start_mark.line + 1}: unsupported YAML node")

    def _mapping(self, node: yaml.MappingNode) -> dict[Any, Any]:
        """decode.go `mapping`: two keys of one kind with the same text are an error (uniqueKeys, on by default);
        keys that differ in text but decode alike (1 and 01) are not, and the later one wins."""
        out: dict[Any, Any] = {}
        lines: dict[tuple[str, str], int] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, yaml.ScalarNode):
                raise GoYamlError(f"line {line}: invalid map key: a list or map as a key")
            if key_node.value == "<<" and key_node.style is None:
                raise GoYamlError(f"line {line}: merge keys (<<) are not reproduced here: write the keys out")
            text = (type(key_node).__name__, key_node.value if isinstance(key_node, yaml.ScalarNode) else "")
            if text in lines:
                raise GoYamlError(f"line {key_node.start_mark.line + 1}: mapping key {text[1]!r} already "
                                  f"defined at line {lines[text]}")
            lines[text] = key_node.start_mark.line + 1
            key = self.construct_object(key_node)
            out[key if isinstance(key, str) else NonStringKey(_go_sprint(key))] = self.construct_object(value_node)
        return out


def _scalar(node: yaml.ScalarNode) -> Any:
    line = node.start_mark.line + 1
    if any(0xD800 <= ord(c) <= 0xDFFF for c in node.value):
        raise GoYamlError(f"line {line}: found invalid Unicode character escape code")
    explicit = node.tag not in ("tag:yaml.org,2002:str", "tag:go-yaml:plain") and not node.tag.startswith("tag:yaml")
    if node.style in ("'", '"', "|", ">") and node.tag in ("tag:yaml.org,2002:str", "!"):
        return node.value
    if node.tag == "tag:go-yaml:plain":
        return resolve("", node.value)
    if explicit or node.tag not in _TAGS:
        raise GoYamlError(f"line {line}: the explicit tag {node.tag} is not reproduced here: write a plain value")
    try:
        return resolve(_TAGS[node.tag], node.value)
    except GoYamlError as err:
        raise GoYamlError(f"line {line}: {err}") from None


# Every plain scalar gets one tag; _scalar resolves it the way yaml.v3 does.
_Loader.yaml_implicit_resolvers = {}
_Loader.add_implicit_resolver("tag:go-yaml:plain", re.compile(r"(?s).*"), None)  # type: ignore[no-untyped-call]


def load(text: str) -> Any:
    """The first YAML document → Python values as yaml.v3 decodes into `any` (GoTime for timestamps,
    NonStringKey for keys that are not strings)."""
    if text.startswith("\ufeff"):
        text = text[1:]  # readFileStripUTF8BOM
    try:
        return next(yaml.load_all(text, Loader=_Loader), None)  # yaml.Unmarshal decodes the first document only
    except GoYamlError:
        raise
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise GoYamlError(f"{at}{getattr(err, 'problem', None) or err}") from None
    except RecursionError:
        raise GoYamlError("nested too deeply") from None


class _Dumper(yaml.SafeDumper):
    """pyyaml's emitter, quoting every string yaml.v3 would read back as something else (1e3, 0o17, 1_000 are
    plain strings to YAML 1.1 but numbers to the CLI)."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    try:
        plain = isinstance(resolve("", value), str)
    except GoYamlError:
        plain = False
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=None if plain else "'")


_Dumper.add_representer(str, _represent_str)


def dump(data: Any, **kwargs: Any) -> str:
    """YAML text that the CLI (yaml.v3) reads back as `data`."""
    return yaml.dump(data, Dumper=_Dumper, **kwargs)
