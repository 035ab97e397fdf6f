"""bench/stack_edit.py: `make tune --write` changes only the lines of the entries it sets (pure, offline)."""
import difflib

import pytest
import yaml

from bench.stack_edit import Unsupported, delete_entry, set_entry

STACK = """# dev stack; config: see the README (a header comment that names config:)
encryptionsalt: v1:abc=:v1:def:ghi
config:
  torchserve-deploy:host: local   # a comment inside the block
  torchserve-deploy:shortFlag: yes
  torchserve-deploy:models:
    demo:
      path: models/demo
      workers: 1  # was tuned by hand
      train:
        lr: 1e-3
        schedule: 1:30
    other:
      path: models/other

# the passphrase provider's salt, do not edit
secretsprovider: passphrase
"""


def changed(before: str, after: str) -> tuple[list[str], list[str]]:
    diff = list(difflib.ndiff(before.splitlines(), after.splitlines()))
    return [d[2:] for d in diff if d.startswith("- ")], [d[2:] for d in diff if d.startswith("+ ")]


def test_setting_an_existing_entry_changes_only_its_line():
    after = set_entry(STACK, ("config", "torchserve-deploy:models", "demo", "workers"), 2)
    assert changed(STACK, after) == (["      workers: 1  # was tuned by hand"], ["      workers: 2"])
    assert set_entry(after, ("config", "torchserve-deploy:models", "demo", "workers"), 2) == after  # idempotent


def test_a_new_entry_goes_after_its_siblings_at_their_indent():
    after = set_entry(STACK, ("config", "torchserve-deploy:models", "demo", "torchThreads"), 1)
    assert changed(STACK, after) == ([], ["      torchThreads: 1"])
    data = yaml.safe_load(after)["config"]["torchserve-deploy:models"]["demo"]
    assert data["torchThreads"] == 1 and data["train"] == {"lr": "1e-3", "schedule": 90}  # untouched text (YAML 1.1 reads 1:30 as 90)
    assert after.index("torchThreads") < after.index("    other:")
    # A top-level config key lands after the block's last entry, before the blank line and the next key's comment.
    after = set_entry(STACK, ("config", "torchserve-deploy:cpuLauncher"), True)
    assert changed(STACK, after) == ([], ["  torchserve-deploy:cpuLauncher: true"])
    assert after.index("cpuLauncher") < after.index("\n\n# the passphrase")


def test_yaml_1_2_sensitive_values_and_comments_elsewhere_stay_byte_for_byte():
    """PyYAML reads YAML 1.1 and Pulumi 1.2: `yes`, `1e-3`, `1:30` must not be re-serialised behind the user's back."""
    after = set_entry(STACK, ("config", "torchserve-deploy:models", "other", "workers"), 3)
    for line in ("  torchserve-deploy:shortFlag: yes", "        lr: 1e-3", "        schedule: 1:30",
                 "  torchserve-deploy:host: local   # a comment inside the block",
                 "# the passphrase provider's salt, do not edit"):
        assert line in after.splitlines()
    assert changed(STACK, after) == ([], ["      workers: 3"])


def test_deleting_removes_the_entry_and_nothing_else():
    with_launcher = set_entry(STACK, ("config", "torchserve-deploy:cpuLauncher"), True)
    assert delete_entry(with_launcher, ("config", "torchserve-deploy:cpuLauncher")) == STACK
    assert delete_entry(STACK, ("config", "torchserve-deploy:cpuLauncher")) == STACK  # absent: unchanged
    gone = delete_entry(STACK, ("config", "torchserve-deploy:models", "demo", "train"))
    assert changed(STACK, gone) == (["      train:", "        lr: 1e-3", "        schedule: 1:30"], [])


def test_missing_parents_json_strings_flow_mappings_and_empty_files():
    assert yaml.safe_load(set_entry("", ("config", "a", "b"), 1)) == {"config": {"a": {"b": 1}}}
    assert yaml.safe_load(set_entry("# only a comment\n", ("config", "a"), 1)) == {"config": {"a": 1}}
    assert yaml.safe_load(set_entry("config:\n", ("config", "a"), 1)) == {"config": {"a": 1}}
    as_json = "config:\n  m: '{\"demo\": {\"path\": \"models/demo\"}}'\nafter: 1\n"
    out = set_entry(as_json, ("config", "m", "demo", "workers"), 2)
    assert yaml.safe_load(out) == {"config": {"m": {"demo": {"path": "models/demo", "workers": 2}}}, "after": 1}
    flow = "config: {a: 1}\nafter: 1\n"
    assert yaml.safe_load(set_entry(flow, ("config", "b"), 2)) == {"config": {"a": 1, "b": 2}, "after": 1}
    no_newline = "config:\n  a: 1"
    assert set_entry(no_newline, ("config", "b"), 2) == "config:\n  a: 1\n  b: 2\n"


def test_crlf_files_stay_crlf():
    crlf = STACK.replace("\n", "\r\n")
    after = set_entry(crlf, ("config", "torchserve-deploy:models", "demo", "workers"), 2)
    assert "\n" not in after.replace("\r\n", "") and after.replace("\r\n", "\n") == set_entry(
        STACK, ("config", "torchserve-deploy:models", "demo", "workers"), 2)


@pytest.mark.parametrize("text", ["config: [1, 2]\n", "- a list\n", "config:\n  m: '[1]'\n", "config:\n  m: plain\n",
                                  "config:\n  m:\n    x: 1\n  m:\n    y: 2\n"])
def test_what_is_not_a_mapping_is_refused(text):
    with pytest.raises(ValueError):  # Unsupported, or the JSON error of a string that is not JSON
        set_entry(text, ("config", "m", "demo"), 1)
    assert issubclass(Unsupported, ValueError)
