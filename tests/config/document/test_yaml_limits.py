"""The reader's limits: nesting and over-long values are refused as issues, before anything is
built, wherever YAML is read (check, the store's publish)."""

from __future__ import annotations

import pytest

from branchline.config.document.loading import check_document, default_document_text
from branchline.config.document.yaml_text import (
    MAX_DEPTH,
    YamlBeyondLimits,
    beyond_limits,
    parse_yaml,
)
from branchline.config.store.errors import ConfigRefused
from branchline.config.store.versioned import ConfigStore

FLOW_DEEP = "site: " + "[" * 5000 + "]" * 5000 + "\n"
BLOCK_DEEP = "site:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1200))
BIG_NUMBER = "site:\n  digits: " + "1" * 5000 + "\n"
LONG_TEXT = "site:\n  name: '" + "a" * 20_000 + "'\n"
# Each alias nests the one before inside 10 brackets: 300 lines written, 3,000 levels meant.
ALIASES = "site:\n  a0: &a0 [1]\n" + "".join(
    f"  a{i}: &a{i} {'[' * 10}*a{i - 1}{']' * 10}\n" for i in range(1, 300))

CASES = {
    "flow style": (FLOW_DEEP, f"nests lists and mappings more than {MAX_DEPTH} deep", 1),
    "block style": (BLOCK_DEEP, f"nests lists and mappings more than {MAX_DEPTH} deep", None),
    "integer": (BIG_NUMBER, "a number is written with 5000 characters, over the 100 allowed",
                2),
    "text": (LONG_TEXT, "a value is 20000 characters long, over the 10000 allowed", 2),
    "aliases": (ALIASES, f"nests lists and mappings more than {MAX_DEPTH} deep", None),
}


@pytest.mark.parametrize("case", CASES)
def test_a_text_beyond_the_limits_is_one_issue_not_a_crash(case):
    text, message, line = CASES[case]
    with pytest.raises(YamlBeyondLimits) as raised:
        parse_yaml(text)
    assert message in raised.value.message
    document, report = check_document(text)
    assert document is None
    (issue,) = report.errors
    assert message in issue.message and issue.fix
    if line is not None:
        assert issue.line == line


@pytest.mark.parametrize("case", [c for c in CASES if c != "aliases"])
def test_beyond_limits_names_the_limit_without_building_the_text(case):
    text, message, _ = CASES[case]
    assert message in beyond_limits(text).message


def test_real_documents_and_plain_syntax_errors_are_within_the_limits():
    assert beyond_limits(default_document_text()) is None
    assert beyond_limits("site: [unclosed\n") is None
    assert beyond_limits("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)) is None
    quoted = "site:\n  account: '" + "1" * 5000 + "'\n"  # text, not a number
    assert beyond_limits(quoted) is None


def test_the_store_refuses_to_publish_a_text_beyond_the_limits(tmp_path):
    store = ConfigStore(tmp_path, check_document)
    store.initialise(default_document_text())
    with pytest.raises(ConfigRefused) as refused:
        store.publish(FLOW_DEEP, who="admin", note="deep", base=1)
    assert "deep" in refused.value.report.errors[0].message
    assert store.current_number() == 1
