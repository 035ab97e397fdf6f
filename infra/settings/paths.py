"""Host paths are confined: to the repository, or under a root the stack names in hostPathRoots."""
from __future__ import annotations

from pathlib import Path

from torchserve_deploy.errors import ValidationError

# A root may not be one of these, nor contain one (so "/" and "/var" are refused, "/srv/ml" is fine).
SYSTEM_DIRS = tuple(Path(p) for p in ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/opt", "/proc",
                                      "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var",
                                      "/var/lib/docker"))
# ...and may not lie inside these trees at all.
NEVER_INSIDE = tuple(Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run",
                                       "/sbin", "/sys", "/usr", "/var/lib/docker"))


def host_roots(key: str, values: tuple[str, ...]) -> tuple[Path, ...]:
    roots = []
    for value in values:
        path = Path(value)
        if not path.is_absolute() or ".." in path.parts or not value.isprintable():
            raise ValidationError(key, value, "absolute directories without '..'", f"write e.g. [/srv/ml] in {key}")
        resolved = path.resolve()
        if any(resolved == d or d.is_relative_to(resolved) for d in SYSTEM_DIRS) or any(
                resolved.is_relative_to(d) for d in NEVER_INSIDE):
            raise ValidationError(key, value, "a directory below the system directories (not /, /etc, /var, /home, "
                                  "/srv, ... themselves)", f"name a dedicated directory such as /srv/ml in {key}")
        roots.append(resolved)
    return tuple(roots)


def confined(key: str, value: str, repo: Path, roots: tuple[Path, ...]) -> Path:
    """`value` (relative to the repo, or absolute) resolved with symlinks, strictly inside the repo or a root."""
    if not value.isprintable() or not value:
        raise ValidationError(key, value, "a printable path", f"fix {key}")
    path = (repo / value).resolve()
    bases = (repo.resolve(), *roots)
    inside = [b for b in bases if path != b and path.is_relative_to(b)]
    if not inside or path.is_relative_to(repo.resolve() / ".git"):
        allowed = "a path strictly inside the repository" + (" or " + ", ".join(map(str, roots)) if roots else "")
        raise ValidationError(key, value, f"{allowed} (symlinks followed; no '..' out of it)",
                              "use a path under .build/, or add its parent to torchserve-deploy:hostPathRoots")
    return path
