"""TorchServeImage under mocks: registry push, custom tags, extra packages, and the codebuild stack."""
import pytest
from torchserve_deploy import TorchServeImage, TorchServeImageArgs, ValidationError
from torchserve_deploy.aws.ecr import EcrRepository, EcrRepositoryArgs, ecr_repository_url, registry_server

from infra.settings import load_settings
from tests.mocks import ROOT, evaluate_program, is_secret, named, only, run_under_mocks, unsecret

P = "torchserve-deploy:"
URL = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/torchserve"


def test_ecr_references():
    assert ecr_repository_url("k", "arn:aws:ecr:eu-west-1:123456789012:repository/team/torchserve") == URL
    assert ecr_repository_url("k", URL) == URL
    assert registry_server(URL) == "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
    with pytest.raises(ValidationError) as err:
        ecr_repository_url("torchserve-deploy:ecrRepository", "docker.io/me/ts")
    assert err.value.key == "torchserve-deploy:ecrRepository"


def pushed(existing=None):
    repo = EcrRepository("ts", EcrRepositoryArgs(name="torchserve-deploy-staging", existing_url=existing))
    return TorchServeImage("ts", TorchServeImageArgs(push=repo.registry))


def test_push_creates_a_locked_down_repository_and_logs_in():
    mocks = run_under_mocks(pushed)
    repo = only(mocks.resources, "aws:ecr/repository:Repository")
    assert repo.name == "ts-repo" and repo.inputs["name"] == "torchserve-deploy-staging"
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"] == {"scanOnPush": True}
    image = only(mocks.resources, "docker:index/image:Image").inputs
    assert image["skipPush"] is False
    assert image["imageName"].startswith("123456789012.dkr.ecr.us-east-1.amazonaws.com/torchserve-deploy-staging:0.12.0-cpu-")
    assert is_secret(image["registry"]), "the registry password must stay a secret in state"
    registry = unsecret(image["registry"])
    assert registry["server"] == "123456789012.dkr.ecr.us-east-1.amazonaws.com"
    assert registry["username"] == "AWS"
    assert [t for t, _ in mocks.calls] == ["aws:ecr/getAuthorizationToken:getAuthorizationToken"]
    assert mocks.calls[0][1]["registryId"] == "123456789012"


def test_push_to_a_given_repository_creates_none():
    mocks = run_under_mocks(lambda: pushed(URL))
    assert not [r for r in mocks.resources if r.typ == "aws:ecr/repository:Repository"]
    assert only(mocks.resources, "docker:index/image:Image").inputs["imageName"].startswith(URL + ":0.12.0-cpu-")


def test_custom_tags_are_added_beside_the_content_tag():
    mocks = run_under_mocks(lambda: TorchServeImage("ts", TorchServeImageArgs(tags=("v1", "stable"))))
    tags = sorted((r.name, r.inputs["targetImage"]) for r in mocks.resources if r.typ == "docker:index/tag:Tag")
    assert tags == [("ts-tag-stable", "torchserve-deploy:stable"), ("ts-tag-v1", "torchserve-deploy:v1")]
    assert ":latest" not in only(mocks.resources, "docker:index/image:Image").inputs["imageName"]


def test_extra_packages_reach_the_build_and_the_tag():
    plain = TorchServeImageArgs()
    vision = TorchServeImageArgs(extra_pip_packages=("torchvision==0.28.0", "pillow==12.0.0"),
                                 extra_apt_packages=("libgl1",))
    assert vision.build_args()["EXTRA_PIP_PACKAGES"] == "torchvision==0.28.0 pillow==12.0.0"
    assert vision.build_args()["EXTRA_APT_PACKAGES"] == "libgl1"
    from torchserve_deploy.image.serving import content_tag

    assert content_tag(vision) != content_tag(plain)


@pytest.mark.parametrize("config,key", [
    ({"extraPipPackages": ["torchvision"]}, "extraPipPackages"),
    ({"extraAptPackages": ["libgl1; rm -rf /"]}, "extraAptPackages"),
    ({"imageTags": ["has space"]}, "imageTags"),
    ({"buildType": "ci"}, "buildType"),
    ({"pythonVersion": "python3"}, "pythonVersion"),
    ({"ecrRepository": URL}, "ecrRepository"),
    ({"imagePush": True, "ecrRepository": "ghcr.io/me/ts"}, "ecrRepository"),
])
def test_bad_image_settings_name_their_key(config, key):
    with pytest.raises(ValidationError) as err:
        load_settings({P + k: v for k, v in config.items()}, stack="dev", root=ROOT)
    assert err.value.key == P + key


def test_codebuild_stack_builds_only_the_ci_image():
    resources = evaluate_program("dev", {"buildType": "codebuild", "models": {"demo": {"path": "models/demo"}}})
    assert named(resources, "torchserve-image").inputs["build"]["target"] == "codebuild"
    assert not [r for r in resources if r.typ in ("docker:index/container:Container", "command:local:Command")]


def test_dev_build_type_serves_from_the_dev_image():
    resources = evaluate_program("dev", {"buildType": "dev", "devSourceRef": "master"})
    image = named(resources, "torchserve-image").inputs
    assert image["build"]["target"] == "dev" and image["build"]["args"]["TS_REF"] == "master"
    only(resources, "docker:index/container:Container")
