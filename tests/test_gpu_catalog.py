"""GPU hosts: only GPU families, and CUDA variant, AMI route and driver that suit the GPU."""
import pytest
from torchserve_deploy.aws.gpu_catalog import FAMILIES, PRICES_PER_HOUR, gpu_family
from torchserve_deploy.errors import ValidationError

from infra.settings import load_settings
from tests.mocks import ROOT, stack_config

P = "torchserve-deploy:"


def staging_with(**overrides):
    config = {k: v for k, v in stack_config("staging").items()}
    config.update({P + k: v for k, v in overrides.items()})
    return load_settings(config, stack="staging", root=ROOT)


def test_required_families_are_known():
    assert {"g4dn", "g5", "g6", "g6e", "p4d", "p5"} <= set(FAMILIES)
    assert all(t.split(".")[0] in FAMILIES for t in PRICES_PER_HOUR)


@pytest.mark.parametrize("instance", ["g4dn", "", "g5.xlarge\n", "g5.xlarge; reboot", "G5.XLARGE"])
def test_malformed_instance_types_are_refused(instance):
    with pytest.raises(ValidationError) as err:
        staging_with(instanceType=instance)
    assert str(err.value) == (
        f"{P}instanceType: {instance!r} is not valid. Allowed: an EC2 instance type <family>.<size>, e.g. g5.xlarge. "
        f"Fix: set {P}instanceType to g4dn.xlarge (T4, cheapest), g5.xlarge (A10G) or g6.xlarge (L4)")


@pytest.mark.parametrize("instance", ["t3.large", "m7i.xlarge", "c5.2xlarge", "inf2.xlarge"])
def test_non_gpu_instance_types_are_refused_with_the_alternatives(instance):
    with pytest.raises(ValidationError) as err:
        staging_with(instanceType=instance)
    assert str(err.value) == (
        f"{P}instanceType: {instance!r} is not valid. Allowed: a GPU instance type of family g4dn, g5, g6, gr6, g6e, "
        f"p4d, p4de, p5, p5e, p5en, p3. Fix: set {P}instanceType to g4dn.xlarge (T4, cheapest), g5.xlarge (A10G) "
        "or g6.xlarge (L4)")


def test_volta_needs_the_ubuntu_route_with_a_proprietary_driver_of_580_or_older():
    with pytest.raises(ValidationError) as err:
        staging_with(instanceType="p3.2xlarge")
    assert err.value.key == P + "amiRoute" and "does not support it" in str(err.value)
    with pytest.raises(ValidationError) as err:
        staging_with(instanceType="p3.2xlarge", amiRoute="ubuntu", nvidiaDriverBranch="595", egress="nat")
    assert err.value.key == P + "nvidiaDriverBranch" and "Volta" in str(err.value)
    ok = staging_with(instanceType="p3.2xlarge", amiRoute="ubuntu", nvidiaDriverBranch="580", egress="nat")
    assert gpu_family("k", ok.ec2.instance_type).open_modules is False


def test_driver_branch_must_cover_the_cuda_variant():
    from torchserve_deploy.aws.gpu_catalog import check_host
    from torchserve_deploy.image.variants import resolve_variant

    cu128 = resolve_variant(accelerator="cuda", cuda_version="cu128", torch_version=None, platform="linux/amd64")
    check_host(P, FAMILIES["g5"], cu128, "ubuntu", "570")  # 570.124.06 is cu128's minimum: accepted
    with pytest.raises(ValidationError) as err:
        check_host(P, FAMILIES["g5"], cu128, "ubuntu", "560")
    assert str(err.value) == (f"{P}nvidiaDriverBranch: '560' is not valid. Allowed: a driver branch ≥ 570 for cu128 "
                              f"(minimum 570.124.06). Fix: set {P}nvidiaDriverBranch to 580, or pick an older cudaVersion")


def test_cpu_image_on_a_gpu_host_is_refused():
    with pytest.raises(ValidationError) as err:
        staging_with(accelerator="cpu", cudaVersion="", gpus="")
    assert err.value.key in (P + "accelerator", P + "gpus")


NO_EDGE = {"edge": "none", "domainName": "", "hostedZoneId": ""}  # staging as a private host, without its edge


def test_ubuntu_route_needs_nat_on_a_created_vpc():
    with pytest.raises(ValidationError) as err:
        staging_with(amiRoute="ubuntu")  # staging's VPC endpoints reach AWS APIs, not package mirrors
    assert err.value.key == P + "egress" and "nat for the ubuntu route" in str(err.value)
    assert staging_with(amiRoute="ubuntu", egress="nat").ec2.egress == "nat"
    existing = staging_with(amiRoute="ubuntu", vpcId="vpc-0123456789abcdef0", egress="none",
                            privateSubnetIds=["subnet-0123456789abcdef0"],
                            publicSubnetIds=["subnet-0123456789abcdef1", "subnet-0123456789abcdef2"])
    assert existing.ec2.ami_route == "ubuntu"  # an existing VPC brings its own way out


@pytest.mark.parametrize("overrides,key", [
    ({"sshCidrs": ["0.0.0.0/0"]}, "sshCidrs"),
    ({**NO_EDGE, "inferenceCidrs": [], "inferenceSecurityGroupId": ""}, "inferenceCidrs"),
    ({"inferenceCidrs": ["10.0.0.0/8"]}, "inferenceCidrs"),  # a direct path around the edge's key check
    ({"inferenceBind": "127.0.0.1"}, "inferenceBind"),
    ({"metricsCidr": "0.0.0.0/0"}, "metricsCidr"),
    ({"metricsCidr": "", "metricsBind": "0.0.0.0"}, "metricsBind"),
    ({**NO_EDGE, "inferenceCidrs": ["10.0.0.1/8"]}, "inferenceCidrs"),
    ({**NO_EDGE, "inferenceCidrs": ["52.0.0.0/8"]}, "inferenceCidrs"),
    ({"tokenAuth": False}, "tokenAuth"),  # TorchServe has no key behind the edge; true, the default, is accepted
    ({"domainName": "", "hostedZoneId": ""}, "domainName"),
    ({"gpus": ""}, "gpus"),
    ({"modelStore": "hostDir"}, "modelStore"),
    ({"train": True}, "train"),
    ({"rootVolumeGb": 30}, "rootVolumeGb"),
    ({"ubuntuVersion": "20.04"}, "ubuntuVersion"),
])
def test_exposure_and_host_settings_are_checked(overrides, key):
    with pytest.raises(ValidationError) as err:
        staging_with(**overrides)
    assert err.value.key == P + key


def test_region_is_required():
    config = {k: v for k, v in stack_config("staging").items() if k != "aws:region"}
    with pytest.raises(ValidationError) as err:
        load_settings(config, stack="staging", root=ROOT)
    assert err.value.key == "aws:region"
