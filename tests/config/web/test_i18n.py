"""Every message exists in Chinese and English, and every key the code and templates use
exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from branchline.config.web import i18n
from branchline.config.web.i18n.catalogue import MESSAGES

WEB = Path(i18n.__file__).parents[1]
# t('key'), t("key"), t(f"prefix.{...}") is checked by its prefix having entries.
LITERAL = re.compile(r"""\bt\(\s*['"]([a-z_]+\.[a-z0-9_.]+)['"]""")
JS_LITERAL = re.compile(r"""\bB?\.?t\(\s*"([a-z_]+)"[,)]""")


def test_every_message_has_both_languages_and_the_same_placeholders():
    for key, (zh, en) in MESSAGES.items():
        assert zh.strip() and en.strip(), key
        assert set(re.findall(r"\{(\w+)\}", zh)) == set(re.findall(r"\{(\w+)\}", en)), key


def test_every_key_used_in_templates_and_python_exists():
    sources = [*WEB.glob("templates/*.html"), *WEB.rglob("*.py")]
    used = {key for path in sources for key in LITERAL.findall(path.read_text("utf-8"))
            if not key.endswith(("_", "."))}  # "agents.do_" ~ action: rendered by test_pages
    assert used, "the pattern found no keys: it is broken"
    assert sorted(used - set(MESSAGES)) == []


def test_every_key_the_scripts_use_exists_under_js():
    used = set()
    for path in WEB.glob("static/*.js"):
        used |= set(JS_LITERAL.findall(path.read_text("utf-8")))
    assert {"saved", "published", "outcome_queue"} <= used
    assert sorted(k for k in used if f"js.{k}" not in MESSAGES) == []


def test_translate_fills_values_and_refuses_unknown_keys_and_languages():
    assert i18n.translate("draft.errors", "en", n=2) == "2 error(s)"
    assert i18n.translate("draft.errors", "zh", n=2) == "2 个错误"
    with pytest.raises(KeyError, match=r"no message 'nope\.nope'; add it"):
        i18n.translate("nope.nope", "en")
    with pytest.raises(ValueError, match=r"language 'fr' is not offered; use one of zh, en"):
        i18n.translator("fr")
    assert i18n.messages_for_script("en")["saved"] == "Saved to your draft."
