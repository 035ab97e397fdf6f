"""What the demo model must answer, computed here with torch from the shipped files (not hard-coded)."""
import importlib.util

import torch

from tests.mocks import ROOT

SAMPLE = {"data": [1.0, 2.0, 3.0, 4.0]}


def demo_scores(rows, weights=ROOT / "models/demo/model.pt"):
    spec = importlib.util.spec_from_file_location("demo_model", ROOT / "models/demo/model.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    model = module.DemoMLP()
    model.load_state_dict(torch.load(weights, weights_only=True))
    with torch.inference_mode():
        return model(torch.tensor(rows, dtype=torch.float32)).tolist()


def assert_demo_answer(answer, rows=(SAMPLE["data"],), weights=ROOT / "models/demo/model.pt"):
    expected = demo_scores([list(r) for r in rows], weights)
    assert len(answer["scores"]) == len(expected)
    for got, want in zip(answer["scores"], expected, strict=False):
        assert got == [round(x, 6) for x in want] or max(abs(a - b) for a, b in zip(got, want, strict=False)) < 1e-5, (got, want)
    assert answer["labels"] == [max(range(len(w)), key=w.__getitem__) for w in expected]
