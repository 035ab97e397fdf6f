"""Pure validators (shared by config keys and component arguments)."""
import pytest
from torchserve_deploy import validators as v
from torchserve_deploy.errors import ValidationError


@pytest.mark.parametrize("text,mb", [("1g", 1024), ("512m", 512), ("2048m", 2048), ("16g", 16384)])
def test_sizes(text, mb):
    assert v.size_to_mb("k", text) == mb


@pytest.mark.parametrize("text", ["1gb", "1G", " 1g", "1", "0g", "1.5g", "", "512k", "1048576k", "1g\n", "9999999g", None, 1024])
def test_bad_sizes(text):
    with pytest.raises(ValidationError):
        v.size_to_mb("k", text)


@pytest.mark.parametrize("value,out", [("", None), ("none", None), ("all", "all"), ("0", "0"), ("1,2", "1,2")])
def test_gpus(value, out):
    assert v.gpus("k", value) == out


@pytest.mark.parametrize("value", ["ALL", "0,", ",1", "1;2", "gpu0", "1,1", 2])
def test_bad_gpus(value):
    with pytest.raises(ValidationError):
        v.gpus("k", value)


def test_error_names_argument_value_allowed_and_fix():
    with pytest.raises(ValidationError) as err:
        v.port("TorchServeServerArgs.host_ports.inference", 0)
    e = err.value
    assert (e.key, e.value) == ("TorchServeServerArgs.host_ports.inference", 0)
    assert str(e).startswith("TorchServeServerArgs.host_ports.inference: 0 is not valid. Allowed: ")
