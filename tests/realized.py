"""Declared = realized: what a container spec declares (tmpfs with its mode and owner, mounts, published ports,
dropped capabilities, read-only root, user), compared with `docker inspect` and with the container's own view of
itself (stat, /proc/self/mountinfo, /proc/1/status). Docker copies an image directory's mode into a tmpfs mounted
over it, so a declared mode=0700 shows as 0755 unless the image makes the directory 0700 too."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Declared:
    tmpfs: dict[str, str] = field(default_factory=dict)
    """path → mount options (mode=, uid=, gid=, size=, noexec, nosuid, nodev, ...)."""
    mounts: dict[str, bool] = field(default_factory=dict)
    """target → read-only."""
    ports: dict[int, str] = field(default_factory=dict)
    """container port → host address it is published on (only those the spec publishes)."""
    cap_drop: tuple[str, ...] = ()
    read_only_root: bool = False
    uid: int | None = None


def _size_kib(text: str) -> int:
    number, unit = (text[:-1], text[-1].lower()) if text[-1].isalpha() else (text, "")
    return int(number) * {"": 1 / 1024, "k": 1, "m": 1024, "g": 1024 * 1024}[unit]


def _exec(container: Any, *argv: str) -> str:
    code, out = container.exec_run(list(argv))
    assert code == 0, f"{argv}: {out.decode(errors='replace')}"
    return out.decode()


def problems(container: Any, declared: Declared) -> list[str]:
    """Every difference between the declaration and the running container (empty when they agree)."""
    container.reload()
    host, found = container.attrs["HostConfig"], []
    mountinfo = {line.split()[4]: line for line in _exec(container, "cat", "/proc/self/mountinfo").splitlines()}
    for path, options in declared.tmpfs.items():
        opts = dict(o.split("=", 1) if "=" in o else (o, "") for o in options.split(","))
        mode, uid, gid = _exec(container, "stat", "-c", "%a %u %g", path).split()
        if "mode" in opts and int(mode, 8) != int(opts["mode"], 8):
            found.append(f"tmpfs {path}: mode {mode}, declared {opts['mode']}")
        for name, actual in (("uid", uid), ("gid", gid)):
            if name in opts and actual != opts[name]:
                found.append(f"tmpfs {path}: {name} {actual}, declared {opts[name]}")
        line = mountinfo.get(path, "")
        if " - tmpfs " not in line:
            found.append(f"{path}: not a tmpfs ({line or 'not mounted'})")
            continue
        flags = set(line.split()[5].split(","))
        for flag in ("noexec", "nosuid", "nodev"):
            if flag in opts and flag not in flags:
                found.append(f"tmpfs {path}: mounted without {flag}")
        kernel = dict(o.split("=", 1) if "=" in o else (o, "") for o in line.split(" - ")[1].split()[2].split(","))
        if "size" in opts and int(kernel.get("size", "0k").rstrip("k")) != _size_kib(opts["size"]):
            found.append(f"tmpfs {path}: size {kernel.get('size')}, declared {opts['size']}")
    mounts = {m["Destination"]: not m["RW"] for m in container.attrs["Mounts"]}
    for target, read_only in declared.mounts.items():
        if mounts.get(target) != read_only:
            found.append(f"mount {target}: {'missing' if target not in mounts else 'rw' if read_only else 'ro'}, "
                         f"declared {'ro' if read_only else 'rw'}")
    published = container.attrs["NetworkSettings"]["Ports"] or {}
    for port, ip in declared.ports.items():
        addresses = sorted({b["HostIp"] for b in published.get(f"{port}/tcp") or []})
        if addresses != [ip]:
            found.append(f"port {port}: published on {addresses}, declared {ip}")
    for port, binds in published.items():
        if binds and int(port.split("/")[0]) not in declared.ports:
            found.append(f"port {port}: published, not declared")
    if tuple(host.get("CapDrop") or ()) != declared.cap_drop:
        found.append(f"cap_drop {host.get('CapDrop')}, declared {list(declared.cap_drop)}")
    if "ALL" in declared.cap_drop:
        status = _exec(container, "cat", "/proc/1/status")
        caps = {line.split(":")[0]: line.split()[1] for line in status.splitlines() if line.startswith("Cap")}
        if any(int(caps[k], 16) for k in ("CapEff", "CapPrm", "CapBnd")):
            found.append(f"process capabilities {caps}")
    if bool(host.get("ReadonlyRootfs")) != declared.read_only_root:
        found.append(f"read-only root {host.get('ReadonlyRootfs')}, declared {declared.read_only_root}")
    if declared.uid is not None:
        uid = _exec(container, "cat", "/proc/1/status")
        real = [line.split()[1] for line in uid.splitlines() if line.startswith("Uid:")][0]
        if int(real) != declared.uid:
            found.append(f"process uid {real}, declared {declared.uid}")
    return found


def from_container_inputs(inputs: dict[str, Any]) -> Declared:
    """A docker:index/container:Container's inputs (as recorded under mocks) → Declared."""
    return Declared(
        tmpfs=dict(inputs.get("tmpfs") or {}),
        mounts={m["target"]: bool(m.get("readOnly")) for m in inputs.get("mounts") or []},
        ports={int(p["internal"]): p.get("ip") or "0.0.0.0" for p in inputs.get("ports") or []},
        cap_drop=tuple((inputs.get("capabilities") or {}).get("drops") or ()),
        read_only_root=bool(inputs.get("readOnly")),
        uid=int(str(inputs["user"]).split(":")[0]) if inputs.get("user") else None)


def from_task_definition(d: dict[str, Any], host_ports: dict[int, str]) -> Declared:
    """One ECS container definition → Declared (`host_ports`: where the local run publishes each mapping)."""
    linux = d.get("linuxParameters") or {}
    tmpfs = {t["containerPath"]: ",".join([*t.get("mountOptions", []), f"size={int(t['size'])}m"])
             for t in linux.get("tmpfs") or []}
    return Declared(
        tmpfs=tmpfs, mounts={m["containerPath"]: bool(m.get("readOnly")) for m in d.get("mountPoints") or []},
        ports=host_ports, cap_drop=tuple((linux.get("capabilities") or {}).get("drop") or ()),
        read_only_root=bool(d.get("readonlyRootFilesystem")),
        uid=int(str(d["user"]).split(":")[0]) if d.get("user") else None)
