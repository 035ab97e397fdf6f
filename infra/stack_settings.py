"""Stack config → frozen, typed, validated settings. Read once, before any resource exists.

Every key of the project namespace is declared in `KEYS` below with its default, the one place
defaults live (tests check that Pulumi.yaml declares the same keys and defaults). Values arrive from
the engine as strings (structured values as JSON); native values are accepted too.
Any bad or unknown key raises `ValidationError` naming the key, the value, what is allowed and the fix.
"""
from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import yaml

from components import validators as v
from components.archive import ModelSource, TrainingSource
from components.training_params import TYPES, Param, resolve
from components.errors import ValidationError
from components.registry import ecr_repository_url
from components.variants import BUILD_TYPES, Variant, resolve_variant
from infra.ec2_settings import check_ec2

PROJECT = "torchserve-deploy"
MANIFEST = "torchserve-model.yaml"


@dataclass(frozen=True)
class Key:
    name: str
    type: str  # Pulumi.yaml type: string | integer | boolean | array
    default: Any
    description: str


KEYS: tuple[Key, ...] = (
    Key("host", "string", "local", "Where the server runs: local (the Docker host pulumi talks to) or ec2 (a GPU instance the stack creates)."),
    Key("models", "array", ["models/demo"], "Model directories (relative to the repo root), each with a torchserve-model.yaml."),
    Key("imageRepository", "string", "torchserve-deploy", "Repository name of the TorchServe image (local, or the ECR repository created)."),
    Key("buildType", "string", "production", "Image build type: production (serves), dev (TorchServe from source, serves) or codebuild (CI image only, no server)."),
    Key("accelerator", "string", "cpu", "Image variant: cpu or cuda."),
    Key("cudaVersion", "string", "", "CUDA variant when accelerator is cuda: cu118, cu121, cu124, cu126 or cu128."),
    Key("baseImage", "string", "", "Base image; empty means the variant's (debian:bookworm-slim or nvidia/cuda:*-base)."),
    Key("torchserveVersion", "string", "0.12.0", "torchserve and torch-model-archiver version in the image."),
    Key("torchVersion", "string", "", "torch version; empty means the variant's default (CPU: 2.13.0)."),
    Key("pythonVersion", "string", "", "Python in the image; empty means the base distribution's (3.11 / 3.10 / 3.12)."),
    Key("pipIndexUrl", "string", "https://pypi.org/simple", "Package index for the image build."),
    Key("torchIndexUrl", "string", "", "torch wheel index; empty means download.pytorch.org/whl/<cpu or cuXXX>."),
    Key("platform", "string", "linux/amd64", "Image platform: linux/amd64, or linux/arm64 for CPU images."),
    Key("extraPipPackages", "array", [], "Pinned pip requirements added to the image, e.g. torchvision==0.28.0."),
    Key("extraAptPackages", "array", [], "Distribution packages added to the image, e.g. libgl1."),
    Key("imageTags", "array", [], "Custom tags beside the content-addressed one (never latest by default)."),
    Key("imagePush", "boolean", False, "Push the image to ECR (for remote hosts)."),
    Key("ecrRepository", "string", "", "ECR repository URL or ARN to push to; empty with imagePush creates one."),
    Key("devSourceRepo", "string", "https://github.com/pytorch/serve.git", "Git repository TorchServe is built from (buildType dev)."),
    Key("devSourceRef", "string", "v0.12.0", "Branch, tag or commit of devSourceRepo (buildType dev)."),
    Key("modelStore", "string", "hostDir", "Model store kind: hostDir or volume (local host), ebs (ec2 host)."),
    Key("modelStorePath", "string", "", "hostDir store path; empty means .build/<stack>/model-store in the repo."),
    Key("modelStoreVolume", "string", "", "volume store name; empty means torchserve-<stack>-models."),
    Key("protectModelStore", "boolean", False, "Protect the model-store volume from pulumi destroy."),
    Key("containerName", "string", "", "Container name; empty means torchserve-<stack>."),
    Key("inferenceBind", "string", "127.0.0.1", "Host address the inference port 8080 is published on."),
    Key("metricsBind", "string", "127.0.0.1", "Host address the metrics port 8082 is published on."),
    Key("grpcInferenceBind", "string", "127.0.0.1", "Host address the gRPC inference port 7070 is published on."),
    Key("inferencePort", "integer", 8080, "Host port for inference."),
    Key("managementPort", "integer", 8081, "Host port for management (always on 127.0.0.1)."),
    Key("metricsPort", "integer", 8082, "Host port for metrics."),
    Key("grpcInferencePort", "integer", 7070, "Host port for gRPC inference."),
    Key("grpcManagementPort", "integer", 7071, "Host port for gRPC management (always on 127.0.0.1)."),
    Key("shmSize", "string", "1g", "Size of /dev/shm, e.g. 512m or 1g."),
    Key("ulimitMemlock", "integer", -1, "memlock ulimit (soft = hard); -1 is unlimited."),
    Key("ulimitStack", "integer", 67108864, "stack ulimit in bytes (soft = hard)."),
    Key("gpus", "string", "", 'GPUs for the container: "" (none), "all", or device indexes like "1,2".'),
    Key("train", "boolean", False, "Train the models that declare a trainer, and serve the trained checkpoint."),
    Key("trainingParams", "array", [], "Trainer parameters as <model>.<param>=<value>, checked against the model's schema."),
    Key("trainingOutputsPath", "string", "", "Training outputs directory; empty means .build/<stack>/training in the repo."),
    Key("workersPerModel", "integer", 1, "Workers per model (min = max)."),
    Key("batchSize", "integer", 4, "Dynamic batch size per model."),
    Key("maxBatchDelayMs", "integer", 5, "Longest wait to fill a batch, in ms."),
    Key("responseTimeoutS", "integer", 120, "Seconds a worker may take for one batch."),
    Key("tokenAuth", "boolean", True, "TorchServe token authorization (turning it off prints a warning)."),
    Key("tokenExpirationMin", "integer", 60, "Minutes an inference/management key lives."),
    Key("restartPolicy", "string", "unless-stopped", "Container restart policy (local host; systemd restarts it on ec2)."),
    Key("instanceType", "string", "g4dn.xlarge", "ec2: GPU instance type (families g4dn, g5, g6, gr6, g6e, p4d, p4de, p5, p5e, p5en, p3)."),
    Key("amiRoute", "string", "dlami", "ec2: dlami (Deep Learning Base OSS Nvidia Driver AMI) or ubuntu (plain Ubuntu + driver install)."),
    Key("amiId", "string", "", "ec2: pinned AMI ID; empty resolves the route's SSM parameter once and ignores later moves."),
    Key("ubuntuVersion", "string", "24.04", "ec2: Ubuntu release of the AMI (22.04 or 24.04)."),
    Key("nvidiaDriverBranch", "string", "580", "ec2, ubuntu route: NVIDIA server driver branch."),
    Key("subnetId", "string", "", "ec2: subnet for the instance; empty means the default VPC's default subnet."),
    Key("rootVolumeGb", "integer", 100, "ec2: encrypted gp3 root volume size (the DLAMI needs at least 75)."),
    Key("modelStoreGb", "integer", 50, "ec2: size of the encrypted gp3 EBS model store."),
    Key("modelStoreIops", "integer", 3000, "ec2: model store IOPS (3000 to 16000)."),
    Key("modelStoreThroughputMbs", "integer", 125, "ec2: model store throughput in MiB/s (125 to 1000)."),
    Key("inferenceCidrs", "array", [], "ec2: CIDRs allowed to reach 8080."),
    Key("inferenceSecurityGroupId", "string", "", "ec2: a load balancer's security group allowed to reach 8080."),
    Key("metricsCidr", "string", "", "ec2: the monitoring CIDR allowed to reach 8082; empty keeps metrics on loopback."),
    Key("sshCidrs", "array", [], "ec2: admin CIDRs allowed on port 22 (default none: use Session Manager)."),
    Key("protectData", "boolean", False, "ec2: protect and keep the EBS model store and model bucket (prod)."),
    Key("logRetentionDays", "integer", 30, "ec2: CloudWatch retention of the container logs."),
    Key("kmsKeyId", "string", "", "ec2: KMS key for the volumes and bucket; empty uses AWS-managed encryption."),
    Key("logMaxSize", "string", "10m", "Container log file size before rotation."),
    Key("logMaxFiles", "integer", 3, "Rotated container log files kept."),
)
KEY_NAMES = tuple(k.name for k in KEYS)


def _full(key: str) -> str:
    return f"{PROJECT}:{key}"


def _fix(key: str, example: str) -> str:
    return f"pulumi config set {_full(key)} {example}"


def _as_int(key: str, raw: Any, example: str) -> int:
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip().lstrip("-").isdigit():
        return int(raw)
    raise ValidationError(_full(key), raw, "an integer", _fix(key, example))


def _as_bool(key: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if raw in ("true", "false"):
        return raw == "true"
    raise ValidationError(_full(key), raw, "true or false", _fix(key, "true"))


def _as_list(key: str, raw: Any) -> list:
    value = raw
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except json.JSONDecodeError:
            value = None
    if not isinstance(value, list) or not all(isinstance(i, str) for i in value):
        raise ValidationError(_full(key), raw, "a list of strings", f"in the stack file: {_full(key)}: [models/demo]")
    return value


def _as_str(key: str, raw: Any) -> str:
    if not isinstance(raw, str):
        raise ValidationError(_full(key), raw, "a string", _fix(key, '"<value>"'))
    return raw


@dataclass(frozen=True)
class Settings:
    """The stack's validated settings; `raw` keeps the parsed values by key name."""

    stack: str
    root: Path
    raw: dict[str, Any]
    models: tuple[ModelSource, ...]
    training_values: dict[str, dict[str, Any]]
    """Per trained model: its parameter values (schema defaults + trainingParams)."""
    variant: Variant
    shm_size_mb: int
    log_max_size_mb: int
    gpus: str | None

    def __getitem__(self, key: str) -> Any:
        return self.raw[key]

    @property
    def container_name(self) -> str:
        return self.raw["containerName"] or f"torchserve-{self.stack}"

    @property
    def store_path(self) -> Path:
        path = Path(self.raw["modelStorePath"] or f".build/{self.stack}/model-store")
        return path if path.is_absolute() else self.root / path

    @property
    def training_outputs(self) -> Path:
        path = Path(self.raw["trainingOutputsPath"] or f".build/{self.stack}/training")
        return path if path.is_absolute() else self.root / path

    @property
    def store_volume(self) -> str:
        return self.raw["modelStoreVolume"] or f"torchserve-{self.stack}-models"


def _parse_raw(config: dict[str, Any]) -> dict[str, Any]:
    prefix = PROJECT + ":"
    ours = {k[len(prefix):]: val for k, val in config.items() if k.startswith(prefix)}
    for key in sorted(ours):
        if key not in KEY_NAMES:
            near = difflib.get_close_matches(key, KEY_NAMES, n=1)
            hint = f"did you mean {_full(near[0])}?" if near else f"remove it: pulumi config rm {_full(key)}"
            raise ValidationError(_full(key), ours[key], "a key declared in Pulumi.yaml (see README)", hint)
    parsed: dict[str, Any] = {}
    for k in KEYS:
        raw = ours.get(k.name, k.default)
        if k.type == "integer":
            parsed[k.name] = _as_int(k.name, raw, str(k.default))
        elif k.type == "boolean":
            parsed[k.name] = _as_bool(k.name, raw)
        elif k.type == "array":
            parsed[k.name] = _as_list(k.name, raw)
        else:
            parsed[k.name] = _as_str(k.name, raw)
    return parsed


_MANIFEST_FIELDS = {"name", "version", "handler", "modelFile", "serializedFile", "extraFiles", "requirementsFile",
                    "configFile", "training"}
_TRAINING_FIELDS = {"source", "entrypoint", "requirements", "data", "checkpoint", "params"}


def _training(directory: Path, where: str, data: Any) -> TrainingSource:
    if not isinstance(data, dict) or sorted(set(data) - _TRAINING_FIELDS):
        extra = sorted(set(data) - _TRAINING_FIELDS) if isinstance(data, dict) else data
        raise ValidationError(f"{where}: training", extra, "fields " + ", ".join(sorted(_TRAINING_FIELDS)),
                              "fix the training section")
    source = (directory / str(data.get("source", "."))).resolve()
    for field, default in (("entrypoint", "main.py"), ("requirements", "requirements.txt")):
        if not (source / str(data.get(field, default))).is_file():
            raise ValidationError(f"{where}: training.{field}", data.get(field, default),
                                  f"a file in the training source {source.name}/", f"fix training.{field} in {where}")
    data_dir = directory / str(data.get("data", "data"))
    if not data_dir.is_dir():
        raise ValidationError(f"{where}: training.data", data.get("data", "data"), "an existing data directory",
                              f"create it or fix training.data in {where}")
    params = []
    for name, spec in (data.get("params") or {}).items():
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in TYPES:
            raise ValidationError(f"{where}: training.params.{name}", spec, "{type: one of " + ", ".join(TYPES)
                                  + ", default: ...}", f"declare training.params.{name}.type")
        params.append(Param(name, kind, spec.get("default")))
    return TrainingSource(source_dir=source, entrypoint=str(data.get("entrypoint", "main.py")),
                          requirements=str(data.get("requirements", "requirements.txt")), data_dir=data_dir,
                          checkpoint=str(data.get("checkpoint", "model.pt")), params=tuple(params))


def load_model(root: Path, rel: str) -> ModelSource:
    """Read `<rel>/torchserve-model.yaml` (paths inside are relative to that directory)."""
    key = _full("models")
    directory = (root / rel).resolve()
    manifest = directory / MANIFEST
    if not manifest.is_file():
        raise ValidationError(key, rel, f"a directory (relative to the repo root) holding {MANIFEST}",
                              f"create {rel}/{MANIFEST} or fix the path; see models/demo/{MANIFEST}")
    data = yaml.safe_load(manifest.read_text()) or {}
    unknown = sorted(set(data) - _MANIFEST_FIELDS) if isinstance(data, dict) else ["<not a mapping>"]
    if unknown:
        raise ValidationError(f"{rel}/{MANIFEST}", unknown, "fields " + ", ".join(sorted(_MANIFEST_FIELDS)),
                              "remove or rename the unknown fields")
    where = f"{rel}/{MANIFEST}"
    for required in ("name", "handler"):
        if not data.get(required):
            raise ValidationError(f"{where}: {required}", None, "a value", f"add {required}: to {where}")

    def file(field: str) -> Path | None:
        value = data.get(field)
        if value is None:
            return None
        path = directory / str(value)
        if not path.is_file():
            raise ValidationError(f"{where}: {field}", value, f"a file inside {rel}", f"fix {field} in {where}")
        return path

    extra = data.get("extraFiles") or []
    if not isinstance(extra, list):
        raise ValidationError(f"{where}: extraFiles", extra, "a list of file names", "write extraFiles: [a.json]")
    extra_paths = tuple(directory / str(e) for e in extra)
    for name, path in zip(extra, extra_paths):
        if not path.is_file():
            raise ValidationError(f"{where}: extraFiles", name, f"files inside {rel}", f"fix extraFiles in {where}")
    return ModelSource(
        name=v.model_name(f"{where}: name", data["name"]),
        version=str(data.get("version", "1.0")),
        handler=file("handler"),  # type: ignore[arg-type]
        model_file=file("modelFile"),
        serialized_file=file("serializedFile"),
        extra_files=extra_paths,
        requirements_file=file("requirementsFile"),
        config_file=file("configFile"),
        training=_training(directory, where, data["training"]) if "training" in data else None,
    )


def load_settings(config: dict[str, Any], *, stack: str, root: Path) -> Settings:
    """Parse and validate everything; raises ValidationError on the first bad key."""
    raw = _parse_raw(config)
    f = _full
    v.one_of(f("host"), raw["host"], ("local", "ec2"))
    v.one_of(f("buildType"), raw["buildType"], BUILD_TYPES)
    v.pinned_requirements(f("extraPipPackages"), raw["extraPipPackages"])
    v.apt_packages(f("extraAptPackages"), raw["extraAptPackages"])
    v.docker_tags(f("imageTags"), raw["imageTags"])
    if raw["pythonVersion"]:
        v.python_version(f("pythonVersion"), raw["pythonVersion"])
    if raw["ecrRepository"]:
        if not raw["imagePush"]:
            raise ValidationError(f("ecrRepository"), raw["ecrRepository"], "a repository only when imagePush is true",
                                  f"pulumi config set {f('imagePush')} true, or clear {f('ecrRepository')}")
        ecr_repository_url(f("ecrRepository"), raw["ecrRepository"])
    variant = resolve_variant(accelerator=raw["accelerator"], cuda_version=raw["cudaVersion"] or None,
                              torch_version=raw["torchVersion"] or None, platform=raw["platform"],
                              key_prefix=PROJECT + ":")
    v.one_of(f("modelStore"), raw["modelStore"], ("ebs",) if raw["host"] == "ec2" else ("hostDir", "volume"))
    v.one_of(f("restartPolicy"), raw["restartPolicy"], v.RESTART_POLICIES)
    ports = {name: v.port(f(name), raw[name]) for name in
             ("inferencePort", "managementPort", "metricsPort", "grpcInferencePort", "grpcManagementPort")}
    v.distinct_ports(f("*Port"), ports)
    for name in ("inferenceBind", "metricsBind", "grpcInferenceBind"):
        v.bind_address(f(name), raw[name])
    if raw["ulimitMemlock"] != -1:
        v.int_range(f("ulimitMemlock"), raw["ulimitMemlock"], 65536, 2**62, "-1 (unlimited)")
    v.int_range(f("ulimitStack"), raw["ulimitStack"], 1048576, 2**40, "67108864")
    v.int_range(f("workersPerModel"), raw["workersPerModel"], 1, 64, "1")
    v.int_range(f("batchSize"), raw["batchSize"], 1, 1024, "4")
    v.int_range(f("maxBatchDelayMs"), raw["maxBatchDelayMs"], 0, 60000, "5")
    v.int_range(f("responseTimeoutS"), raw["responseTimeoutS"], 1, 86400, "120")
    v.int_range(f("tokenExpirationMin"), raw["tokenExpirationMin"], 1, 525600, "60")
    v.int_range(f("logMaxFiles"), raw["logMaxFiles"], 1, 100, "3")
    if not raw["models"]:
        raise ValidationError(f("models"), [], "at least one model directory", f"{f('models')}: [models/demo]")
    models = tuple(load_model(root, rel) for rel in raw["models"])
    v.unique(f("models"), [m.name for m in models])
    training_values = _training_values(raw, models)
    gpus = _gpus_for(variant, v.gpus(f("gpus"), raw["gpus"]))
    if raw["host"] == "ec2":
        check_ec2(raw, variant, gpus, config)
    return Settings(
        stack=stack,
        root=root,
        raw=raw,
        models=models,
        training_values=training_values,
        variant=variant,
        shm_size_mb=v.size_to_mb(f("shmSize"), raw["shmSize"]),
        log_max_size_mb=v.size_to_mb(f("logMaxSize"), raw["logMaxSize"]),
        gpus=gpus,
    )


def _training_values(raw: dict[str, Any], models: tuple[ModelSource, ...]) -> dict[str, dict[str, Any]]:
    key = _full("trainingParams")
    trained = {m.name: m for m in models if m.training is not None} if raw["train"] else {}
    overrides: dict[str, dict[str, str]] = {name: {} for name in trained}
    for item in raw["trainingParams"]:
        model, dot, rest = item.partition(".")
        name, eq, value = rest.partition("=")
        if not (dot and eq and name):
            raise ValidationError(key, item, "items like <model>.<param>=<value>", "write e.g. demo.epochs=5")
        if model not in trained:
            allowed = ", ".join(sorted(trained)) or f"none (set {_full('train')} true; the model must declare training)"
            raise ValidationError(key, item, f"parameters of trained models: {allowed}", f"remove {item!r}")
        overrides[model][name] = value
    return {name: resolve(m.training.params, overrides[name], key, name) for name, m in trained.items()}


def _gpus_for(variant: Variant, gpus: str | None) -> str | None:
    if gpus is not None and variant.accelerator != "cuda":
        raise ValidationError(_full("gpus"), gpus, "no GPUs for a cpu image (its torch has no CUDA)",
                              f"set {_full('accelerator')} to cuda with a {_full('cudaVersion')}, or clear {_full('gpus')}")
    return gpus
