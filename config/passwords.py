"""Password strength, one rule for every password the appliance accepts (web users now, SIP
phones' digest passwords next).

    problem = weak_password("a long passphrase", user="alice", site_words=["Futian Branch"])
    if problem: refuse with problem.english / problem.chinese (each says why and what passes)

A password passes when it has ``MIN_LENGTH`` to ``MAX_LENGTH`` characters and zxcvbn (Dropbox's
estimator: common-password lists, dictionary words, keyboard walks, repeats, sequences,
dates) scores it at least ``MIN_SCORE`` out of 4 (about 10^8 guesses) with the site's own words
counted as known to an attacker: the user name, the site's and bank's names from the
configuration, and "branchline". Only the first ``SCORED`` characters are scored: zxcvbn's
time grows with length, and a password that long is not weak for its tail.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "MIN_SCORE", "PIN_LENGTHS", "WeakPassword", "weak_password",
           "weak_pin"]

# Our choices, in the range OWASP ASVS v4 §2.1 asks for.
MIN_LENGTH = 10
MAX_LENGTH = 256  # hashing is deliberately costly; refuse megabyte "passwords"
MIN_SCORE = 3
SCORED = 100
_PRODUCT = "branchline"
_ACCEPTED_EN = ("use at least 10 characters that are not easy to guess, e.g. three or four "
                "unrelated words")
_ACCEPTED_ZH = "请使用至少 10 个不易猜到的字符，例如三四个互不相关的词"


# An agent's desktop PIN (our choice): typed at a shared counter PC, guarded by the login
# lockout (five tries per 15 minutes), so six digits is the least, as a bank card's PIN.
PIN_LENGTHS = (6, 12)
_PIN_ACCEPTED_EN = ("use 6 to 12 digits that are not one digit repeated, not a run such as "
                    "123456 and not the agent id")
_PIN_ACCEPTED_ZH = ("请使用 6 至 12 位数字，不要全是同一数字、不要顺序数字（如 123456），"
                    "不要包含坐席工号")


@dataclass(frozen=True, slots=True)
class WeakPassword:
    """Why a password is refused and what would be accepted, in English and Chinese."""

    english: str
    chinese: str

    def __str__(self) -> str:
        return f"{self.english} / {self.chinese}"


def weak_password(password: str, *, user: str = "",
                  site_words: Iterable[str] = ()) -> WeakPassword | None:
    """None when ``password`` may be used, else why not."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return WeakPassword(f"the password is too short; {_ACCEPTED_EN}",
                            f"密码太短；{_ACCEPTED_ZH}")
    if len(password) > MAX_LENGTH:
        return WeakPassword(f"the password is longer than {MAX_LENGTH} characters; use a "
                            "shorter one", f"密码超过 {MAX_LENGTH} 个字符；请用短一些的密码")
    words = _words([user, _PRODUCT, *site_words])
    if user and password.casefold() == user.casefold():
        return WeakPassword(f"the password is the user name; {_ACCEPTED_EN}",
                            f"密码与用户名相同；{_ACCEPTED_ZH}")
    # Imported here: its frequency lists take ~13 MiB that the appliance needs only while
    # someone sets a password.
    from zxcvbn import zxcvbn

    result = zxcvbn(password[:SCORED], user_inputs=words)
    # zxcvbn scores a site word inside a longer run generously; what is left without the
    # site's words must stand on its own.
    rest = password[:SCORED].casefold()
    own = {w for w in words if w in rest}
    for word in sorted(own, key=len, reverse=True):
        rest = rest.replace(word, "")
    if result["score"] >= MIN_SCORE and (not own or zxcvbn(rest)["score"] >= MIN_SCORE):
        return None
    own |= {m["matched_word"] for m in result["sequence"]
            if m.get("dictionary_name") == "user_inputs"}
    own = sorted(own)
    if own:
        return WeakPassword(
            f"the password is built on {', '.join(repr(w) for w in own)}, a word of this "
            f"site or user that an attacker tries first; {_ACCEPTED_EN}",
            f"密码基于本网点或用户的名称（{'、'.join(own)}），攻击者会最先尝试；{_ACCEPTED_ZH}")
    return WeakPassword(f"the password is easy to guess (repeats, sequences, keyboard "
                        f"patterns or a common password); {_ACCEPTED_EN}",
                        f"密码容易被猜到（重复、连续、键盘排列或常见密码）；{_ACCEPTED_ZH}")


def _words(texts: Iterable[str]) -> list[str]:
    """The words an attacker would try for this site: each text whole and word by word."""
    found: list[str] = []
    for text in texts:
        if not text:
            continue
        found.append(text.casefold())
        found += [w.casefold() for w in re.split(r"[\W_]+", text) if len(w) >= 3]
    return sorted(set(found))


def weak_pin(pin: str, *, user: str = "") -> WeakPassword | None:
    """None when ``pin`` (digits only) may be an agent's PIN, else why not."""
    low, high = PIN_LENGTHS
    if not (isinstance(pin, str) and pin.isascii() and pin.isdigit()
            and low <= len(pin) <= high):
        return WeakPassword(f"a PIN is digits only; {_PIN_ACCEPTED_EN}",
                            f"PIN 只能是数字；{_PIN_ACCEPTED_ZH}")
    steps = {(int(b) - int(a)) % 10 for a, b in itertools.pairwise(pin)}
    if len(set(pin)) == 1 or steps in ({1}, {9}):
        return WeakPassword(f"the PIN {'repeats one digit' if len(set(pin)) == 1 else 'is a run'}"
                            f"; {_PIN_ACCEPTED_EN}",
                            f"PIN 过于简单；{_PIN_ACCEPTED_ZH}")
    if user and user in pin:
        return WeakPassword(f"the PIN contains the agent id; {_PIN_ACCEPTED_EN}",
                            f"PIN 包含坐席工号；{_PIN_ACCEPTED_ZH}")
    return None
