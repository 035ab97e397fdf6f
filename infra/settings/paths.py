"""Host paths are confined: to the repository, or under a root the stack names in hostPathRoots."""
from __future__ import annotations

from pathlib import Path

from torchserve_deploy import validators as v
from torchserve_deploy.errors import ValidationError
from torchserve_deploy.validators import portable_path

# A root may not be one of these, nor contain one (so "/" and "/var" are refused, "/srv/ml" is fine).
SYSTEM_DIRS = tuple(Path(p) for p in ("/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media",
                                      "/mnt", "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp",
                                      "/usr", "/var"))
# ...and may not lie inside these trees at all.
NEVER_INSIDE = tuple(Path(p) for p in ("/bin", "/boot", "/dev", "/etc", "/lib", "/lib64", "/proc", "/root", "/run",
                                       "/sbin", "/sys", "/usr", "/var"))


def host_roots(key: str, values: tuple[str, ...]) -> tuple[Path, ...]:
    roots = []
    for value in values:
        path = Path(value)
        portable_path(key, value)
        if not path.is_absolute() or ".." in path.parts:
            raise ValidationError(key, value, "absolute directories without '..'", f"write e.g. [/srv/ml] in {key}")
        resolved = v.resolved(key, value, path, f"fix {key}")
        if any(part.startswith(".") for part in resolved.parts):
            raise ValidationError(key, value, "a directory outside hidden trees (~/.config, ~/.ssh, ...)",
                                  f"name a dedicated directory such as /srv/ml in {key}")
        if any(resolved == d or d.is_relative_to(resolved) for d in SYSTEM_DIRS) or any(
                resolved.is_relative_to(d) for d in NEVER_INSIDE):
            raise ValidationError(key, value, "a directory below the system directories (not /, /etc, /var, /home, "
                                  "/srv, ... themselves)", f"name a dedicated directory such as /srv/ml in {key}")
        roots.append(resolved)
    return tuple(roots)


def confined(key: str, value: str, repo: Path, roots: tuple[Path, ...], *, writable: bool = False) -> Path:
    """`value` (relative to the repo, or absolute) resolved with symlinks, strictly inside the repo or a root.
    A directory the deploy writes to (`writable`) must lie under the repo's .build/ or a root: never beside
    the program's own code (.venv, infra/, components/)."""
    portable_path(key, value)
    path = v.resolved(key, value, repo / value, f"fix {key}")
    portable_path(key, str(path))
    bases = ((repo.resolve() / ".build") if writable else repo.resolve(), *roots)
    inside = [b for b in bases if path != b and path.is_relative_to(b)]
    if not inside or path.is_relative_to(repo.resolve() / ".git"):
        where = "the repository's .build/ directory" if writable else "the repository"
        allowed = f"a path strictly inside {where}" + (" or " + ", ".join(map(str, roots)) if roots else "")
        raise ValidationError(key, value, f"{allowed} (symlinks followed; no '..' out of it)",
                              "use a path under .build/, or add its parent to torchserve-deploy:hostPathRoots")
    return path
