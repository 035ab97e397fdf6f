"""The shipped demo model: weights regenerate byte-for-byte, and the file in the repo is that output."""
import hashlib
import runpy

from tests.mocks import ROOT


def test_weights_are_deterministic(tmp_path):
    module = runpy.run_path(str(ROOT / "models/demo/make_weights.py"))
    target = tmp_path / "model.pt"
    module["main"](target)
    first = hashlib.sha256(target.read_bytes()).hexdigest()
    module["main"](target)
    assert hashlib.sha256(target.read_bytes()).hexdigest() == first
    import torch

    shipped = torch.load(ROOT / "models/demo/model.pt", weights_only=True)
    fresh = torch.load(target, weights_only=True)
    assert shipped.keys() == fresh.keys() and all(torch.equal(shipped[k], fresh[k]) for k in shipped)
