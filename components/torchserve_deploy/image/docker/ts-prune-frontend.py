"""Build step: remove the test and scripting frameworks TorchServe's frontend jar carries but never runs.

TorchServe 0.12's model-server.jar is a fat jar that also shades Groovy, TestNG and JUnit (about 38 MB of
its 106 MB of classes). No class of TorchServe itself (org/pytorch/) names any of them; they are reached only
through ServiceLoader files, which this rewrites so that every provider line names a class that is still in
the jar (a line naming a missing class would fail the service's lookup). Entry order, timestamps and
compression are kept, so the same jar gives the same bytes. The container's real-engine tests then serve,
predict, scale and scrape metrics with the pruned jar.

usage: ts-prune-frontend.py JAR   (rewrites JAR in place; refuses if TorchServe's own classes name a pruned one)
"""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

PRUNED = ("groovy/", "groovyjarjarantlr/", "groovyjarjarantlr4/", "groovyjarjarasm/", "groovyjarjarpicocli/",
          "org/codehaus/groovy/", "org/apache/groovy/", "org/testng/", "org/junit/", "junit/", "testngtasks",
          "testng-1.0.dtd", "testng.css", "LICENSE-junit.txt", "META-INF/groovy", "META-INF/dgminfo",
          "META-INF/junit-jupiter-api.kotlin_module")
OWN = "org/pytorch/"
SERVICES = "META-INF/services/"


def pruned(name: str) -> bool:
    return name.startswith(PRUNED)


def class_entry(provider: str) -> str:
    return provider.replace(".", "/") + ".class"


def check_own_classes(jar: zipfile.ZipFile) -> None:
    """TorchServe's own classes must not name a pruned package (its constant pool holds every class it uses)."""
    markers = [p.rstrip("/").encode() for p in PRUNED if p.endswith("/") and not p.startswith("META-INF")]
    for info in jar.infolist():
        if info.filename.startswith(OWN) and info.filename.endswith(".class"):
            data = jar.read(info)
            hits = [m.decode() for m in markers if m in data]
            if hits:
                raise SystemExit(f"ts-prune-frontend: {info.filename} refers to {hits}; not pruning")


def rewrite_service(text: str, kept: set[str]) -> str | None:
    """The service file with only providers still present; None when none is left."""
    lines, providers = [], 0
    for line in text.splitlines():
        provider = line.split("#", 1)[0].strip()
        if provider and class_entry(provider) not in kept:
            continue
        providers += bool(provider)
        lines.append(line)
    return "\n".join(lines) + "\n" if providers else None


def prune(path: Path) -> tuple[int, int]:
    with zipfile.ZipFile(path) as jar:
        check_own_classes(jar)
        infos = jar.infolist()
        kept = {i.filename for i in infos if not pruned(i.filename)}
        out = path.with_suffix(".pruned")
        with zipfile.ZipFile(out, "w") as new:
            for info in infos:
                if pruned(info.filename):
                    continue
                data = jar.read(info)
                if info.filename.startswith(SERVICES) and not info.is_dir():
                    text = rewrite_service(data.decode("utf-8"), kept)
                    if text is None:
                        continue
                    data = text.encode("utf-8")
                new.writestr(info, data, compress_type=info.compress_type)
    before, after = path.stat().st_size, out.stat().st_size
    out.replace(path)
    return before, after


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    before, after = prune(Path(argv[1]))
    print(f"ts-prune-frontend: {argv[1]}: {before / 1e6:.1f} MB -> {after / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
