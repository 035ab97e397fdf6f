"""The invalid-configuration corpus: every entry is refused before any resource is registered, with a
message naming the key and the fix, raised as pulumi.RunError (Pulumi prints it without a traceback)."""
from pathlib import Path

import pulumi
import pytest
import yaml

from tests.mocks import RecordingMocks, evaluate_program

CORPUS = yaml.safe_load((Path(__file__).parent / "corpus/invalid-configs.yaml").read_text())
P = "torchserve-deploy:"


def test_corpus_is_large_and_varied():
    assert len(CORPUS) >= 40
    assert len({e["key"] for e in CORPUS}) >= 30


@pytest.mark.parametrize("entry", CORPUS, ids=[f"{e['stack']}:{'+'.join(e['set'])}={list(e['set'].values())}"[:80]
                                                for e in CORPUS])
def test_refused_before_any_resource(entry):
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as err:
        evaluate_program(entry["stack"], entry["set"], mocks=mocks)
    message = str(err.value)
    key = entry["key"]
    expected_key = key if "/" in key or key == "aws:region" else P + key
    assert message.startswith(f"{expected_key}:"), message
    assert " is not valid. Allowed: " in message and ". Fix: " in message
    assert "Traceback" not in message
    assert [r for r in mocks.resources if r.custom] == [], "a resource was registered before validation failed"
    assert mocks.resources == []
