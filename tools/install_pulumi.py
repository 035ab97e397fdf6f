"""Install the pinned Pulumi CLI into the project: .pulumi-cli/<version>/bin/pulumi (stdlib only).

usage: python tools/install_pulumi.py [--if-missing] [--root DIR] [--dest DIR] [--mirror URL]

The version is the one line of PULUMI_VERSION at the repository root. The release archive
(pulumi-v<version>-<os>-<arch>.tar.gz) and the release's checksums file (pulumi-<version>-checksums.txt)
come from https://github.com/pulumi/pulumi/releases/download/v<version>/, or from the folder that
PULUMI_MIRROR_URL (or --mirror) names, for machines without internet access. The archive is installed only
when its SHA-256 matches the checksums file's line for it; it is unpacked beside the destination and
renamed into place, so a failed or refused install leaves nothing behind. Nothing outside the project
changes: no PATH edit, no ~/.pulumi, no login. `make deploy` and python -m infra.cli use this CLI.
"""
from __future__ import annotations

import argparse
import hashlib
import http.client
import os
import platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RELEASES = "https://github.com/pulumi/pulumi/releases/download/v{version}/"
MIRROR_ENV = "PULUMI_MIRROR_URL"
VERSION_RE = re.compile(r"^\d+\.\d+\.\d+$")
OSES = {"linux": "linux", "darwin": "darwin"}
ARCHES = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "arm64": "arm64"}
CHUNK = 1 << 16
MAX_ARCHIVE = 1 << 30  # 1 GiB: the real archive is ~150 MiB
TIMEOUT_S = 60


class InstallError(Exception):
    """One line: what went wrong and what to do. Nothing is installed when it is raised."""


def read_version(root: Path) -> str:
    path = root / "PULUMI_VERSION"
    try:
        version = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise InstallError(f"cannot read {path} ({err.strerror}): it holds the pinned Pulumi CLI version, "
                           "e.g. 3.272.0; restore it from git") from None
    if not VERSION_RE.match(version):
        raise InstallError(f"{path} says {version[:40]!r}, not a version like 3.272.0: fix that one line")
    return version


def archive_name(version: str, system: str | None = None, machine: str | None = None) -> str:
    system = (system or sys.platform).lower()
    machine = (machine or platform.machine()).lower()
    os_name = next((v for k, v in OSES.items() if system.startswith(k)), None)
    arch = ARCHES.get(machine)
    if os_name is None or arch is None:
        raise InstallError(f"no Pulumi CLI release for {system}/{machine}: install the CLI yourself "
                           "(https://www.pulumi.com/docs/install/) and put pulumi on PATH")
    return f"pulumi-v{version}-{os_name}-{arch}.tar.gz"


def base_url(version: str, mirror: str | None) -> str:
    url = mirror or os.environ.get(MIRROR_ENV) or RELEASES.format(version=version)
    return url if url.endswith("/") else url + "/"


def download(url: str, target: Path, *, limit: int = MAX_ARCHIVE) -> None:
    """`url` → `target`, printing progress; any failure is an InstallError naming the URL."""
    hint = (f"check the network, or set {MIRROR_ENV} to a folder (http://, https:// or file://) holding the "
            "release's archive and checksums file")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, target.open("wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done, shown = 0, 0
            while chunk := resp.read(CHUNK):
                done += len(chunk)
                if done > limit:
                    raise InstallError(f"{url} is larger than {limit >> 20} MiB: not a Pulumi release; {hint}")
                out.write(chunk)
                shown = _progress(done, total, shown)
    except urllib.error.HTTPError as err:
        raise InstallError(f"could not download {url}: HTTP {err.code} {err.reason}; {hint}") from None
    except urllib.error.URLError as err:
        raise InstallError(f"could not download {url}: {err.reason}; {hint}") from None
    except (OSError, http.client.HTTPException, ValueError) as err:
        raise InstallError(f"could not download {url}: {err or type(err).__name__}; {hint}") from None


def _progress(done: int, total: int, shown: int) -> int:
    """Print every 10% of a download of 1 MiB or more (every 16 MiB when its size is unknown)."""
    step = done * 10 // total if total else done >> 24
    if step > shown and (total >= 1 << 20 or not total):
        print(f"  {step * 10}% of {total >> 20} MiB" if total else f"  {done >> 20} MiB", flush=True)
        return step
    return shown


def expected_sha256(checksums: str, name: str, source: str) -> str:
    """The hex digest on `name`'s line of a sha256sum-style file ("<hex>  <name>" or "<hex> *<name>")."""
    for line in checksums.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].lstrip("*") == name:
            digest = parts[0].lower()
            if re.fullmatch(r"[0-9a-f]{64}", digest):
                return digest
            raise InstallError(f"{source} has no valid SHA-256 for {name} ({digest[:70]!r}): refusing to install")
    raise InstallError(f"{source} lists no checksum for {name}: refusing to install an unverified archive; "
                       f"check that the mirror holds this release's files")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def extract(archive: Path, into: Path) -> Path:
    """Unpack the release (a `pulumi/` folder of executables) and return that folder."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            for member in tar.getmembers():
                parts = Path(member.name).parts
                if (member.name.startswith("/") or ".." in parts or not parts or parts[0] != "pulumi"
                        or not (member.isfile() or member.isdir())):
                    raise InstallError(f"{archive.name} holds {member.name!r}, not part of a Pulumi release: "
                                       "refusing to install")
            if hasattr(tarfile, "data_filter"):  # Python 3.11.4+: also drops setuid bits and odd modes
                tar.extractall(into, filter="data")
            else:
                tar.extractall(into)  # every member was checked above
    except (tarfile.TarError, EOFError, OSError) as err:
        raise InstallError(f"cannot unpack {archive.name} ({err}): the download is damaged; run again") from None
    folder = into / "pulumi"
    binary = folder / "pulumi"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise InstallError(f"{archive.name} has no executable pulumi/pulumi: not a Pulumi CLI release")
    return folder


def reported_version(binary: Path) -> str:
    env = {**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    try:
        out = subprocess.run([str(binary), "version"], capture_output=True, text=True, timeout=60, env=env, check=True)
    except (OSError, subprocess.SubprocessError) as err:
        raise InstallError(f"the downloaded pulumi does not run here ({err}): install the CLI yourself "
                           "(https://www.pulumi.com/docs/install/) and put it on PATH") from None
    return out.stdout.strip().removeprefix("v")


def install(version: str, dest: Path, mirror: str | None = None) -> Path:
    """Download, verify, unpack into a temporary folder beside dest/<version>, rename into place."""
    final = dest / version
    binary = final / "bin" / "pulumi"
    if binary.is_file() and os.access(binary, os.X_OK):
        print(f"Pulumi CLI {version} is already installed: {binary}")
        return binary
    name = archive_name(version)
    base = base_url(version, mirror)
    created = not dest.exists()
    try:
        dest.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=f".{version}.partial-", dir=dest))
    except OSError as err:
        raise InstallError(f"cannot create {dest} ({err.strerror}): make the project folder writable") from None
    try:
        sums = work / "checksums.txt"
        print(f"downloading {base}pulumi-{version}-checksums.txt", flush=True)
        download(f"{base}pulumi-{version}-checksums.txt", sums, limit=1 << 20)
        expected = expected_sha256(sums.read_text(encoding="utf-8", errors="replace"), name,
                                   f"pulumi-{version}-checksums.txt")
        print(f"downloading {base}{name}", flush=True)
        archive = work / name
        download(base + name, archive)
        actual = sha256(archive)
        if actual != expected:
            raise InstallError(f"checksum mismatch for {name}: the release lists sha256 {expected}, the download "
                               f"has {actual}; nothing was installed. Run again; if it persists, the download "
                               f"(or {MIRROR_ENV}) is not the published release")
        print(f"verified sha256 {actual}", flush=True)
        folder = extract(archive, work / "unpacked")
        stage = work / "stage"
        stage.mkdir()
        folder.rename(stage / "bin")
        got = reported_version(stage / "bin" / "pulumi")
        if got != version:
            raise InstallError(f"{name} holds pulumi {got or '(no version)'}, not {version}: refusing to install")
        try:
            stage.rename(final)
        except OSError as err:
            raise InstallError(f"cannot move the CLI into {final} ({err.strerror}): remove that folder and "
                               "run again") from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if created and not final.exists():
            shutil.rmtree(dest, ignore_errors=True)
    print(f"installed Pulumi CLI {version}: {binary}")
    return binary


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--root", type=Path, default=ROOT, help="project folder holding PULUMI_VERSION")
    p.add_argument("--dest", type=Path, help="install folder (default: <root>/.pulumi-cli)")
    p.add_argument("--mirror", help=f"folder URL holding the release files (default: ${MIRROR_ENV}, else GitHub)")
    p.add_argument("--if-missing", action="store_true", help="do nothing when a pulumi is on PATH")
    a = p.parse_args(argv)
    try:
        version = read_version(a.root)
        dest = (a.dest or a.root / ".pulumi-cli").absolute()
        found = shutil.which("pulumi")
        if a.if_missing and found and not (dest / version / "bin" / "pulumi").is_file():
            print(f"using the Pulumi CLI on PATH: {found}")
            return 0
        install(version, dest, a.mirror)
    except InstallError as err:
        print(f"install_pulumi: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("install_pulumi: interrupted; nothing was installed", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
