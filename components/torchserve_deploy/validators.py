"""Pure validators shared by the stack-config loader and component arguments.

Each takes the name the user knows (a config key such as `torchserve-deploy:gpus`, or an argument
name such as `TorchServeServerArgs.gpus`) so the error names what the user must change. Patterns
are applied with `re.fullmatch`: a trailing newline or any text after a valid prefix is refused
(values reach shells, unit files, config files and Dockerfiles).
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from torchserve_deploy.errors import ValidationError

_SIZE = re.compile(r"([1-9][0-9]{0,6})([mg])")
_SIZE_FACTORS_MB = {"m": 1, "g": 1024}
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,62}")
_CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")
_VERSION = re.compile(r"[0-9A-Za-z][0-9A-Za-z._+-]{0,31}")
_GPU_LIST = re.compile(r"all|(?:0|[1-9][0-9]?)(?:,(?:0|[1-9][0-9]?))*")  # "00" and "0" would name one GPU twice
# Docker's reference grammar (distribution/reference): [host[:port]/]path[:tag][@digest].
_REPO_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY = re.compile(rf"{_REPO_COMPONENT}(?:/{_REPO_COMPONENT}){{0,7}}")
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*(?::[0-9]{1,5})?)"
_TAG_TEXT = r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}"
_TAG = re.compile(_TAG_TEXT)
_IMAGE_REFERENCE = re.compile(
    rf"(?:{_DOMAIN}/)?{_REPO_COMPONENT}(?:/{_REPO_COMPONENT}){{0,7}}(?::{_TAG_TEXT})?(?:@sha256:[0-9a-f]{{64}})?")
_PINNED_PIP = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,99})(?:\[[A-Za-z0-9_-]+(?:,[A-Za-z0-9_-]+)*\])?==[0-9A-Za-z.+!_-]{1,40}")
_APT_NAME = re.compile(r"[a-z0-9][a-z0-9.+-]{1,62}")
_GIT_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
# URL characters that need no quoting anywhere they are written (no quotes, spaces, $, `, ;, \, ...).
_URL_SAFE = re.compile(r"[A-Za-z0-9._~:/@%+=,-]+")
RESTART_POLICIES = ("no", "on-failure", "always", "unless-stopped")
UNPRIVILEGED_PORTS = (1024, 65535)

# Address blocks that never route from the internet: RFC 1918, shared (RFC 6598, used by some VPCs)
# and IPv6 unique-local. A CIDR is private only when it lies inside one of them.
PRIVATE_BLOCKS: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = (
    ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("172.16.0.0/12"),
    ipaddress.ip_network("192.168.0.0/16"), ipaddress.ip_network("100.64.0.0/10"),
    ipaddress.ip_network("fc00::/7"))


# Characters a host path may not hold: they would split a `--mount` value (CSV: , and "), be expanded by
# compose or a shell ($, `), or end a line. Each component is at most 255 bytes, the whole at most 4096.
_PATH_UNSAFE = re.compile(r"[,\"'$`\\]")


def portable_path(key: str, value: object) -> str:
    """A host path that every rendering (docker run --mount, compose, systemd, Pulumi) carries verbatim."""
    text = value if isinstance(value, str) else ""
    parts = text.split("/")
    if (not text or not text.isprintable() or _PATH_UNSAFE.search(text) or len(text.encode()) > 4096
            or any(len(p.encode()) > 255 for p in parts)):
        raise ValidationError(key, value, "a printable path without , \" ' $ ` or \\ (components of at most 255 "
                              "bytes)", f"rename the directory or file, or point {key} elsewhere")
    return text


def resolved(key: str, value: object, path: Path, fix: str) -> Path:
    """`path` with every symlink followed, or a ValidationError naming `key` (a loop of links, a name too long)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError, ValueError) as err:
        raise ValidationError(key, value, f"a path that resolves ({type(err).__name__})", fix) from None


def full_match(key: str, value: object, pattern: re.Pattern[str], allowed: str, example: str) -> str:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ValidationError(key, value, allowed, f"set {key} to a value like {example}")
    return value


def size_to_mb(key: str, value: object, *, low_mb: int = 1, high_mb: int = 512 * 1024) -> int:
    """Docker-style size ("512m", "1g") → whole MiB. "1gb", "1 g", "0m", "1k" and bare numbers are refused."""
    match = _SIZE.fullmatch(value) if isinstance(value, str) else None
    mb = int(match.group(1)) * _SIZE_FACTORS_MB[match.group(2)] if match else 0
    if not match or not low_mb <= mb <= high_mb:
        raise ValidationError(
            key, value, f"a whole number of MiB written as <n>m or <n>g, from {low_mb}m to {high_mb // 1024}g "
            "(e.g. 512m, 1g, 2048m)", f"set {key} to 1g")
    return mb


def port(key: str, value: object, *, low: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= 65535:
        raise ValidationError(key, value, f"an integer port from {low} to 65535", f"set {key} to a free port such as 8080")
    return value


def distinct_ports(key: str, ports: dict[str, int]) -> None:
    seen: dict[int, str] = {}
    for name, number in ports.items():
        if number in seen:
            raise ValidationError(
                key, number, f"a different host port for each endpoint ({seen[number]} and {name} both use {number})",
                f"change {name} to an unused port")
        seen[number] = name


def bind_address(key: str, value: object) -> str:
    try:
        return str(ipaddress.IPv4Address(value if isinstance(value, str) else ""))
    except ValueError:
        raise ValidationError(
            key, value, "an IPv4 address to publish on: 127.0.0.1 (this host only) or a host interface address",
            f"set {key} to 127.0.0.1") from None


def gpus(key: str, value: object) -> str | None:
    """"" or "none" → None; "all"; or a comma-separated device list such as "1,2" (no spaces, no repeats)."""
    if value in ("", "none"):
        return None
    if not isinstance(value, str) or not _GPU_LIST.fullmatch(value) or len(set(value.split(","))) != len(value.split(",")):
        raise ValidationError(
            key, value, '"" (no GPU), "all", or distinct device indexes separated by commas such as "0" or "1,2"',
            f'set {key} to "all" or a list like "0,1"')
    return value


def model_name(key: str, value: object) -> str:
    return full_match(key, value, _NAME, "a name of letters, digits, '-' and '_' starting with a letter (max 63 chars)",
                      "demo or resnet-18")


def model_version(key: str, value: object) -> str:
    return full_match(key, value, _VERSION, "a version of letters, digits, '.', '_', '+' and '-' (max 32 chars)", "1.0")


def container_name(key: str, value: object) -> str:
    return full_match(key, value, _CONTAINER_NAME,
                      "a Docker container name: letters, digits, '_', '.', '-', starting with a letter or digit (max 63)",
                      "torchserve-dev")


def image_repository(key: str, value: object) -> str:
    return full_match(key, value, _REPOSITORY,
                      "a Docker repository name: lowercase letters and digits, separated by '.', '_', '-' or '/'",
                      "torchserve-deploy")


def image_reference(key: str, value: object) -> str:
    return full_match(key, value, _IMAGE_REFERENCE,
                      "a Docker image reference [registry/]repository[:tag][@sha256:digest]", "debian:bookworm-slim")


def int_range(key: str, value: object, low: int, high: int, hint: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(key, value, f"an integer from {low} to {high}", f"set {key} to {hint}")
    return value


def memlock(key: str, value: object) -> int:
    if value == -1 and not isinstance(value, bool):
        return -1
    if isinstance(value, bool) or not isinstance(value, int) or not 65536 <= value <= 2**40:
        raise ValidationError(key, value, "-1 (unlimited) or 65536 to 1099511627776 bytes", f"set {key} to -1")
    return value


def one_of(key: str, value: object, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ValidationError(key, value, "one of " + ", ".join(repr(a) for a in allowed), f"set {key} to {allowed[0]!r}")
    return str(value)


def unique(key: str, names: Sequence[str], *, as_read: Callable[[str], str] = str,
           allowed: str = "each name once") -> None:
    """No two names alike as their consumer reads them (`as_read`: str.lower for a case-insensitive file system)."""
    read = [as_read(n) for n in names]
    dupes = sorted({n for n, r in zip(names, read, strict=True) if read.count(r) > 1})
    if dupes:
        raise ValidationError(key, dupes, allowed, "remove or rename the duplicate")


def _each(key: str, values: Iterable[object], pattern: re.Pattern[str], allowed: str, example: str) -> tuple[str, ...]:
    out = []
    for value in values:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise ValidationError(key, value, allowed, f"write it like {example}, or remove it")
        out.append(value)
    unique(key, out)
    return tuple(out)


def pinned_requirements(key: str, values: Iterable[object]) -> tuple[str, ...]:
    return _each(key, values, _PINNED_PIP, "pinned pip requirements (name==version)", "torchvision==0.28.0")


def apt_packages(key: str, values: Iterable[object]) -> tuple[str, ...]:
    return _each(key, values, _APT_NAME, "Debian/Ubuntu package names", "libgl1")


def docker_tags(key: str, values: Iterable[object]) -> tuple[str, ...]:
    return _each(key, values, _TAG, "Docker tags: letters, digits, '_', '.', '-' (at most 128)", "v1.2.0")


def url(key: str, value: object, *, allow_http: bool = False, what: str = "URL") -> str:
    """An https URL (http only with an explicit opt-in) of quoting-free characters, with a host."""
    text = value if isinstance(value, str) else ""
    parts = urlsplit(text) if _URL_SAFE.fullmatch(text) else None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts is None or parts.scheme not in schemes or not parts.hostname or parts.query or parts.fragment:
        extra = "" if allow_http else " (http:// needs torchserve-deploy:allowInsecureIndexes: true)"
        shown = _without_userinfo(text) if isinstance(value, str) else value  # never print a token
        raise ValidationError(key, shown, f"an {'http(s)' if allow_http else 'https'} {what} without spaces, quotes, "
                              f"query or shell characters{extra}", f"set {key} to e.g. https://pypi.org/simple")
    return text


def _without_userinfo(text: str) -> str:
    head, sep, rest = text.partition("://")
    host = rest.split("/", 1)
    if sep and "@" in host[0]:
        return f"{head}://[credentials]@{host[0].rsplit('@', 1)[1]}" + (f"/{host[1]}" if len(host) > 1 else "")
    return text


def has_credentials(value: str) -> bool:
    return "@" in urlsplit(value).netloc


def without_credentials(value: str) -> str:
    """The URL with any user:password@ removed (for digests and messages)."""
    parts = urlsplit(value)
    return parts._replace(netloc=parts.netloc.rsplit("@", 1)[-1]).geturl()


_HOSTNAME = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")


def hostname(key: str, value: object) -> str:
    """A fully qualified DNS name in lowercase (no trailing dot, no wildcard)."""
    return full_match(key, value, _HOSTNAME, "a lowercase DNS name such as ml.example.com", "ml.example.com")


_EMAIL = re.compile(r"(?=.{3,254}\Z)[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")


def email(key: str, value: object) -> str:
    """An e-mail address for an SNS subscription: local part and DNS name only (no display name, comments or
    quoted parts)."""
    return full_match(key, value, _EMAIL, "an e-mail address like name@example.com", "ml-oncall@example.com")


def git_ref(key: str, value: object) -> str:
    """A branch, tag or commit that git cannot read as an option or a range."""
    ref = full_match(key, value, _GIT_REF, "a git branch, tag or commit (letters, digits, '.', '_', '-', '/'; "
                     "not starting with '-')", "v0.12.0")
    if ".." in ref or ref.endswith((".lock", "/", ".")) or "//" in ref:
        raise ValidationError(key, value, "a git ref without '..', '//' or a trailing '/', '.' or '.lock'",
                              f"set {key} to a tag such as v0.12.0")
    return ref


def cidr(key: str, value: object) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    try:
        if not isinstance(value, str) or "/" not in value or str(ipaddress.ip_network(value, strict=True)) != value:
            raise ValueError  # written exactly as AWS will store it: address/prefix, canonical form
        return ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValidationError(key, value, "a CIDR in canonical form such as 10.0.0.0/16 or fd00::/64 (a prefix "
                              "length, host bits zero)",
                              f"fix {key}, e.g. 10.0.0.0/16") from None


def vpc_cidr(key: str, value: object) -> str:
    """A VPC's primary range: private IPv4, /16 to /24 (it is cut into four subnets)."""
    (net,) = private_cidrs(key, [value])
    if net.version != 4 or not 16 <= net.prefixlen <= 24:
        raise ValidationError(key, value, "a private IPv4 range from /16 to /24", f"set {key} to 10.42.0.0/16")
    return str(net)


def private_cidrs(key: str, values: Iterable[object]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """CIDRs that lie inside private address space (range arithmetic, v4 and v6), none repeated or nested.

    0.0.0.0/1 is refused although both its ends are "private" addresses: it is not inside a private block.
    """
    nets: list[ipaddress.IPv4Network | ipaddress.IPv6Network] = []
    for value in values:
        net = cidr(key, value)
        if not any(net.version == block.version and net.subnet_of(block) for block in PRIVATE_BLOCKS):  # type: ignore[arg-type]
            raise ValidationError(key, value, "a private range inside 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, "
                                  "100.64.0.0/10 or fc00::/7 (public clients come through the HTTPS edge)",
                                  f"replace {value} with your VPC's or VPN's private CIDR")
        for seen in nets:
            if seen.version == net.version and (net.subnet_of(seen) or seen.subnet_of(net)):  # type: ignore[arg-type]
                raise ValidationError(key, value, f"CIDRs that neither repeat nor overlap ({value} and {seen})",
                                      f"keep only the wider of {value} and {seen}")
        nets.append(net)
    return tuple(nets)
