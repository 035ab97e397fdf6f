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
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

import yaml

INT64 = (-(2**63), 2**63 - 1)
UINT64_MAX = 2**64 - 1
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?")
_MAP = {**dict.fromkeys(("true", "True", "TRUE"), True), **dict.fromkeys(("false", "False", "FALSE"), False),
        **dict.fromkeys(("", "~", "null", "Null", "NULL"), None),
        **dict.fromkeys((".nan", ".NaN", ".NAN"), math.nan),
        **dict.fromkeys((".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"), math.inf),
        **dict.fromkeys(("-.inf", "-.Inf", "-.INF"), -math.inf)}
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


def _timestamp(text: str) -> datetime | None:
    """yaml.v3's parseTimestamp: YYYY- then one of four layouts (short date fields allowed)."""
    if not re.match(r"[0-9]{4}-", text):
        return None
    m = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:([Tt ])(\d{1,2}):(\d{1,2}):(\d{1,2})(\.\d{1,9})?"
                     r"(Z|[+-]\d{2}:\d{2})?)?", text)
    if not m:
        return None
    year, month, day, sep, hh, mm, ss, frac, zone = m.groups()
    if sep == " " and zone is not None or sep in ("T", "t") and zone is None:
        return None  # "2006-1-2 15:4:5" has no zone; the RFC 3339 layouts need one
    try:
        tz = UTC
        if zone and zone != "Z":
            sign = -1 if zone[0] == "-" else 1
            tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
        micro = int((frac or ".0")[1:7].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hh or 0), int(mm or 0), int(ss or 0), micro, tz)
    except ValueError:
        return None


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
    want = {"!!int": int, "!!float": float, "!!bool": bool, "!!null": type(None), "!!timestamp": datetime}.get(tag)
    if want is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if want is not None and not (isinstance(value, want) and not (want is int and isinstance(value, bool))):
        raise GoYamlError(f"cannot decode {text!r} as a {tag}")
    return value


def _resolve_number(text: str, tag: str) -> Any:
    if text[0] == ".":
        return float(text) if _FLOAT.fullmatch(text) else text
    if tag in ("", "!!timestamp"):
        stamp = _timestamp(text)
        if stamp is not None:
            return stamp
    plain = text.replace("_", "")
    number = _go_parse_int(plain)
    if number is not None:
        return number
    if _FLOAT.fullmatch(plain) and not math.isinf(float(plain)):  # ParseFloat fails out of range
        return float(plain)
    return text


class _Loader(yaml.SafeLoader):
    """pyyaml's parser with yaml.v3's scalar resolution and duplicate-key refusal."""

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
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise GoYamlError(f"line {key_node.start_mark.line + 1}: merge keys (<<) are not reproduced here")
            text = (type(key_node).__name__, key_node.value if isinstance(key_node, yaml.ScalarNode) else "")
            if text in lines:
                raise GoYamlError(f"line {key_node.start_mark.line + 1}: mapping key {text[1]!r} already "
                                  f"defined at line {lines[text]}")
            lines[text] = key_node.start_mark.line + 1
            key = self.construct_object(key_node)
            out[key if not isinstance(key, (list, dict)) else repr(key)] = self.construct_object(value_node)
        return out


def _scalar(node: yaml.ScalarNode) -> Any:
    line = node.start_mark.line + 1
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
    """One YAML document → Python values as yaml.v3 decodes into `any` (datetime for timestamps)."""
    if text.startswith("\ufeff"):
        text = text[1:]  # readFileStripUTF8BOM
    try:
        return yaml.load(text, Loader=_Loader)
    except GoYamlError:
        raise
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        at = f"line {mark.line + 1}: " if mark is not None else ""
        raise GoYamlError(f"{at}{getattr(err, 'problem', None) or err}") from None
    except RecursionError:
        raise GoYamlError("nested too deeply") from None


def go_time_string(stamp: datetime | date) -> str:
    """Go's time.Time.String() for a decoded timestamp (config's unmarshalObject stores timestamps so)."""
    if not isinstance(stamp, datetime):
        stamp = datetime(stamp.year, stamp.month, stamp.day, tzinfo=UTC)
    offset = stamp.utcoffset() or timedelta(0)
    frac = f".{stamp.microsecond:06d}".rstrip("0").rstrip(".") if stamp.microsecond else ""
    minutes = int(offset.total_seconds() // 60)
    zone = f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"
    name = "UTC" if minutes == 0 and stamp.tzinfo in (UTC, None) else zone
    return f"{stamp:%Y-%m-%d %H:%M:%S}{frac} {zone} {name}"


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
