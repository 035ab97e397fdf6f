"""Project layout contract: Pulumi.yaml declares exactly the program's keys and defaults, as the Pulumi CLI reads
them (yaml.v3, not pyyaml's YAML 1.1); README documents them."""
from torchserve_deploy.constants import PROJECT

from infra.offline import project
from infra.pulumi_cli import goyaml
from infra.settings.keys import HOST_KEY, KEYS, MODELS_DEFAULT, MODELS_DOC, MODELS_KEY
from tests.mocks import ROOT

PROJECT_FILE = goyaml.load((ROOT / "Pulumi.yaml").read_text())


def test_project_file_layout():
    assert PROJECT_FILE["name"] == PROJECT == "torchserve-deploy"
    assert PROJECT_FILE["runtime"]["name"] == "python"
    assert PROJECT_FILE["runtime"]["options"]["virtualenv"] == ".venv"
    assert PROJECT_FILE["main"] == "infra/" and PROJECT_FILE["stackConfigDir"] == "stacks"


def test_declared_keys_match_program():
    """Each default, read back as the CLI reads it, is the program's default of the same type (a pyyaml-written
    plain 1e3 or 0o17 would reach the CLI as a number)."""
    declared = PROJECT_FILE["config"]
    names = [k.name for k in KEYS]
    assert list(declared) == [HOST_KEY, MODELS_KEY, *names[1:]]
    assert declared[MODELS_KEY] == {"type": "object", "description": MODELS_DOC, "default": MODELS_DEFAULT}
    for k in KEYS:
        d = declared[k.name]
        assert (d["type"], d["default"], d["description"]) == (k.type, k.default, k.meta.doc), k.name
        assert type(d["default"]) is type(k.default), k.name
        if k.type == "array":
            assert d["items"] == {"type": "string"}
    loaded = project().config  # and the CLI's own checks of the file (types of defaults, arrays' items) pass
    assert set(loaded) == set(declared) and all(loaded[n].default is not None for n in loaded)


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
        for key in (goyaml.load(path.read_text()).get("config") or {}):
            ns, _, name = key.partition(":")
            if ns == PROJECT:
                assert name in names, f"{path.name}: {key}"


def test_project_file_is_the_generated_one():
    from infra.project_file import render

    assert (ROOT / "Pulumi.yaml").read_text() == render(), "run: python -m infra.project_file"
