"""The page's words in Chinese and English.

Every message has a key ("nav.flows") and one text per language in ``i18n_catalogue``;
``translate(key, language, **values)`` fills ``{name}`` placeholders with ``str.format``.
A missing key is a programming error and raises ``KeyError`` naming the key (the test
``tests/config/web/test_i18n.py`` renders every page in both languages, so none ships);
an unknown language is refused with the languages that exist.

Chinese comes first: it is the default for a page nobody has logged in to yet (the admins
are Chinese bank IT staff), and the catalogue lists it first.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from branchline.config.web.i18n_catalogue import MESSAGES

__all__ = ["DEFAULT_LANGUAGE", "LANGUAGES", "Language", "messages_for_script", "translate",
           "translator"]

Language = Literal["zh", "en"]
LANGUAGES: tuple[Language, ...] = ("zh", "en")
DEFAULT_LANGUAGE: Language = "zh"
_INDEX = {"zh": 0, "en": 1}


def translate(key: str, language: str, /, **values: object) -> str:
    """The text of ``key`` in ``language`` with ``values`` filled in."""
    if language not in _INDEX:
        raise ValueError(f"language {language!r} is not offered; use one of "
                         + ", ".join(LANGUAGES))
    try:
        text = MESSAGES[key][_INDEX[language]]
    except KeyError:
        raise KeyError(f"i18n: no message {key!r}; add it to config/web/i18n_catalogue.py "
                       "in both languages") from None
    return text.format(**values) if values else text


def translator(language: str) -> Callable[..., str]:
    """``t(key, **values)`` bound to one language, for templates."""
    if language not in _INDEX:
        raise ValueError(f"language {language!r} is not offered; use one of "
                         + ", ".join(LANGUAGES))

    def t(key: str, /, **values: object) -> str:
        return translate(key, language, **values)

    return t


def messages_for_script(language: str, prefix: str = "js.") -> dict[str, str]:
    """Messages the page's JavaScript needs (keys under ``prefix``), for one language."""
    return {key[len(prefix):]: translate(key, language)
            for key in MESSAGES if key.startswith(prefix)}
