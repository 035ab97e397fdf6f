"""The CUDA/torch matrix (pure) and the image each variant declares under mocks."""
import re

import pytest
from torchserve_deploy import TorchServeImage, TorchServeImageArgs, ValidationError
from torchserve_deploy.image.variants import CUDA_VARIANTS, RETIRED_CUDA, resolve_variant

from infra.settings import load_settings
from tests.dockerfile import stages, target_args
from tests.mocks import ROOT, evaluate_program, named, only, run_under_mocks

P = "torchserve-deploy:"
REQUIRED = ("cu118", "cu121", "cu124", "cu126", "cu128")


def test_matrix_covers_the_required_variants():
    assert set(REQUIRED) <= set(CUDA_VARIANTS)
    for name, var in CUDA_VARIANTS.items():
        assert var.base_image.startswith(f"nvidia/cuda:{name[2:-1]}.{name[-1]}.") and "-base-ubuntu" in var.base_image
        assert var.torch_index == f"https://download.pytorch.org/whl/{name}"
        assert re.fullmatch(r"\d{3}\.\d+(\.\d+)?", var.min_driver)
        assert var.python_version == ("3.12" if "ubuntu24.04" in var.base_image else "3.10")


def test_min_driver_grows_with_cuda():
    drivers = [tuple(int(x) for x in CUDA_VARIANTS[n].min_driver.split(".")) for n in REQUIRED]
    assert drivers == sorted(drivers)


@pytest.mark.parametrize("old", RETIRED_CUDA)
def test_retired_cuda_versions_are_refused_with_the_supported_list(old):
    with pytest.raises(ValidationError) as err:
        load_settings({P + "accelerator": "cuda", P + "cudaVersion": old}, stack="dev", root=ROOT)
    assert str(err.value) == (f"{P}cudaVersion: {old!r} is not valid. Allowed: one of cu118, cu121, cu124, cu126, cu128 "
                              f"(retired: no current torch publishes it). Fix: set {P}cudaVersion to cu128")


def test_unpublished_torch_cuda_pair_is_refused():
    with pytest.raises(ValidationError) as err:
        load_settings({P + "accelerator": "cuda", P + "cudaVersion": "cu121", P + "torchVersion": "2.8.0"},
                      stack="dev", root=ROOT)
    assert str(err.value) == (f"{P}torchVersion: '2.8.0' is not valid. Allowed: a torch release that publishes cu121: "
                              f"2.4.1, 2.5.1. Fix: set {P}torchVersion to 2.5.1 or pick another cudaVersion")


@pytest.mark.parametrize("config,key", [
    ({"accelerator": "gpu"}, "accelerator"),
    ({"accelerator": "cuda"}, "cudaVersion"),
    ({"cudaVersion": "cu128"}, "cudaVersion"),
    ({"accelerator": "cuda", "cudaVersion": "cu128", "platform": "linux/arm64"}, "platform"),
    ({"gpus": "all"}, "gpus"),
])
def test_inconsistent_accelerator_settings(config, key):
    with pytest.raises(ValidationError) as err:
        load_settings({P + k: v for k, v in config.items()}, stack="dev", root=ROOT)
    assert err.value.key == P + key


def test_order_of_settings_does_not_matter():
    a = {P + "gpus": "0", P + "cudaVersion": "cu118", P + "accelerator": "cuda"}
    b = dict(reversed(list(a.items())))
    assert load_settings(a, stack="dev", root=ROOT).variant == load_settings(b, stack="dev", root=ROOT).variant
    assert resolve_variant(accelerator="cuda", cuda_version="cu118", torch_version=None, platform="linux/amd64") \
        == load_settings(a, stack="dev", root=ROOT).variant


DOCKERFILE = ROOT / "components/torchserve_deploy/image/docker/Dockerfile"
MATRIX = [(bt, acc, cuda) for bt in ("production", "dev", "codebuild")
          for acc, cuda in [("cpu", None)] + [("cuda", c) for c in REQUIRED]]


@pytest.mark.parametrize("build_type,accelerator,cuda", MATRIX)
def test_every_build_type_and_variant_renders_what_a_real_build_needs(build_type, accelerator, cuda):
    args = TorchServeImageArgs(build_type=build_type, accelerator=accelerator, cuda_version=cuda, project_root=ROOT)
    image = only(run_under_mocks(lambda: TorchServeImage("ts", args)).resources, "docker:index/image:Image").inputs
    build = image["build"]
    assert build["target"] == build_type and build["context"] == "components/torchserve_deploy/image/docker"
    # Every ARG the target's stages read is given, and nothing the target ignores.
    assert set(build["args"]) == target_args(DOCKERFILE, build_type)
    var = resolve_variant(accelerator=accelerator, cuda_version=cuda, torch_version=None, platform="linux/amd64")
    assert build["args"]["BASE_IMAGE"] == var.base_image
    assert build["args"]["TORCH_INDEX_URL"] == var.torch_index
    assert build["args"]["TORCH_VERSION"] == var.torch_version
    assert build["args"]["PYTHON_VERSION"] == var.python_version
    assert build["platform"] == "linux/amd64" and image["skipPush"] is True
    kind = "" if build_type == "production" else f"-{build_type}"
    assert re.fullmatch(rf"torchserve-deploy:0\.12\.0-{cuda or 'cpu'}{kind}-[0-9a-f]{{12}}", image["imageName"])
    if build_type == "dev":
        assert build["args"]["TS_REPO_URL"] == "https://github.com/pytorch/serve.git"
        assert build["args"]["TS_REF"] == "v0.12.0"


def test_dev_source_fetch_is_a_build_arg():
    args = TorchServeImageArgs(build_type="dev", dev_source_repo="https://example.org/fork/serve.git",
                               dev_source_ref="my-branch")
    assert args.build_args()["TS_REPO_URL"] == "https://example.org/fork/serve.git"
    assert args.build_args()["TS_REF"] == "my-branch"
    assert "TS_REF" not in TorchServeImageArgs().build_args()


def test_production_final_stage_has_no_jdk_or_compilers():
    _, table = stages(DOCKERFILE)
    text = DOCKERFILE.read_text()
    runtime = text[text.index("AS runtime"):text.index("AS production")]
    # Java comes as the jlink'd runtime; no Debian JRE or JDK package is installed in the runtime.
    assert "COPY --from=java-runtime /opt/java /opt/java" in runtime
    for forbidden in ("openjdk", "-jdk", "build-essential", "gcc", "g++"):
        assert forbidden not in runtime, forbidden
    assert table["production"]["from"] == "runtime" and table["production"]["copies"] == {"builder"}
    assert table["runtime"]["copies"] == {"java-runtime"}


def test_cuda_stack_with_gpus_renders_device_list():
    resources = evaluate_program("dev", {"accelerator": "cuda", "cudaVersion": "cu124", "gpus": "1,2"})
    assert only(resources, "docker:index/container:Container").inputs["gpus"] == "device=1,2"
    assert named(resources, "torchserve-image").inputs["build"]["args"]["BASE_IMAGE"] == \
        "nvidia/cuda:12.4.1-base-ubuntu22.04"


def test_same_inputs_same_tag_twice():
    first = named(evaluate_program("dev"), "torchserve-image").inputs
    second = named(evaluate_program("dev"), "torchserve-image").inputs
    assert first == second


def test_arm64_cpu_image_renders_its_platform():
    resources = evaluate_program("dev", {"platform": "linux/arm64"})
    build = named(resources, "torchserve-image").inputs["build"]
    assert build["platform"] == "linux/arm64" and build["args"]["TORCH_INDEX_URL"].endswith("/cpu")


def test_the_image_makes_each_tmpfs_directory_with_the_mode_and_owner_the_spec_declares():
    """Docker gives a tmpfs the mode of the image directory it covers, whatever mode= says (declared 0700 showed
    0755): so the runtime stage must create each hardened tmpfs directory with the spec's mode, uid and gid. The
    base image's /tmp (1777, root) is the one directory it need not make. The real container is compared in
    tests/test_docker_dev.py::test_declared_is_realized."""
    from torchserve_deploy.serve.server import HARDENED_TMPFS

    runtime = DOCKERFILE.read_text().split("AS runtime", 1)[1]
    made = {m["path"]: (m["mode"], m["uid"], m["gid"])
            for m in re.finditer(r"install -d -m (?P<mode>[0-7]+) -o (?P<uid>\d+) -g (?P<gid>\d+) (?P<path>/\S+)", runtime)}
    for t in HARDENED_TMPFS:
        opts = dict(o.split("=", 1) for o in t.options.split(",") if "=" in o)
        declared = (int(opts["mode"], 8), opts.get("uid", "0"), opts.get("gid", "0"))
        if t.path not in made:
            assert (t.path, declared) == ("/tmp", (0o1777, "0", "0")), f"the image does not create {t.path}"
            continue
        mode, uid, gid = made[t.path]
        assert (int(mode, 8), uid, gid) == declared, t.path
