"""The page's words in Chinese and English.

Every message has a key ("nav.flows") and one text per language in ``i18n_catalogue``;
``translate(key, language, **values)`` fills ``{name}`` placeholders with ``str.format``.
A missing key is a programming error and raises ``KeyError`` naming the key (the test
``tests/config/web/test_i18n.py`` renders every page in both languages, so none ships);
an unknown language is refused with the languages that exist.

The checker's issues carry their own keys (``key``, ``fix_key``, ``params``; the Chinese is in
``i18n_issues``): ``issue_said(issue, language)`` is an issue's problem and fix in the
language, its English text where it has no key.

Chinese comes first: it is the default for a page nobody has logged in to yet (the admins
are Chinese bank IT staff), and the catalogue lists it first.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from branchline.config.web.i18n.catalogue import MESSAGES

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "Translator", "issue_said",
           "messages_for_script", "translate", "translator"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
_INDEX = {"zh": 0, "en": 1}


def _text(key: str, language: str) -> str:
    if language not in _INDEX:
        raise ValueError(f"language {language!r} is not offered; use one of "
                         + ", ".join(LANGUAGES))
    try:
        return MESSAGES[key][_INDEX[language]]
    except KeyError:
        raise KeyError(f"i18n: no message {key!r}; add it to config/web/i18n/catalogue.py "
                       "in both languages") from None


def translate(key: str, language: str, /, **values: object) -> str:
    """The text of ``key`` in ``language`` with ``values`` filled in."""
    text = _text(key, language)
    return text.format(**values) if values else text


class Translator:
    """``t(key, **values)`` bound to one language, for templates; ``t.issue(issue)`` says a
    checker issue in it (``issue_said``)."""

    def __init__(self, language: str) -> None:
        if language not in _INDEX:
            raise ValueError(f"language {language!r} is not offered; use one of "
                             + ", ".join(LANGUAGES))
        self.language = language

    def __call__(self, key: str, /, **values: object) -> str:
        return translate(key, self.language, **values)

    def issue(self, issue: Mapping[str, object]) -> tuple[str, str]:
        return issue_said(issue, self.language)


def translator(language: str) -> Translator:
    """``t(key, **values)`` bound to one language, for templates."""
    return Translator(language)


def messages_for_script(language: str, prefix: str = "js.") -> dict[str, str]:
    """Messages the page's JavaScript needs (keys under ``prefix``), for one language."""
    return {key[len(prefix):]: translate(key, language)
            for key in MESSAGES if key.startswith(prefix)}


def issue_said(issue: Mapping[str, object], language: str) -> tuple[str, str]:
    """An issue (the API's dict: message, fix, and key, fix_key, params when it has them) as
    (problem, fix) in ``language``."""
    params = issue.get("params") or {}
    if not issue.get("key"):
        return str(issue["message"]), str(issue["fix"])
    return (_text(str(issue["key"]), language).format(**params),
            _text(str(issue["fix_key"]), language).format(**params))
