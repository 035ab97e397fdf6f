"""ContainerSpec → docker.Container arguments (pure)."""
import pulumi_docker as docker
from torchserve_deploy.container.pulumi_args import docker_gpus, render_container_args
from torchserve_deploy.container.spec import ContainerSpec, Healthcheck, Mount, PortBinding, Ulimit


def spec(**kw):
    base = dict(name="c", image="img:1", ports=(PortBinding(8081, 9081),), ulimits=(Ulimit("stack", 1, 2),),
                mounts=(Mount("/m", "/host", "bind", True),), shm_size_mb=1024, healthcheck=Healthcheck(("hc", "a")))
    return ContainerSpec(**{**base, **kw})


def test_gpu_values():
    assert docker_gpus(None) is None
    assert docker_gpus("all") == "all"
    assert docker_gpus("1,2") == "device=1,2"


def test_rendering_carries_every_field():
    args = render_container_args(spec(gpus="0", env=(("A", "1"),), user="1000:1000"), image="sha256:x")
    assert args["image"] == "sha256:x" and args["shm_size"] == 1024 and args["gpus"] == "device=0"
    assert args["envs"] == ["A=1"] and args["user"] == "1000:1000"
    port = args["ports"][0]
    assert isinstance(port, docker.ContainerPortArgs)
    assert (port.internal, port.external, port.ip) == (8081, 9081, "127.0.0.1")
    assert [(u.name, u.soft, u.hard) for u in args["ulimits"]] == [("stack", 1, 2)]
    assert args["mounts"][0].read_only is True and args["mounts"][0].type == "bind"
    assert args["healthcheck"].tests == ["CMD", "hc", "a"] and args["wait"] is True


def test_no_gpu_means_no_gpus_argument():
    assert "gpus" not in render_container_args(spec())
