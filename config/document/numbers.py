"""Telephone numbers as callers and admins write them, made comparable.

``normalise_number(text, country) -> "+8613801380001"``: any way of writing a number of the
site's country (national with the trunk prefix, national without it, international with
``+`` or the international prefix) becomes its E.164 form (ITU-T E.164: country code plus
national significant number, at most 15 digits). Spaces, dashes, dots and brackets are
ignored. A number that cannot be normalised raises ``KeyedValueError`` (a ValueError:
"what is wrong; the fix", with the message keys of ``issue_texts``).

National plans (the national significant number, NSN, is what follows the country code):

* cn: trunk prefix 0, international prefix 00; an NSN is 11 digits for a mobile (1xx...) and
  10 or 11 for a fixed line (area code of 2-3 digits, then 7-8 digits), so a fixed number
  must be written with its area code.
* us (NANP): trunk prefix 1, international prefix 011; an NSN is 10 digits.
"""

from __future__ import annotations

import re

from branchline.config.document.issue_texts import KeyedValueError

__all__ = ["normalise_number"]

E164_MAX_DIGITS = 15  # ITU-T E.164 §6.1
_SEPARATORS = re.compile(r"[\s\-.()]")
_PLANS = {
    # country: (country code, trunk prefix, international prefix, NSN lengths, example)
    "cn": ("86", "0", "00", (10, 11), "13801380001 or 075512345678"),
    "us": ("1", "1", "011", (10,), "2125551234"),
}


def normalise_number(text: str, country: str) -> str:
    code, trunk, international, lengths, example = _PLANS[country]
    raw = _SEPARATORS.sub("", str(text))
    if raw.startswith("+"):
        digits = raw[1:]
    elif raw.startswith(international):
        digits = raw[len(international):]
    else:
        digits = None
    if digits is not None:
        if not digits.isdigit() or not 8 <= len(digits) <= E164_MAX_DIGITS:
            raise KeyedValueError("doc.number_not_international", "doc.fix.international",
                                  text=text, most=E164_MAX_DIGITS, code=code)
        return "+" + digits
    if not raw.isdigit():
        raise KeyedValueError("doc.number_not_digits", "doc.fix.area_code", text=text,
                              example=example, code=code)
    national = raw
    if national.startswith(trunk) and len(national) - len(trunk) in lengths:
        national = national[len(trunk):]
    if len(national) not in lengths or national[0] == "0":
        raise KeyedValueError("doc.number_incomplete", "doc.fix.area_code", text=text,
                              count=len(national), example=example, code=code)
    return f"+{code}{national}"
