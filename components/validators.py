"""Pure validators shared by the stack-config loader and component arguments.

Each takes the name the user knows (a config key such as `torchserve-deploy:gpus`, or an
argument name such as `TorchServeServerArgs.gpus`) so the error names what the user must change.
"""
from __future__ import annotations

import ipaddress
import re

from components.errors import ValidationError

_SIZE = re.compile(r"^([1-9][0-9]*)([kmg])$")
_SIZE_FACTORS_MB = {"k": 1 / 1024, "m": 1, "g": 1024}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,62}$")
_GPU_LIST = re.compile(r"^(all|[0-9]+(,[0-9]+)*)$")
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")


def size_to_mb(key: str, value: object) -> int:
    """Docker-style size ("512m", "1g") → whole MiB. "1gb", "1 g", "0m" and bare numbers are refused."""
    text = value if isinstance(value, str) else ""
    match = _SIZE.match(text)
    mb = int(match.group(1)) * _SIZE_FACTORS_MB[match.group(2)] if match else 0
    if not match or mb < 1 or mb != int(mb):
        raise ValidationError(
            key, value, "a whole number of MiB written as <n>m or <n>g (e.g. 512m, 1g, 2048m)", f"set {key} to 1g"
        )
    return int(mb)


def port(key: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise ValidationError(key, value, "an integer port from 1 to 65535", f"set {key} to a free port such as 8080")
    return value


def distinct_ports(key: str, ports: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for name, number in ports.items():
        if number in seen:
            raise ValidationError(
                key,
                number,
                f"a different host port for each endpoint ({seen[number]} and {name} both use {number})",
                f"change {name} to an unused port",
            )
        seen[number] = name


def bind_address(key: str, value: object) -> str:
    try:
        return str(ipaddress.IPv4Address(value if isinstance(value, str) else ""))
    except ValueError:
        raise ValidationError(
            key, value, "an IPv4 address to publish on: 127.0.0.1 (this host only) or a host interface address",
            f"set {key} to 127.0.0.1",
        ) from None


def gpus(key: str, value: object) -> str | None:
    """"" or "none" → None; "all"; or a comma-separated device list such as "1,2" (no spaces, no repeats)."""
    if value in ("", "none"):
        return None
    if not isinstance(value, str) or not _GPU_LIST.match(value) or len(set(value.split(","))) != len(value.split(",")):
        raise ValidationError(
            key, value, '"" (no GPU), "all", or distinct device indexes separated by commas such as "0" or "1,2"',
            f'set {key} to "all" or a list like "0,1"',
        )
    return value


def model_name(key: str, value: object) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise ValidationError(
            key, value, "a name of letters, digits, '-' and '_' starting with a letter (max 63 chars)",
            "rename the model, e.g. 'demo' or 'resnet-18'",
        )
    return value


def int_range(key: str, value: object, low: int, high: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(key, value, f"an integer from {low} to {high}", f"set {key} to {hint}")
    return value


def one_of(key: str, value: object, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise ValidationError(key, value, "one of " + ", ".join(repr(a) for a in allowed), f"set {key} to {allowed[0]!r}")
    return str(value)


def unique(key: str, names: list[str]) -> None:
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValidationError(key, dupes, "each model name once", "remove or rename the duplicate model")


_PINNED_PIP = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9,._-]+\])?==[A-Za-z0-9.+!_-]+$")
_APT_NAME = re.compile(r"^[a-z0-9][a-z0-9.+-]+$")
_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_PYTHON = re.compile(r"^3\.[0-9]{1,2}$")


def _each(key: str, values: list[str] | tuple[str, ...], pattern: re.Pattern, allowed: str, example: str) -> tuple[str, ...]:
    for value in values:
        if not isinstance(value, str) or not pattern.match(value):
            raise ValidationError(key, value, allowed, f"write it like {example}, or remove it")
    return tuple(values)


def pinned_requirements(key: str, values) -> tuple[str, ...]:
    return _each(key, values, _PINNED_PIP, "pinned pip requirements (name==version)", "torchvision==0.28.0")


def apt_packages(key: str, values) -> tuple[str, ...]:
    return _each(key, values, _APT_NAME, "Debian/Ubuntu package names", "libgl1")


def docker_tags(key: str, values) -> tuple[str, ...]:
    return _each(key, values, _TAG, "Docker tags: letters, digits, '_', '.', '-' (at most 128)", "v1.2.0")


def python_version(key: str, value: object) -> str:
    if not isinstance(value, str) or not _PYTHON.match(value):
        raise ValidationError(key, value, "a Python version like 3.11", f"set {key} to 3.11, or leave it empty")
    return value


def cidr(key: str, value: object) -> str:
    try:
        return str(ipaddress.ip_network(value if isinstance(value, str) else "", strict=True))
    except ValueError:
        raise ValidationError(key, value, "a CIDR such as 203.0.113.0/24 (host bits zero)",
                              f"fix {key}, e.g. 10.0.0.0/16") from None
