"""The prompt catalogue a flow is checked against: which prompts exist, in which languages.

``PromptCatalog(texts, durations=None)``: ``texts[name][lang]`` is the text of a prompt;
``durations[name][lang]``, when known (a recording exists), its length in seconds. Without a
recording the length is estimated from the text: speech rates are our estimate for calm IVR
reading, 4 Chinese characters per second and 14 English characters per second, plus 0.3 s of
lead-in. Spoken values (``Say`` items) are estimated at 0.35 s per unit and 12 units.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CJK_PER_SECOND = 4.0
LATIN_PER_SECOND = 14.0
LEAD_IN = 0.3
SAY_ESTIMATE = 12 * 0.35


@dataclass(frozen=True, slots=True)
class PromptCatalog:
    texts: Mapping[str, Mapping[str, str]]
    durations: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def has(self, name: str, lang: str) -> bool:
        return lang in self.texts.get(name, {}) or lang in self.durations.get(name, {})

    def seconds(self, name: str, lang: str) -> float:
        """The prompt's length: recorded if known, else estimated from its text, else 0."""
        known = self.durations.get(name, {}).get(lang)
        if known is not None:
            return known
        text = self.texts.get(name, {}).get(lang)
        if text is None:
            return 0.0
        return LEAD_IN + estimate_seconds(text)


def estimate_seconds(text: str) -> float:
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff")
    other = len(text) - cjk
    return cjk / CJK_PER_SECOND + other / LATIN_PER_SECOND
