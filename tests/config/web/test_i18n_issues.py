"""The checker's problems in both languages: every key the checker can produce has a Chinese
text with the English one's placeholders, and the Chinese page shows a problem in Chinese
while the API keeps the English (with the key and its parameters)."""

from __future__ import annotations

import ast
import string
from pathlib import Path

import pytest
from web_harness import WebHarness

from branchline.config.web.i18n import issue_said
from branchline.config.web.i18n.issues import ISSUE_TEXTS_EN, ISSUES_ZH

ROOT = Path(__file__).resolve().parents[3]
CHECKER = [ROOT / "ivr", ROOT / "acd", ROOT / "config" / "document"]
PREFIXES = ("ivr.", "acd.", "doc.")
PATHS = ("acd.agents.", "acd.queues.")  # document paths that start like a key


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _keys_in_source() -> tuple[set[str], set[str]]:
    """Every message key written in the checker's code: whole keys, and the constant start of
    keys built in an f-string (f"ivr.option_collides_{role}")."""
    whole, starts = set(), set()
    for folder in CHECKER:
        for path in folder.glob("*.py"):
            tree = ast.parse(path.read_text("utf-8"))
            tables = [node.value for node in ast.walk(tree) if isinstance(node, ast.AnnAssign)
                      and getattr(node.target, "id", "") == "ISSUE_TEXTS"]
            written = {id(key) for table in tables for key in table.keys}
            for node in ast.walk(tree):
                if id(node) in written:
                    continue
                elif isinstance(node, ast.JoinedStr) and node.values \
                        and isinstance(node.values[0], ast.Constant) \
                        and str(node.values[0].value).startswith(PREFIXES) \
                        and not str(node.values[0].value).startswith(PATHS):
                    starts.add(node.values[0].value)
                    node.values[0].value = ""  # not a whole key when walked again below
                elif isinstance(node, ast.Constant) and isinstance(node.value, str) \
                        and node.value.startswith(PREFIXES) and " " not in node.value \
                        and node.value.count(".") >= 1 and node.value[-1] != ".":
                    whole.add(node.value)
    return whole, starts


def test_every_issue_key_has_chinese_with_the_same_placeholders():
    assert len(ISSUE_TEXTS_EN) > 150
    assert sorted(set(ISSUE_TEXTS_EN) - set(ISSUES_ZH)) == []
    assert sorted(set(ISSUES_ZH) - set(ISSUE_TEXTS_EN)) == []
    for key, english in ISSUE_TEXTS_EN.items():
        assert ISSUES_ZH[key].strip(), key
        assert _fields(ISSUES_ZH[key]) == _fields(english), key


def test_every_key_the_checker_writes_is_in_the_tables_and_every_entry_is_used():
    whole, starts = _keys_in_source()
    assert "ivr.unknown_node" in whole and "doc.fix.quote_it" in whole
    assert "ivr.option_collides_" in starts and "acd.name_form." in starts
    assert sorted(whole - set(ISSUE_TEXTS_EN)) == []
    for start in starts:
        assert any(key.startswith(start) for key in ISSUE_TEXTS_EN), start
    unused = [key for key in ISSUE_TEXTS_EN
              if key not in whole and not key.startswith(tuple(starts))]
    assert unused == []


def test_a_keyed_issue_is_said_in_chinese_and_an_unkeyed_one_as_written():
    issue = {"message": "option '0' collides with the global operator key '0'", "fix": "x",
             "key": "ivr.option_collides_operator", "fix_key": "ivr.fix.other_key_operator",
             "params": {"key": "0", "global_key": "0"}}
    assert issue_said(issue, "zh") == ("选项 '0' 与全局的“转人工”键 '0' 冲突",
                                       "换一个键；'0' 在每个菜单中都是“转人工”键")
    assert issue_said(issue, "en")[0] == issue["message"]
    assert issue_said({"message": "m", "fix": "f"}, "zh") == ("m", "f")


@pytest.fixture(scope="module")
def site(tmp_path_factory, prompts_dir, bank_url):
    harness = WebHarness(tmp_path_factory.mktemp("issues"), prompts_dir=prompts_dir,
                         bank_url=bank_url)
    harness.client()
    yield harness
    harness.close()


def _collide_operator_key(client):
    draft = client.get("/api/draft").json()
    node = client.get("/api/draft/flows/bank/nodes/main_menu").json()["value"]
    node["options"]["0"] = "branch_info"
    saved = client.put("/api/draft/flows/bank/nodes/main_menu",
                       json={"base": draft["base"], "revision": draft["revision"],
                             "value": node})
    assert saved.status_code == 200, saved.text


def test_the_chinese_page_shows_the_problem_in_chinese_and_the_api_keeps_english(site):
    admin = site.client("admin", name="zhadmin", language="zh")
    _collide_operator_key(admin)
    page = admin.get("/flows/bank?node=main_menu").text
    assert "选项 &#39;0&#39; 与全局的“转人工”键 &#39;0&#39; 冲突" in page
    assert "在每个菜单中都是“转人工”键" in page
    assert "collides with the global operator key" not in page
    # the API is the same for every language: English, with the key and its parameters
    errors = admin.get("/api/draft").json()["report"]["errors"]
    (issue,) = [i for i in errors if i["path"] == "flows.bank.nodes.main_menu.options.0"]
    assert issue["message"] == "option '0' collides with the global operator key '0'"
    assert issue["key"] == "ivr.option_collides_operator"
    assert issue["params"] == {"key": "0", "global_key": "0"}


def test_a_refusal_says_its_issues_in_the_language_the_page_asks_for(site):
    admin = site.client("admin", name="zhpublisher", language="zh")
    _collide_operator_key(admin)
    draft = admin.get("/api/draft").json()
    body = {"note": "n", "base": draft["base"], "revision": draft["revision"]}
    refused = admin.post("/api/versions", json=body, headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 422
    (issue,) = [i for i in refused.json()["error"]["issues"]
                if i["key"] == "ivr.option_collides_operator"]
    assert issue["said"]["message"] == "选项 '0' 与全局的“转人工”键 '0' 冲突"
    assert issue["message"] == "option '0' collides with the global operator key '0'"


def test_problems_of_the_yaml_text_itself_are_said_in_chinese(site):
    admin = site.client("admin", name="zhyaml", language="zh")
    draft = admin.get("/api/draft").json()
    twice = "site: {name: x}\nlines: {}\nsite: {name: y}\n"
    saved = admin.put("/api/draft", json={"base": draft["base"], "revision": draft["revision"],
                                          "text": twice})
    assert saved.status_code == 200, saved.text
    (issue,) = admin.get("/api/draft").json()["report"]["errors"]
    assert issue["message"] == "key 'site' appears twice in one mapping (first on line 1)"
    assert issue_said(issue, "zh") == ("键 'site' 在同一个映射中出现了两次（第一次在第 1 行）",
                                       "只保留其中一个；YAML 会悄悄地只用最后一个")
    assert "在同一个映射中出现了两次" in admin.get("/versions").text
    deep = "site: " + "[" * 60 + "]" * 60 + "\n"
    refused = admin.put("/api/draft", json={"base": draft["base"], "revision": 1, "text": deep},
                        headers={"Accept-Language": "zh-CN"})
    assert refused.status_code == 422
    (issue,) = refused.json()["error"]["issues"]
    assert issue["said"]["message"] == "文档中列表和映射的嵌套超过了 50 层"
    assert issue["message"] == "the document nests lists and mappings more than 50 deep"
