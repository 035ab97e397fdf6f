"""Imports point one way: infra → torchserve_deploy, and inside the package each layer uses only the
layers before it (container knows nothing of image, model, serve or aws; only aws imports pulumi_aws)."""
import ast

import pytest

from tests.mocks import ROOT

PACKAGE = ROOT / "components" / "torchserve_deploy"
# Each layer may import itself and the layers listed before it.
LAYERS = ["base", "container", "image", "model", "serve", "aws"]


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 and parts[1] in LAYERS else "base"


def imports(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{a.name}" for a in node.names)


MODULES = sorted(p for p in PACKAGE.rglob("*.py") if "docker" not in p.relative_to(PACKAGE).parts[:2]
                 or p.parent.name != "docker")


def module_name(path):
    rel = path.relative_to(ROOT / "components").with_suffix("")
    return ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_package_imports_point_down(path):
    name = module_name(path)
    own = LAYERS.index(layer_of(name))
    for imported in imports(path):
        assert not imported.startswith(("infra", "tests", "components")), f"{name} imports {imported}"
        if imported.startswith("torchserve_deploy.") and name != "torchserve_deploy":
            assert LAYERS.index(layer_of(imported)) <= own, f"{name} ({LAYERS[own]}) imports {imported}"
        if imported.startswith("pulumi_aws"):
            assert layer_of(name) == "aws", f"{name}: AWS code lives in torchserve_deploy.aws"


def test_infra_is_above_the_package():
    for path in (ROOT / "infra").rglob("*.py"):
        for imported in imports(path):
            assert not imported.startswith(("components", "tests")), f"{path}: {imported}"


def test_modules_are_small():
    """Small modules: no module of the package or the program passes 300 lines."""
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines())
             for p in [*PACKAGE.rglob("*.py"), *(ROOT / "infra").rglob("*.py")]}
    largest = max(sizes, key=sizes.get)
    print(f"largest module: {largest} ({sizes[largest]} lines)")
    assert sizes[largest] <= 300, sizes[largest]
