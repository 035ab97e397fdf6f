"""Evaluate components and the whole program offline, under `pulumi.runtime` mocks, recording every
registration: the test suite's middle layers, `make snapshot`, the tuner and the Makefile's helpers use it
(no Pulumi CLI needed).

The program gets exactly what the Pulumi CLI would hand it (infra/pulumi_cli): the stack file read as yaml.v3
reads it, Pulumi.yaml's defaults merged in, declared types checked, every value a string, secrets decrypted
and listed. It runs from inside infra/ under a monitor that refuses what the engine refuses (duplicate URNs,
names AWS cannot take, ...) and, in preview mode, leaves unknown what a real preview leaves unknown.
"""
from __future__ import annotations

import base64
import json
import os
import runpy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pulumi
from torchserve_deploy.constants import PROJECT
from torchserve_deploy.errors import ValidationError

from infra.pulumi_cli import goyaml
from infra.pulumi_cli.config_map import decrypt, secure_keys
from infra.pulumi_cli.monitor import EngineError, EngineMonitor
from infra.pulumi_cli.project import Project, load_project, merge_config, program_dir, stack_from_yaml
from infra.recording import RecordingMocks, Registered
from infra.settings import Settings, load_settings

ROOT = Path(__file__).resolve().parent.parent
# A stack file's ciphertext cannot be decrypted here (its passphrase or KMS key is not): it decrypts to this,
# valid for the keys that may hold secrets (URLs); values encrypted by this harness decrypt to themselves.
SECRET_PLACEHOLDER = "https://secret.invalid/simple"
OFFLINE_CIPHER = "offline:"
REMOVE = object()
"""An override that takes the key out of the stack file."""


class LateRefusal(Exception):
    """The program failed after resources were registered (inside an apply, or in a late component)."""


def _encrypt(text: str) -> str:
    return OFFLINE_CIPHER + base64.b64encode(text.encode()).decode()


def _decrypt(ciphertext: str) -> str:
    if ciphertext.startswith(OFFLINE_CIPHER):
        return base64.b64decode(ciphertext[len(OFFLINE_CIPHER):]).decode()
    return SECRET_PLACEHOLDER


def secret(text: str) -> dict[str, str]:
    """What `pulumi config set --secret` writes into a stack file for `text`, with this harness's cipher."""
    return {"secure": _encrypt(text)}


@cache
def project() -> Project:
    """Pulumi.yaml as the CLI loads it."""
    return load_project((ROOT / "Pulumi.yaml").read_text(encoding="utf-8"))


# Where the CLI starts the program and its providers (Pulumi.yaml main: infra/); infra.plan.PROVIDER_CWD, the
# program's own account of it, is held to this by tests/test_engine_monitor.py.
INFRA = program_dir(ROOT, project().main)


def committed_stacks() -> list[str]:
    return sorted(p.name[len("Pulumi."):-len(".yaml")] for p in (ROOT / "stacks").glob("Pulumi.*.yaml"))


def stack_file_text(stack: str) -> str:
    """The committed stack file (the one place this harness reads it)."""
    path = ROOT / "stacks" / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        known = ", ".join(committed_stacks())
        raise ValidationError("stack", stack, f"a committed stack: {known}", f"use STACK=<one of {known}>")
    return path.read_text(encoding="utf-8")


def _stack_yaml(stack: str, text: str | None) -> Any:
    where = f"stacks/Pulumi.{stack}.yaml"
    try:
        data = goyaml.load(stack_file_text(stack) if text is None else text)
    except goyaml.GoYamlError as err:
        raise ValidationError(where, str(err), "YAML the Pulumi CLI reads (each key once)", f"fix {where}") from None
    if data is not None and (not isinstance(data, dict) or not isinstance(data.get("config") or {}, dict)):
        raise ValidationError(where, "(its top level)", "a mapping with a `config:` mapping",
                              "keep the file as `pulumi config set` writes it: config: {key: value, ...}")
    return data or {}


def stack_config(stack: str, text: str | None = None) -> dict[str, Any]:
    """The stack file's own config block as written (yaml.v3's reading of it); `text` stands in for the file's
    content (a change about to be written)."""
    return dict(_stack_yaml(stack, text).get("config") or {})


def stack_environments(stack: str, text: str | None = None) -> Any:
    """The ESC environments the stack file imports (its `environment:`), or None."""
    return _stack_yaml(stack, text).get("environment")


@dataclass(frozen=True)
class EngineConfig:
    """What the language host hands the program: every key a string, and the keys holding secrets."""

    values: dict[str, str]
    secret_keys: frozenset[str]
    warnings: tuple[str, ...] = ()


def engine_config(stack: str, overrides: Mapping[str, Any] | None = None, *, text: str | None = None,
                  environment: Mapping[str, Any] | None = None, validate: bool = True) -> EngineConfig:
    """The stack's config as the CLI merges and hands it over. `overrides` ({short or full key: value as YAML
    would decode it, or REMOVE}) edit the stack file first; `environment` is the pulumiConfig of the ESC
    environments it imports (they cannot be opened here, so a stack importing one needs it); `validate=False`
    is `--skip-config-validation`. Raises ConfigError for what the CLI refuses before the program runs."""
    data = _stack_yaml(stack, text)
    config = dict(data.get("config") or {})
    for key, value in (overrides or {}).items():
        full = key if ":" in key else f"{PROJECT}:{key}"
        if value is REMOVE:
            config.pop(full, None)
        else:
            config[full] = value
    if data.get("environment") is not None and environment is None:
        raise ValidationError(f"stacks/Pulumi.{stack}.yaml", "environment: " + json.dumps(data["environment"]),
                              "no ESC environment here: its values cannot be opened without Pulumi Cloud",
                              "evaluate the stack with the environment's pulumiConfig, or with the Pulumi CLI")
    parsed = stack_from_yaml(project(), {**data, "config": config})
    merge_config(stack, project(), parsed.config, environment=environment, encrypt=_encrypt, decrypt=_decrypt,
                 validate=validate)
    return EngineConfig(decrypt(parsed.config, _decrypt), frozenset(secure_keys(parsed.config)),
                        tuple(parsed.warnings))


def stack_host(stack: str) -> str:
    """The host the program will see: the stack's, else Pulumi.yaml's default."""
    return engine_config(stack).values[f"{PROJECT}:host"]


def stack_settings(stack: str, text: str | None = None) -> Settings:
    """The committed stack's settings, validated (`text`: the stack file's content about to be written)."""
    cfg = engine_config(stack, text=text)
    return load_settings(cfg.values, stack=stack, root=ROOT, secret_keys=cfg.secret_keys)


def run_under_mocks(fn: Callable[[], Any], *, stack: str = "test", config: Mapping[str, str] | None = None,
                    mocks: RecordingMocks | None = None, secret_keys: frozenset[str] = frozenset(),
                    preview: bool = False, provider_cwd: Path | None = None) -> RecordingMocks:
    """`fn` under the engine-faithful monitor with exactly `config` (full keys → strings, as the engine sends);
    `provider_cwd`: where the engine would start the providers (relative paths in inputs are checked from there)."""
    mocks = mocks or RecordingMocks()
    mocks.monitor = EngineMonitor(mocks, preview=preview, provider_cwd=provider_cwd)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=mocks.monitor)
    pulumi.runtime.set_all_config(dict(config or {}), sorted(secret_keys))

    @pulumi.runtime.test
    def body():
        return fn()

    try:
        body()
    except Exception as err:
        if mocks.monitor.errors:  # the engine's refusal, not what it left behind in the program
            raise EngineError(mocks.monitor.errors[0]) from None
        if mocks.resources:  # a real `up` would stop here with these already created: a half-built stack
            raise LateRefusal(f"the program failed after {len(mocks.resources)} resources were registered "
                              f"({type(err).__name__}: {str(err)[:300]}): every check must run before the "
                              "first resource") from err
        raise
    if mocks.monitor.errors:
        raise EngineError(mocks.monitor.errors[0])
    return mocks


def program_in(directory: Path) -> Callable[[], None]:
    """A Pulumi program folder's __main__.py, run from inside the folder as the language host runs it."""
    def program() -> None:
        cwd = os.getcwd()
        os.chdir(directory)
        try:
            runpy.run_path(str(directory / "__main__.py"), run_name="__main__")
        finally:
            os.chdir(cwd)
    return program


def run_program(stack: str, config: EngineConfig, *, mocks: RecordingMocks | None = None,
                preview: bool = False) -> RecordingMocks:
    """infra/__main__.py under mocks with exactly `config`, from inside infra/ as the engine runs it."""
    return run_under_mocks(program_in(INFRA), stack=stack, config=config.values, mocks=mocks, secret_keys=config.secret_keys,
                           preview=preview, provider_cwd=INFRA)


def evaluate_program(stack: str, overrides: Mapping[str, Any] | None = None, mocks: RecordingMocks | None = None,
                     *, preview: bool = False, environment: Mapping[str, Any] | None = None) -> list[Registered]:
    """A committed stack (with `overrides` in its stack file) as `pulumi up` (or `pulumi preview`) runs it.
    Pass `mocks` to see what was registered even when the program fails."""
    return run_program(stack, engine_config(stack, overrides, environment=environment), mocks=mocks,
                       preview=preview).resources
