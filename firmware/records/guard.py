"""Last line of defence against storing a card number: find full PANs in text.

The IVR masks card numbers, PINs and the like before anything reaches the records database.
This guard exists for the day that masking has a bug: it refuses to store any text in which a
run of 13 to 19 digits (ISO/IEC 7812-1 primary account numbers), optionally grouped by single
spaces or hyphens as people write them, passes the Luhn check (ISO/IEC 7812-1 annex B).

About one random digit string in ten passes Luhn, so the guard refuses some innocent values of
that length too; that is the intended trade: a refused record is loud and can be fixed, a
stored card number cannot be un-stored from every backup.
"""

import re

from branchline.firmware.records.errors import SensitiveDataRefused

PAN_MIN_DIGITS = 13
PAN_MAX_DIGITS = 19
# E.164 §6.1: an international number has at most 15 digits, so a caller or dialled number
# longer than that cannot be a phone number; at 15 or fewer it is one, whatever Luhn says.
E164_MAX_DIGITS = 15

# A digit, then up to 18 more each optionally preceded by one space or hyphen; not touching
# other digits (so a 20-digit reference number is not read as a card number plus one).
_DIGIT_RUN = re.compile(r"(?<![0-9])[0-9](?:[ -]?[0-9]){12,18}(?![0-9])")


def luhn_ok(digits):
    """True when the digit string passes the Luhn (mod 10) check."""
    total = 0
    for i, char in enumerate(reversed(digits)):
        d = ord(char) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def find_pan(text, min_digits=PAN_MIN_DIGITS, allowed=frozenset()):
    """The first digit run in ``text`` that looks like a full card number, or None.

    Runs of fewer than ``min_digits`` digits, and runs listed in ``allowed`` (known phone
    numbers, digits only), are not taken for card numbers.
    """
    for match in _DIGIT_RUN.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if (min_digits <= len(digits) <= PAN_MAX_DIGITS and digits not in allowed
                and luhn_ok(digits)):
            return digits
    return None


def refuse_pan(where, field, text, min_digits=PAN_MIN_DIGITS, allowed=frozenset()):
    """Raise SensitiveDataRefused if ``text`` holds a full card number; never echo it."""
    pan = find_pan(text, min_digits, allowed)
    if pan is not None:
        masked = f"{pan[:6]}{'*' * (len(pan) - 10)}{pan[-4:]}"
        raise SensitiveDataRefused(
            f"{where}: field {field} holds what looks like a full card number ({masked}, "
            f"{len(pan)} digits passing Luhn); nothing was stored. The IVR must mask it "
            "before it is recorded (keep at most the first 6 and last 4 digits)"
        )
