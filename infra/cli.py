"""The Makefile's one CLI: python -m infra.cli <command> --stack <name>, over Pulumi's Automation API.

check: the quick checks before anything slow (Python 3.11+, a committed stack, its state backend, a Docker engine
answering: every stack builds its image here, and whether it takes healthStartIntervalS); standard library only.
up, preview (--diff), destroy: Pulumi's, streaming its output (up creates the stack on first use). outputs: the
stack's outputs as JSON. smoke: every model's sample request (infra/smoke.py). token: a local stack's key.

State backend: --backend URL, else PULUMI_BACKEND_URL, else the project-local file backend .pulumi-state/,
which is for local stacks only: an ec2 or fleet stack refuses to start without a backend chosen explicitly.
The backend reaches Pulumi through PULUMI_BACKEND_URL in the child's environment: the CLI never runs
`pulumi login` and never changes your global login. The Pulumi CLI is .pulumi-cli/<PULUMI_VERSION>/bin/pulumi
(make pulumi-cli installs it), else the pulumi on PATH. Every failure is one line saying what is wrong and
what to do, with a non-zero exit code; never a traceback.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from infra.stack_host import BACKEND_ENV  # the standard library only, like this module

ROOT = Path(__file__).resolve().parent.parent
STATE_DIR = ROOT / ".pulumi-state"
CLI_DIR = ROOT / ".pulumi-cli"
MIN_PYTHON = (3, 11)
TARGETS = {"up": "deploy", "check": "deploy"}


class Failure(Exception):
    """What is wrong and what to do, in one line; `code` is the exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def committed_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def make_target(a: argparse.Namespace) -> str:
    return f"make {TARGETS.get(a.command, a.command)} STACK={a.stack}"


def backend(a: argparse.Namespace, *, quick: bool = False) -> tuple[str, bool]:
    """(backend URL, is it the project-local default?): infra/stack_host.py decides."""
    if a.stack not in committed_stacks():
        known = ", ".join(committed_stacks())
        raise Failure(f"no stack {a.stack!r} in stacks/: use STACK=<one of {known}> (or add stacks/Pulumi.{a.stack}.yaml)", 2)
    from infra import stack_host as reader

    try:
        return reader.backend(ROOT, a.stack, a.backend or os.environ.get(BACKEND_ENV), STATE_DIR, quick=quick,
                              target=make_target(a))
    except reader.Refused as err:
        raise Failure(str(err), 2) from None


def check_python() -> str:
    version = ".".join(str(part) for part in sys.version_info[:3])
    if tuple(sys.version_info[:2]) < MIN_PYTHON:
        raise Failure(f"Python {version} ({sys.executable}) is too old: this project needs Python 3.11 or later; "
                      "install it (Debian/Ubuntu: sudo apt-get install python3.11 python3.11-venv) and make it "
                      "python3, then run make deploy again")
    return version


def check_docker() -> str:
    hint = ("start it (sudo systemctl start docker), or fix DOCKER_HOST or your access to it (the docker group), "
            "then run make deploy again")
    try:
        info = subprocess.run(["docker", "info", "--format", "{{.ServerVersion}}"], capture_output=True, text=True,
                              timeout=30)
    except FileNotFoundError:
        raise Failure("make deploy needs a Docker engine and docker is not installed: install Docker Engine "
                      "(https://docs.docker.com/engine/install/, or sudo apt-get install docker.io), start it, "
                      "then run make deploy again") from None
    except (subprocess.TimeoutExpired, OSError) as err:
        raise Failure(f"the Docker engine is not answering ({err}): {hint}") from None
    lines = [line.strip() for line in (info.stderr + info.stdout).splitlines() if line.strip()]
    if info.returncode != 0 or not info.stdout.strip():
        raise Failure(f"the Docker engine is not answering (docker info: {lines[-1][:200] if lines else 'failed'}): {hint}")
    return info.stdout.strip()


def cmd_check(a: argparse.Namespace) -> int:
    from infra import stack_host as reader

    python = check_python()
    url, _ = backend(a, quick=True)
    try:  # a stack importing ESC environments: its host as the Pulumi CLI resolves it
        host = reader.esc_host(ROOT, a.stack, url, CLI_DIR / pinned_version(), target=make_target(a))
    except reader.Refused as err:
        raise Failure(str(err), 2) from None
    engine = check_docker()
    hint = ", which accepts healthStartIntervalS" if (m := engine.split(".")[0]).isdigit() and int(m) >= 25 else ""
    esc = f", host {host} (pulumi config, ESC)" if host else ""
    print(f"ok: Python {python}, stack {a.stack} (state: {url}{esc}), Docker engine {engine}{hint}")
    return 0


def pinned_version() -> str:
    try:
        return (ROOT / "PULUMI_VERSION").read_text(encoding="utf-8").strip()
    except OSError:
        raise Failure("PULUMI_VERSION is missing: restore it from git (it pins the Pulumi CLI)", 2) from None


def pulumi_command() -> Any:
    """The project-local CLI, else the one on PATH, checked against the SDK's minimum version."""
    from pulumi.automation import PulumiCommand
    from pulumi.automation.errors import InvalidVersionError

    version = pinned_version()
    local = CLI_DIR / version
    hint = f"run make pulumi-cli (installs the pinned Pulumi CLI {version} into .pulumi-cli/)"
    if (local / "bin" / "pulumi").is_file():
        root: str | None = str(local)
    elif shutil.which("pulumi"):
        root = None
    else:
        raise Failure(f"the Pulumi CLI is not installed: {hint}, or put pulumi on PATH", 2)
    try:
        return PulumiCommand(root=root)
    except InvalidVersionError as err:
        raise Failure(f"{' '.join(str(err).split()).rstrip('.')}: {hint}", 2) from None
    except (OSError, subprocess.SubprocessError) as err:
        raise Failure(f"the Pulumi CLI does not run ({err}): {hint}", 2) from None


def child_env(url: str, default: bool) -> dict[str, str]:
    env = {BACKEND_ENV: url, "PULUMI_SKIP_UPDATE_CHECK": "true"}
    if default:
        STATE_DIR.mkdir(exist_ok=True)
        if not {"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & set(os.environ):
            env["PULUMI_CONFIG_PASSPHRASE"] = ""  # the project-local dev state holds no secrets
    # The program and the archive command run from this virtualenv (Pulumi.yaml's virtualenv: .venv).
    venv_bin = str(Path(sys.executable).parent)
    path = os.environ.get("PATH", "")
    env["PATH"] = path if path.split(os.pathsep)[0] == venv_bin else venv_bin + os.pathsep + path
    return env


def open_stack(a: argparse.Namespace, *, create: bool) -> Any:
    from pulumi import automation as auto

    url, default = backend(a)
    command = pulumi_command()
    opts = auto.LocalWorkspaceOptions(env_vars=child_env(url, default), pulumi_command=command)
    print(f"stack {a.stack}, state backend {url}", flush=True)
    try:
        if create:
            return auto.create_or_select_stack(a.stack, work_dir=str(ROOT), opts=opts)
        return auto.select_stack(a.stack, work_dir=str(ROOT), opts=opts)
    except auto.StackNotFoundError:
        raise Failure(f"stack {a.stack} does not exist in {url}: run make deploy STACK={a.stack} first (or set "
                      f"{BACKEND_ENV} to the backend that holds it)", 2) from None


def _out(line: str) -> None:
    print(line, flush=True)


def _err(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def cmd_up(a: argparse.Namespace) -> int:
    result = open_stack(a, create=True).up(on_output=_out, on_error=_err)
    print(f"pulumi up: {result.summary.result}")
    return 0


def cmd_preview(a: argparse.Namespace) -> int:
    open_stack(a, create=True).preview(diff=True, on_output=_out, on_error=_err)
    return 0


def cmd_destroy(a: argparse.Namespace) -> int:
    result = open_stack(a, create=False).destroy(on_output=_out, on_error=_err)
    print(f"pulumi destroy: {result.summary.result}")
    return 0


def stack_outputs(a: argparse.Namespace) -> dict[str, Any]:
    return {k: ("[secret]" if v.secret else v.value) for k, v in open_stack(a, create=False).outputs().items()}


def cmd_outputs(a: argparse.Namespace) -> int:
    print(json.dumps(stack_outputs(a), indent=2, sort_keys=True))
    return 0


def cmd_smoke(a: argparse.Namespace) -> int:
    from infra import smoke

    return smoke.run(a.stack, stack_outputs(a))


def cmd_token(a: argparse.Namespace) -> int:
    from infra import token
    from infra.offline import stack_settings

    s = stack_settings(a.stack)
    if s.host != "local":
        raise Failure(f"stack {a.stack} runs on {s.host}: its key is in AWS; read it with the stack's keyCommand "
                      f"output (make outputs STACK={a.stack})", 2)
    if a.rotate:
        token.rotate(s.container_name, s.server.management_port, a.kind)
    print(token.key(s.container_name, a.kind))
    return 0


COMMANDS = {"check": cmd_check, "up": cmd_up, "preview": cmd_preview, "destroy": cmd_destroy,
            "outputs": cmd_outputs, "smoke": cmd_smoke, "token": cmd_token}


def _last_line(text: str) -> str:
    stderr = text.rsplit("\n stderr: ", 1)[-1]  # CommandError's text: code, stdout, stderr
    lines = [line.strip() for line in stderr.splitlines() if line.strip() and not line.strip().startswith("code:")]
    return lines[-1][:300] if lines else "no message"


def explain(err: Exception, a: argparse.Namespace) -> Failure | None:
    """A known error of a command → its one-line Failure; None for anything else (a bug: let it show)."""
    target = make_target(a)
    if "pulumi.automation" in sys.modules:
        from pulumi.automation import errors

        if isinstance(err, errors.ConcurrentUpdateError):
            return Failure(f"another update of stack {a.stack} holds its lock: wait for it to finish, then run {target}")
        if isinstance(err, errors.CommandError):
            streamed = a.command in ("up", "preview", "destroy")
            what = f"pulumi {a.command}" if streamed else "reading the stack's outputs"
            return Failure(f"{what} failed for stack {a.stack} ({_last_line(str(err))}): "
                           f"{'the output above says why; ' if streamed else ''}fix that and run {target} again")
    values = sys.modules.get("infra.pulumi_cli.values")
    if values and isinstance(err, values.ConfigError):  # what the Pulumi CLI refuses before the program runs
        return Failure(f"{err}: fix stacks/Pulumi.{a.stack}.yaml and run {target} again", 2)
    if "torchserve_deploy.errors" in sys.modules:
        from torchserve_deploy.errors import ValidationError

        if isinstance(err, ValidationError):
            return Failure(str(err), 2)
    if isinstance(err, subprocess.SubprocessError):
        return Failure(f"{err}: check the tool it names and run {target} again")
    if isinstance(err, OSError):  # urllib.error.URLError included
        what = f"{err.filename}: " if getattr(err, "filename", None) else ""
        reason = getattr(err, "reason", None) or err.strerror or err
        return Failure(f"{what}{reason}: fix that and run {target} again")
    return None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m infra.cli", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("command", choices=sorted(COMMANDS))
    p.add_argument("--stack", default="dev")
    p.add_argument("--backend", help=f"state backend URL (default: ${BACKEND_ENV}; local stacks: .pulumi-state/)")
    p.add_argument("--kind", choices=("inference", "management"), default="inference", help="token: which key")
    p.add_argument("--rotate", action="store_true", help="token: rotate the key first")
    return p


def main(argv: list[str] | None = None) -> int:
    a = parser().parse_args(argv)
    try:
        try:
            return COMMANDS[a.command](a)
        except Failure:
            raise
        except Exception as err:
            failure = explain(err, a)
            if failure is None:
                raise
            raise failure from None
    except Failure as failure:
        print(f"{a.command}: {failure}", file=sys.stderr)
        return failure.code
    except KeyboardInterrupt:
        print(f"{a.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    from infra import cli  # the importable module, whose Failure the helpers raise

    sys.exit(cli.main())
