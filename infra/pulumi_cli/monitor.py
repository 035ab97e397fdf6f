"""A resource monitor for `pulumi.runtime` mocks that refuses what the Pulumi engine refuses and, in preview mode,
answers as a real preview does.

Followed, from pulumi/pulumi (pkg/v3.259.0-14, 1b59498):
- URNs: pkg/resource/deploy/deployment.go `generateURN` and sdk/go/common/resource/urn/urn.go `New` (the parent's
  whole qualified type, the root stack's left out; the mock monitor keeps only the parent's last type);
- step_generator.go `generateURN` ("Duplicate resource URN '%v'; try giving it a unique name") and `checkParent`
  ("could not find parent resource %v"); `getOldResource` (an alias naming another resource's URN);
- source_eval.go `RegisterResource`: a custom resource's type must be a package:module:Type token
  (tokens.ParseTypeToken); hideDiffs must parse as property paths; custom timeouts must parse as Go durations
  (generateTimeoutInSeconds); `inheritFromParent` (protect, retainOnDelete, deletedWith and the provider come from
  the parent when unset); the options a component resource ignores (ignoreChanges, customTimeouts,
  additionalSecretOutputs, replaceOnChanges, replaceWith: `checkComponentOption` only logs them);
- a preview's create step: no provider Create, so the engine answers with the inputs as outputs, an empty ID
  (the SDK treats it as unknown) and nothing the provider would compute (unknown in the program).
Auto-named physical names are checked against the provider's and AWS's limits (autonames.py).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.settings import get_project, get_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from infra.pulumi_cli.autonames import autoname, autoname_problem
from infra.pulumi_cli.config_map import parse_path
from infra.pulumi_cli.values import ConfigError

ROOT_STACK = "pulumi:pulumi:Stack"
_TYPE_TOKEN = re.compile(r"[^:]+:[^:]*:[^:]+")
_DURATION = re.compile(r"[-+]?(?:0|(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+)")
IGNORED_ON_COMPONENTS = ("ignoreChanges", "customTimeouts", "additionalSecretOutputs", "replaceOnChanges",
                         "replace_with")


def is_secret(value: Any) -> bool:
    """Whether a serialized property is a secret (the SDK's rpc.serialize_property wraps it in Pulumi's marker)."""
    return isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig


def unsecret(value: Any) -> Any:
    return value["value"] if is_secret(value) else value


def path_problem(typ: str, inputs: dict[str, Any], cwd: Path) -> str | None:
    """What a provider started in `cwd` cannot find: pulumi-docker's Image resolves build.context and
    build.dockerfile against its working directory (provider/image.go dockerBuild → docker/cli
    GetContextFromLocalDir; provider.go Check stats the dockerfile); pulumi-command runs a command in `dir`, else in
    its working directory (local/commandOutputs.go run)."""
    build = inputs.get("build")
    build = unsecret(build)  # a secret build arg makes the whole `build` secret
    if typ == "docker:index/image:Image" and isinstance(build, dict):
        context = build.get("context") or "."
        dockerfile = build.get("dockerfile") or f"{context}/Dockerfile"
        if isinstance(context, str) and not (cwd / context).is_dir():
            return f"unable to prepare context: path {context!r} not found (from the provider's directory {cwd.name}/)"
        if isinstance(dockerfile, str) and not (cwd / dockerfile).is_file():
            return f"could not open dockerfile at relative path {dockerfile!r} (from {cwd.name}/)"
    if typ == "command:local:Command" and isinstance(inputs.get("dir"), str) and not (cwd / inputs["dir"]).is_dir():
        return f"dir {inputs['dir']!r} does not exist (from {cwd.name}/)"
    return None


@dataclass
class Registration:
    """What the engine knows of one registration, options as they take effect (inherited from the parent)."""

    urn: str
    typ: str
    name: str
    custom: bool
    parent: str
    protect: bool
    retain_on_delete: bool
    deleted_with: str
    options: dict[str, Any] = field(default_factory=dict)


class EngineError(Exception):
    """What the engine refuses; the deployment stops with this message."""


class EngineMonitor(pulumi_mocks.MockMonitor):  # type: ignore[misc]
    def __init__(self, mocks: Any, *, preview: bool, provider_cwd: Path | None = None) -> None:
        super().__init__(mocks)
        self.preview = preview
        self.provider_cwd = provider_cwd
        """Where the engine starts providers (the program's main directory): relative paths resolve there."""
        self.registrations: dict[str, Registration] = {}
        self.errors: list[str] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        if parent and parent.split("::")[2] != ROOT_STACK:
            type_ = parent.split("::")[2] + "$" + type_
        return "urn:pulumi:" + "::".join([get_stack(), get_project(), type_, name])

    def _refuse(self, message: str) -> None:
        self.errors.append(message)
        raise EngineError(message)

    def _options(self, request: Any, urn: str) -> Registration:
        parent = self.registrations.get(request.parent) if request.parent else None
        if request.parent and parent is None and request.parent.split("::")[2] != ROOT_STACK:
            self._refuse(f"could not find parent resource {request.parent}")
        protect = request.protect if request.HasField("protect") else bool(parent and parent.protect)
        retain = request.retainOnDelete if request.HasField("retainOnDelete") else bool(parent and parent.retain_on_delete)
        timeouts = {k: getattr(request.customTimeouts, k) for k in ("create", "update", "delete", "read")
                    if getattr(request.customTimeouts, k)}
        provider = request.provider
        if not provider and parent is not None:  # the parent's, if a component, or one of the same package
            inherited = parent.options["provider"]
            package = inherited.split("::")[2].rsplit(":", 1)[-1] if inherited.count("::") >= 3 else ""
            if not request.custom or package == request.type.split(":")[0]:
                provider = inherited
        options = {"ignoreChanges": list(request.ignoreChanges), "replaceOnChanges": list(request.replaceOnChanges),
                   "additionalSecretOutputs": list(request.additionalSecretOutputs), "customTimeouts": timeouts,
                   "replace_with": list(request.replace_with), "hideDiffs": list(request.hideDiffs),
                   "deleteBeforeReplace": request.deleteBeforeReplace, "dependencies": list(request.dependencies),
                   "aliasURNs": [*request.aliasURNs, *(self._alias_urn(request, a) for a in request.aliases)],
                   "provider": provider}
        return Registration(urn, request.type, request.name, bool(request.custom), request.parent, protect, retain,
                            request.deletedWith or (parent.deleted_with if parent else ""), options)

    def _alias_urn(self, request: Any, alias: Any) -> str:
        """step_generator.go collapseAliasToUrn: a spec's unset parts are the resource's own."""
        if alias.WhichOneof("alias") == "urn":
            return str(alias.urn)
        spec = alias.spec
        parent = "" if spec.noParent else (spec.parentUrn or request.parent)
        return self.make_urn(parent, spec.type or request.type, spec.name or request.name).replace(
            f"urn:pulumi:{get_stack()}::{get_project()}::",
            f"urn:pulumi:{spec.stack or get_stack()}::{spec.project or get_project()}::", 1)

    def _check(self, reg: Registration, inputs: dict[str, Any]) -> None:
        if reg.urn in self.registrations:
            self._refuse(f"Duplicate resource URN '{reg.urn}'; try giving it a unique name")
        for alias in reg.options["aliasURNs"]:  # the engine refuses it once the aliased resource is in the state
            if alias in self.registrations and alias != reg.urn:
                self._refuse(f"Duplicate resource alias '{alias}' applied to resource with URN '{reg.urn}' "
                             f"conflicting with resource with URN '{alias}'")
        if reg.custom and not _TYPE_TOKEN.fullmatch(reg.typ):
            self._refuse(f"ResourceMonitor.RegisterResource({reg.typ},{reg.name}): invalid type token")
        for i, path in enumerate(reg.options["hideDiffs"]):
            try:
                parse_path(path)
            except ConfigError as err:
                self._refuse(f"{i}: {err}")
        for timeout in reg.options["customTimeouts"].values():
            if not _DURATION.fullmatch(timeout):
                self._refuse(f"unable to parse customTimeout Value {timeout}")
        if not reg.custom:
            ignored = [o for o in IGNORED_ON_COMPONENTS if reg.options[o]]
            if ignored:  # the engine only logs these at verbosity 10
                self._refuse(f"{reg.urn}: the option(s) {', '.join(ignored)} have no effect on a component resource "
                             "(pulumi/pulumi#9704): set them on the child resources that need them")
        problem = autoname_problem(reg.typ, reg.name, inputs) if reg.custom else None
        if problem:
            self._refuse(f"{reg.urn}: {problem}")
        if self.provider_cwd is not None:
            problem = path_problem(reg.typ, inputs, self.provider_cwd)
            if problem:
                self._refuse(f"{reg.urn}: {problem}")

    def RegisterResource(self, request: Any) -> Any:
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == ROOT_STACK:
            return resource_pb2.RegisterResourceResponse(urn=urn)
        _ensure_event_loop()
        inputs = rpc.deserialize_properties(request.object)
        reg = self._options(request, urn)
        self._check(reg, inputs)
        self.registrations[urn] = reg
        named = autoname(request.type, urn, inputs) if request.custom else {}
        # The provider's Check adds the auto-name to the inputs it records (and previews show).
        args = pulumi_mocks.MockResourceArgs(typ=request.type, name=request.name, inputs={**inputs, **named},
                                             provider=request.provider, resource_id=request.importId,
                                             custom=request.custom or False, transforms=[])
        if self.preview:
            # A preview creates nothing: the inputs come back as they were sent (unknowns and secrets included) with
            # what the provider's Check adds (an auto-name), the ID is empty and nothing else the provider would
            # compute is there, so the program sees it unknown.
            self.mocks.record(args)
            state: Any = struct_pb2.Struct()
            state.CopyFrom(request.object)
            state.update(named)
            self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, "", {**inputs, **named})
            return resource_pb2.RegisterResourceResponse(urn=urn, id="", object=state)
        id_, outputs = self.mocks.new_resource(args)
        outputs = {**named, **outputs}  # what the mocks compute wins (e.g. a bucket named from its prefix)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, id_, outputs)
        obj = _sync_await(rpc.serialize_properties(outputs, {}))
        return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)
