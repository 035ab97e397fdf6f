"""Project layout contract: Pulumi.yaml declares exactly the program's keys and defaults; README documents them."""
import yaml
from torchserve_deploy.constants import PROJECT

from infra.settings.keys import KEYS, MODELS_KEY
from tests.mocks import ROOT

PROJECT_FILE = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())


def test_project_file_layout():
    assert PROJECT_FILE["name"] == PROJECT == "torchserve-deploy"
    assert PROJECT_FILE["runtime"]["name"] == "python"
    assert PROJECT_FILE["runtime"]["options"]["virtualenv"] == ".venv"
    assert PROJECT_FILE["main"] == "infra/" and PROJECT_FILE["stackConfigDir"] == "stacks"


def test_declared_keys_match_program():
    declared = PROJECT_FILE["config"]
    assert list(declared) == [k.name for k in KEYS]
    for k in KEYS:
        d = declared[k.name]
        assert (d["type"], d["default"], d["description"]) == (k.type, k.default, k.meta.doc), k.name
        if k.type == "array":
            assert d["items"] == {"type": "string"}


def test_readme_documents_every_key_with_default():
    from infra.project_file import readme_with_table

    readme = (ROOT / "README.md").read_text()
    for name in [MODELS_KEY, *(k.name for k in KEYS)]:
        assert f"`{name}`" in readme, f"README does not document {name}"
    assert readme == readme_with_table(readme), "README config table is stale: python -m infra.project_file"
    assert "make deploy" in readme and "make test" in readme


def test_stack_files_only_use_declared_keys():
    names = {k.name for k in KEYS} | {MODELS_KEY}
    for path in (ROOT / "stacks").glob("Pulumi.*.yaml"):
        for key in (yaml.safe_load(path.read_text()).get("config") or {}):
            ns, _, name = key.partition(":")
            if ns == PROJECT:
                assert name in names, f"{path.name}: {key}"


def test_project_file_is_the_generated_one():
    from infra.project_file import render

    assert (ROOT / "Pulumi.yaml").read_text() == render(), "run: python -m infra.project_file"
