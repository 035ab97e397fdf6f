"""Each component under mocks: the inputs of every child it registers."""
from pathlib import Path

import pytest
from torchserve_deploy import (
    ModelArchive,
    ModelArchiveArgs,
    ModelStore,
    ModelStoreArgs,
    TorchServeImage,
    TorchServeImageArgs,
    TorchServeServer,
    TorchServeServerArgs,
    ValidationError,
)
from torchserve_deploy.container.spec import Mount
from torchserve_deploy.image.serving import content_tag
from torchserve_deploy.model.archive import archive_command
from torchserve_deploy.serve.config_properties import ModelServing, ServerPorts

from tests.mocks import ROOT, load_model, only, run_under_mocks

DEMO = load_model(ROOT, "models/demo")


def server_args(**kw):
    base = dict(container_name="ts", image="sha256:abc", image_ref="r:t", models=(ModelServing("demo"),),
                store=Mount("/home/model-server/model-store", "/srv/models", "bind", True),
                files_dir=Path("/srv/files"))
    return TorchServeServerArgs(**{**base, **kw})


def test_server_children_and_types():
    mocks = run_under_mocks(lambda: TorchServeServer("s", server_args()))
    comp = only(mocks.resources, "torchserve:server:TorchServeServer")
    container = only(mocks.resources, "docker:index/container:Container")
    assert comp.name == "s" and container.name == "s-container"
    i = container.inputs
    assert i["shmSize"] == 1024
    assert [(u["name"], u["soft"], u["hard"]) for u in i["ulimits"]] == [("memlock", -1, -1), ("stack", 67108864, 67108864)]
    assert {(p["internal"], p["ip"]) for p in i["ports"]} == {(8080, "127.0.0.1"), (8081, "127.0.0.1"),
                                                             (8082, "127.0.0.1"), (7070, "127.0.0.1"), (7071, "127.0.0.1"),
                                                             (8090, "127.0.0.1")}
    assert i["mounts"] == [
        {"readOnly": True, "source": "/srv/models", "target": "/home/model-server/model-store", "type": "bind"},
        {"readOnly": True, "source": "/srv/files/ts/config.properties", "target": "/home/model-server/config.properties",
         "type": "bind"}]
    # Hardened: no capabilities, no privilege gain, read-only root with tmpfs where TorchServe writes.
    assert i["capabilities"] == {"drops": ["ALL"]} and i["securityOpts"] == ["no-new-privileges:true"]
    assert i["readOnly"] is True and set(i["tmpfs"]) == {"/tmp", "/run/torchserve"}
    files = only(mocks.resources, "command:local:Command").inputs
    assert files["create"] == "mkdir -p /srv/files/ts && cat > /srv/files/ts/config.properties"
    assert "disable_token_authorization=false" in files["stdin"]
    assert i["healthcheck"]["tests"] == ["CMD", "/usr/local/bin/ts-healthcheck", "demo"]
    assert i["user"] == "1000:1000" and i["restart"] == "unless-stopped"
    assert i["logOpts"] == {"max-file": "3", "max-size": "10m"} and "gpus" not in i


def test_public_inference_never_moves_management():
    """Opening inference, metrics and gRPC inference to all interfaces leaves 8081 and 7071 on loopback."""
    mocks = run_under_mocks(lambda: TorchServeServer("s", server_args(
        inference_bind="0.0.0.0", metrics_bind="0.0.0.0", grpc_inference_bind="0.0.0.0", gpus="1,2")))
    i = only(mocks.resources, "docker:index/container:Container").inputs
    binds = {p["internal"]: p["ip"] for p in i["ports"]}
    assert binds == {8080: "0.0.0.0", 8081: "127.0.0.1", 8082: "0.0.0.0", 7070: "0.0.0.0", 7071: "127.0.0.1",
                     8090: "0.0.0.0"}
    assert i["gpus"] == "device=1,2"


@pytest.mark.parametrize("kw,key", [
    (dict(gpus="0,0"), "TorchServeServerArgs.gpus"),
    (dict(host_ports=ServerPorts(inference=8081)), "TorchServeServerArgs.host_ports"),
    (dict(models=()), "TorchServeServerArgs.models"),
    (dict(models=(ModelServing("a"), ModelServing("a"))), "TorchServeServerArgs.models"),
    (dict(restart="maybe"), "TorchServeServerArgs.restart"),
    (dict(inference_bind="*"), "TorchServeServerArgs.inference_bind"),
])
def test_server_args_rejected_before_any_resource(kw, key):
    with pytest.raises(ValidationError) as err:
        server_args(**kw)
    assert err.value.key == key


def test_image_inputs(tmp_path):
    args = TorchServeImageArgs(project_root=ROOT)
    mocks = run_under_mocks(lambda: TorchServeImage("ts", args))
    image = only(mocks.resources, "docker:index/image:Image")
    assert image.name == "ts-image"
    b = image.inputs["build"]
    assert b["context"] == "components/torchserve_deploy/image/docker" and b["target"] == "production" and b["platform"] == "linux/amd64"
    assert b["args"]["TORCHSERVE_VERSION"] == "0.12.0" and b["args"]["BASE_IMAGE"] == "debian:bookworm-slim"
    assert image.inputs["skipPush"] is True
    assert image.inputs["imageName"] == f"torchserve-deploy:{content_tag(args)}"
    assert ":latest" not in image.inputs["imageName"]


def test_image_tag_follows_content(tmp_path):
    import shutil

    copy = tmp_path / "docker"
    shutil.copytree(ROOT / "components/torchserve_deploy/image/docker", copy)
    before = content_tag(TorchServeImageArgs(context_dir=copy))
    assert content_tag(TorchServeImageArgs(context_dir=copy)) == before
    assert content_tag(TorchServeImageArgs(context_dir=copy, torch_version="2.8.0")) != before
    (copy / "ts-entrypoint.sh").write_text((copy / "ts-entrypoint.sh").read_text() + "\n# changed\n")
    assert content_tag(TorchServeImageArgs(context_dir=copy)) != before


def test_archive_command_and_triggers(tmp_path):
    args = ModelArchiveArgs(source=DEMO, export_dir=ROOT / ".build/x/store", project_root=ROOT)
    assert archive_command(args) == [
        "torch-model-archiver", "--model-name", "demo", "--version", "1.0", "--model-file", "models/demo/model.py",
        "--serialized-file", "models/demo/model.pt", "--handler", "models/demo/handler.py",
        "--config-file", "models/demo/model-config.yaml", "--export-path", ".build/x/store", "--force"]
    mocks = run_under_mocks(lambda: ModelArchive("m", args))
    cmd = only(mocks.resources, "command:local:Command")
    assert cmd.name == "m-archive" and "torch-model-archiver --model-name demo" in cmd.inputs["create"]
    assert len(cmd.inputs["triggers"]) == 1 and len(cmd.inputs["triggers"][0]) == 64


def test_archive_trigger_changes_with_file_content(tmp_path):
    import shutil

    from torchserve_deploy.model.archive import content_hash

    shutil.copytree(ROOT / "models/demo", tmp_path / "demo")
    first = content_hash(load_model(tmp_path, "demo"))
    assert content_hash(load_model(tmp_path, "demo")) == first
    (tmp_path / "demo/handler.py").write_text((tmp_path / "demo/handler.py").read_text() + "\n")
    assert content_hash(load_model(tmp_path, "demo")) != first


def test_volume_store_is_retained_and_archive_published():
    def build():
        store = ModelStore("st", ModelStoreArgs(kind="volume", volume_name="ts-models", protect=True))
        ModelArchive("m", ModelArchiveArgs(source=DEMO, export_dir=ROOT / ".build/t/archives", project_root=ROOT,
                                           volume_name="ts-models", helper_image="sha256:img"))
        return store.location

    mocks = run_under_mocks(build)
    assert only(mocks.resources, "docker:index/volume:Volume").inputs["name"] == "ts-models"
    publish = [r for r in mocks.resources if r.name == "m-publish"][0]
    assert "ts-models:/home/model-server/model-store" in publish.inputs["create"]
    assert "sha256:img" in publish.inputs["create"]


def test_host_dir_store_needs_absolute_path():
    with pytest.raises(ValidationError) as err:
        ModelStoreArgs(kind="hostDir", host_path=None)
    assert err.value.key == "ModelStoreArgs.host_path"
