"""render_config_properties: secure settings, per-model workers and batching, byte-stable."""
import json

from torchserve_deploy.serve.config_properties import ModelServing, ServerPorts, render_config_properties


def props(text):
    return dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))


def test_secure_defaults_and_models():
    models = (ModelServing("b", min_workers=2, max_workers=3, batch_size=8, max_batch_delay_ms=7), ModelServing("a"))
    p = props(render_config_properties(models))
    assert p["disable_token_authorization"] == "false"
    assert p["enable_model_api"] == "false"
    assert p["allowed_urls"] == "file:///home/model-server/model-store/.*"
    assert p["load_models"] == "b.mar,a.mar"
    table = json.loads(p["models"])
    assert table["b"]["1.0"] == {"batchSize": 8, "defaultVersion": True, "marName": "b.mar", "maxBatchDelay": 7,
                                 "maxWorkers": 3, "minWorkers": 2, "responseTimeout": 120}
    assert p["metrics_mode"] == "prometheus"


def test_bind_host_and_ports_are_rendered():
    p = props(render_config_properties((ModelServing("m"),), bind_host="127.0.0.1",
                                       ports=ServerPorts(1, 2, 3, 4, 5), model_store="/tmp/s"))
    assert p["inference_address"] == "http://127.0.0.1:1"
    assert p["management_address"] == "http://127.0.0.1:2"
    assert p["metrics_address"] == "http://127.0.0.1:3"
    assert (p["grpc_inference_port"], p["grpc_management_port"]) == ("4", "5")
    assert p["grpc_management_address"] == "127.0.0.1" and p["model_store"] == "/tmp/s"


def test_token_auth_off_is_explicit():
    assert props(render_config_properties((ModelServing("m"),), token_auth=False))["disable_token_authorization"] == "true"


def test_same_inputs_same_bytes():
    models = (ModelServing("m", batch_size=4),)
    assert render_config_properties(models) == render_config_properties(models)
