"""docker-compose rendering: golden file for the dev stack (pure), and the rendered file run by
Debian's docker-compose 1.29 on the real engine until a prediction succeeds (-m docker)."""
import json
import subprocess
import time
from pathlib import Path

import pytest
import requests
import yaml
from torchserve_deploy.constants import CONTAINER_KEY_FILE
from torchserve_deploy.container.compose import ComposeService, render_compose
from torchserve_deploy.container.spec import ContainerSpec, Mount

from infra.compose import write
from infra.deliver.compose import compose_services
from infra.offline import stack_settings
from infra.plan import ROOT, make_plan
from tests.mocks import named, only, server_config

GOLDEN = ROOT / "tests/golden/compose-dev.yml"
BASE = ROOT / ".build/dev"


def rendered_dev():
    return render_compose(compose_services(make_plan(stack_settings("dev"))), BASE)


def test_dev_compose_matches_golden_file():
    text, files = rendered_dev()
    assert text == GOLDEN.read_text(), "regenerate with: python -m tests.test_compose (and review the diff)"
    assert list(files) == ["files/torchserve-dev/config.properties"]


def test_compose_services_are_renderings_of_the_pulumi_specs(dev_resources):
    """Same name, image, ports, shm, ulimits, mounts, command and healthcheck as the declared container."""
    doc = yaml.safe_load(rendered_dev()[0])["services"]
    container = only(dev_resources, "docker:index/container:Container").inputs
    server = doc["torchserve"]
    assert server["container_name"] == container["name"] and server["image"] == named(dev_resources, "torchserve-image").inputs["imageName"]
    assert server["ports"] == [f"{p['ip']}:{int(p['external'])}:{int(p['internal'])}/tcp" for p in container["ports"]]
    assert server["shm_size"] == f"{int(container['shmSize'])}m"
    assert server["ulimits"] == {u["name"]: {"soft": int(u["soft"]), "hard": int(u["hard"])} for u in container["ulimits"]}
    assert server["healthcheck"]["test"] == container["healthcheck"]["tests"]
    assert server["command"] == container["command"] and server["user"] == container["user"]
    files = rendered_dev()[1]
    assert files["files/torchserve-dev/config.properties"] == server_config(dev_resources)
    train = doc["train-demo"]
    run = named(dev_resources, "train-demo-run").inputs["create"]
    assert " ".join(train["command"]) in run and train["image"] == named(dev_resources, "train-demo-image").inputs["imageName"]
    assert doc["archive-demo"]["depends_on"] == {"train-demo": {"condition": "service_completed_successfully"}}
    assert doc["torchserve"]["depends_on"] == {"archive-demo": {"condition": "service_completed_successfully"}}


def test_gpus_become_device_reservations_and_volumes_are_declared():
    spec = ContainerSpec(name="s", image="i", gpus="1,2", mounts=(Mount("/m", "models-vol", "volume"),))
    doc = yaml.safe_load(render_compose({"s": ComposeService(spec)}, Path("/x"))[0])
    assert doc["services"]["s"]["deploy"]["resources"]["reservations"]["devices"] == [
        {"driver": "nvidia", "capabilities": ["gpu"], "device_ids": ["1", "2"]}]
    assert doc["volumes"] == {"models-vol": {"name": "models-vol"}}
    all_gpus = ContainerSpec(name="s", image="i", gpus="all")
    devices = yaml.safe_load(render_compose({"s": ComposeService(all_gpus)}, Path("/x"))[0])
    assert devices["services"]["s"]["deploy"]["resources"]["reservations"]["devices"][0]["count"] == "all"


def test_same_stack_same_bytes():
    assert rendered_dev() == rendered_dev()


@pytest.mark.docker
def test_rendered_compose_file_trains_archives_and_serves(engine, dev_resources, production_image, tmp_path):
    from tests.engine import COMPOSE_TEST_PROJECT, TEST_MEMLOCK_BYTES, build_declared_image
    from tests.expected import SAMPLE, assert_demo_answer

    client = engine.client
    train_image, _ = build_declared_image(client, named(dev_resources, "train-demo-image").inputs)
    compose_file = write("dev")
    doc = yaml.safe_load(compose_file.read_text())
    # The one test override: memlock=-1 is refused on these machines (hard cap 8 MiB).
    override = tmp_path / "memlock.override.yml"
    override.write_text(yaml.safe_dump({"services": {
        name: {"ulimits": {"memlock": {"soft": TEST_MEMLOCK_BYTES, "hard": TEST_MEMLOCK_BYTES}}}
        for name, svc in doc["services"].items() if "memlock" in svc.get("ulimits", {})}}))
    mar = ROOT / ".build/dev/model-store/demo.mar"
    mar_existed = mar.exists()
    base = ["docker-compose", "--project-name", COMPOSE_TEST_PROJECT, "-f", str(compose_file), "-f", str(override)]
    up = subprocess.run(base + ["up", "--detach", "--no-build"], capture_output=True, text=True, timeout=600)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        server = client.containers.get("torchserve-dev")
        deadline = time.time() + 240
        while time.time() < deadline:
            server.reload()
            if server.attrs["State"].get("Health", {}).get("Status") == "healthy":
                break
            time.sleep(2)
        logs = subprocess.run(base + ["logs", "--tail", "20"], capture_output=True, text=True).stdout
        assert server.attrs["State"]["Health"]["Status"] == "healthy", logs
        keys = json.loads(server.exec_run(["cat", CONTAINER_KEY_FILE]).output)
        r = requests.post("http://127.0.0.1:8080/predictions/demo", json=SAMPLE, timeout=30,
                          headers={"Authorization": f"Bearer {keys['inference']['key']}"})
        assert r.status_code == 200, r.text
        assert_demo_answer(r.json(), weights=ROOT / ".build/dev/training/demo/model.pt")
    finally:
        subprocess.run(base + ["down", "--timeout", "10"], capture_output=True, text=True, timeout=300)
        client.images.remove(train_image, force=True)
        if not mar_existed:
            mar.unlink(missing_ok=True)


if __name__ == "__main__":
    GOLDEN.write_text(rendered_dev()[0])
    print(f"wrote {GOLDEN.relative_to(ROOT)}")
