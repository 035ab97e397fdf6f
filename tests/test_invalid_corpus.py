"""The invalid-configuration corpus (tests/corpus/invalid-configs.yaml): every entry is refused before any
resource is registered. Each entry is written into the stack file and evaluated as the Pulumi CLI runs it
(Pulumi.yaml's defaults merged, declared types checked): either the CLI refuses it before the program starts
(a value of the wrong type for a declared key, in the CLI's words, naming the key), or the program refuses it
as pulumi.RunError (Pulumi prints it without a traceback) whose message names the key, what is allowed and the
fix. What the CLI refuses is also evaluated with --skip-config-validation, where the program must refuse it
itself. An entry that is accepted, or fails any other way, is a failure."""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from infra.offline import REMOVE, engine_config, run_program
from infra.pulumi_cli.values import ConfigError
from tests.mocks import PROJECT, RecordingMocks

CORPUS: list[dict[str, Any]] = yaml.safe_load((Path(__file__).parent / "corpus/invalid-configs.yaml").read_text())
CLASSES = ("names", "paths", "build", "network", "aws", "numbers", "ignored", "tracebacks")
MIN_CASES, MIN_PER_CLASS = 150, 8


def entry_overrides(entry: dict[str, Any]) -> dict[str, Any]:
    """The entry's edits of the stack file: its `set` keys, then its `raw` full keys (None removes a key)."""
    raw = {key: REMOVE if value is None else value for key, value in (entry.get("raw") or {}).items()}
    return {**(entry.get("set") or {}), **raw}


def expected_key(key: str) -> str:
    """Short keys are in our namespace; full keys and manifest paths are written out in the corpus."""
    return key if ":" in key or "/" in key else f"{PROJECT}:{key}"


def case_id(index: int, entry: dict[str, Any]) -> str:
    changes = {**(entry.get("set") or {}), **(entry.get("raw") or {})}
    text = re.sub(r"[^A-Za-z0-9_.:/=,+-]+", "_", ",".join(f"{k}={v}" for k, v in changes.items()))
    return f"{index:03d}-{entry['class']}-{entry['stack']}-{text}"[:90]


def test_corpus_covers_every_class(capsys):
    counts = Counter(e["class"] for e in CORPUS)
    report = f"invalid corpus: {len(CORPUS)} cases; " + ", ".join(f"{c} {counts[c]}" for c in CLASSES)
    with capsys.disabled():  # shown with or without -s
        print(f"\n{report}")
    assert set(counts) == set(CLASSES), f"unknown or missing classes: {set(counts) ^ set(CLASSES)}; {report}"
    assert len(CORPUS) >= MIN_CASES, report
    assert min(counts.values()) >= MIN_PER_CLASS, report
    assert all({"class", "stack", "key"} <= set(e) and ({"set", "raw"} & set(e)) for e in CORPUS), \
        "every entry needs class, stack, key and set or raw"


@pytest.mark.parametrize("entry", CORPUS, ids=[case_id(i, e) for i, e in enumerate(CORPUS)])
def test_refused_before_any_resource(entry):
    case = f"{entry['class']} case on {entry['stack']}: {entry.get('set') or entry.get('raw')!r}"
    name = entry["key"].removeprefix(PROJECT + ":")
    try:
        config = engine_config(entry["stack"], entry_overrides(entry))
    except ConfigError as err:
        try:
            config = engine_config(entry["stack"], entry_overrides(entry), validate=False)
        except ConfigError as unreadable:  # the CLI cannot even read the stack file
            assert f"{PROJECT}:{name.split('.')[0]}:" in str(unreadable), f"{case}: {unreadable}"
            return
        assert f"configuration key '{name}' must be of type" in str(err), f"{case}: the CLI refused it as:\n{err}"
    mocks = RecordingMocks()
    try:
        run_program(entry["stack"], config, mocks=mocks)
    except pulumi.RunError as err:
        message = str(err)
    except Exception as err:  # anything but a RunError is what this corpus hunts for
        pytest.fail(f"{case} raised {type(err).__name__} instead of a RunError: {err}")
    else:
        pytest.fail(f"{case} was ACCEPTED ({len(mocks.resources)} resources registered)")
    key = expected_key(entry["key"])
    assert message.startswith(f"{key}:"), f"{case}: the message should name {key}:\n{message}"
    assert " is not valid. Allowed: " in message and ". Fix: " in message, f"{case}: no allowed/fix part:\n{message}"
    assert entry.get("says", "") in message, f"{case}: refused for another reason than {entry['says']!r}:\n{message}"
    assert not re.search(r": : |Fix: \w+  ", message), f"{case}: a field name is missing from the message:\n{message}"
    assert "Traceback" not in message, message
    assert mocks.resources == [], f"{case}: registered {[r.name for r in mocks.resources]} before failing"
