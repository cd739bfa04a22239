"""Spoken values: digits, numbers, money, dates and times as lists of speech units.

A value is spoken as a tuple of unit names such as ``("num/1", "num/100", "money/yuan")``.
Each language has a fixed inventory of units; :func:`unit_texts` gives the text of every unit
so the runtime can synthesise (or record) each one once and concatenate them at play time, the
way Asterisk's ``digits/`` sound files work. Unit names always contain a ``/``; prompt names
never do, which is how a :class:`~branchline.ivr.Play` item tells the two apart.

Languages: ``zh`` Mandarin (simplified characters), ``yue`` Cantonese (traditional
characters, Cantonese readings), ``en`` English.

Chinese number rules (TELEPHONY.md "Speaking numbers and money in Mandarin"):

* digits group by four: 万 (10^4), 亿 (10^8); 10^12 is 一万亿;
* a zero inside a number is read 零 once per run; zeros at the end of a number or of a
  four-digit group are not read; a group that starts with zeros after a higher group gets 零;
* a leading 一十 is read 十 (12 -> 十二, 100000 -> 十万) only at the very start of the
  number (110 -> 一百一十, 1010 -> 一千零一十);
* 2 directly before 千, 万 or 亿 is 两; before 百 it is 两 when ``liang_before_bai`` (the
  default) else 二; everywhere else (十 and 个 positions, digits, decimals) it is 二;
* digit-by-digit reading (card and reference numbers) says 幺 for 1 in Mandarin when
  ``yao_for_one`` (the default, the common telephone reading); Cantonese always says 一.

Money (元/角/分): ``1234567.89`` -> 一百二十三万四千五百六十七元八角九分; 角 = 0 and
分 ≠ 0 puts 零 after 元 (12.05 -> 十二元零五分); whole amounts end in 整 (12.00 -> 十二元整).
English reads ``12.05`` as "twelve yuan five fen".

Errors: :class:`~branchline.ivr.SpokenValueError` (a ValueError) names the value kind and
what a valid value looks like. It never echoes a value (it may be a sensitive number).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from branchline.ivr._errors import SpokenValueError

LANGUAGES = ("zh", "yue", "en")
MAX_NUMBER = 10**12

_ZH_DIGITS = "零一二三四五六七八九"
_YUE_DIGITS = "零一二三四五六七八九"

# Unit texts. Chinese units share names; the text differs in script and, for a few, in word.
_ZH_UNITS = {
    **{f"num/{d}": _ZH_DIGITS[d] for d in range(10)},
    "num/2_liang": "两",
    "num/1_yao": "幺",
    "num/10": "十",
    "num/100": "百",
    "num/1000": "千",
    "num/10^4": "万",
    "num/10^8": "亿",
    "num/point": "点",
    "num/minus": "负",
    "money/yuan": "元",
    "money/jiao": "角",
    "money/fen": "分",
    "money/zheng": "整",
    "date/year": "年",
    "date/month": "月",
    "date/day": "日",
    "time/hour": "点",
    "time/minute": "分",
    "time/zheng": "整",
}
_YUE_UNITS = {
    **{f"num/{d}": _YUE_DIGITS[d] for d in range(10)},
    "num/2_liang": "兩",
    "num/10": "十",
    "num/100": "百",
    "num/1000": "千",
    "num/10^4": "萬",
    "num/10^8": "億",
    "num/point": "點",
    "num/minus": "負",
    "money/yuan": "元",
    "money/jiao": "角",
    "money/fen": "分",
    "money/zheng": "正",
    "date/year": "年",
    "date/month": "月",
    "date/day": "號",
    "time/hour": "點",
    "time/minute": "分",
    "time/zheng": "正",
}
_EN_SMALL = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
    "eighteen", "nineteen",
)
_EN_TENS = {20: "twenty", 30: "thirty", 40: "forty", 50: "fifty", 60: "sixty", 70: "seventy",
            80: "eighty", 90: "ninety"}
_EN_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
_EN_ORDINAL_SMALL = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth",
    "seventeenth", "eighteenth", "nineteenth", "twentieth",
)
_EN_UNITS = {
    **{f"num/{n}": _EN_SMALL[n] for n in range(20)},
    **{f"num/{n}": word for n, word in _EN_TENS.items()},
    "num/100": "hundred",
    "num/1000": "thousand",
    "num/10^6": "million",
    "num/10^9": "billion",
    "num/10^12": "trillion",
    "num/point": "point",
    "num/minus": "minus",
    "money/yuan": "yuan",
    "money/jiao": "jiao",
    "money/fen": "fen",
    **{f"date/month/{m}": name for m, name in enumerate(_EN_MONTHS, start=1)},
    **{f"date/ord/{n}": word for n, word in enumerate(_EN_ORDINAL_SMALL, start=1)},
    "date/ord/30": "thirtieth",
    "time/oh": "oh",
    "time/oclock": "o'clock",
    "time/am": "a.m.",
    "time/pm": "p.m.",
}
_UNITS = {"zh": _ZH_UNITS, "yue": _YUE_UNITS, "en": _EN_UNITS}


def unit_texts(lang: str) -> dict[str, str]:
    """Every unit of ``lang`` and its text, for synthesis and display."""
    return dict(_UNITS[_check_lang(lang)])


def units_to_text(units: tuple[str, ...], lang: str) -> str:
    """The text of ``units`` joined as they would be heard (spaces between English words)."""
    table = _UNITS[_check_lang(lang)]
    words = [table[u] for u in units]
    return " ".join(words) if lang == "en" else "".join(words)


def _check_lang(lang: str) -> str:
    if lang not in _UNITS:
        raise SpokenValueError(f"language {lang!r} is not one of {', '.join(LANGUAGES)}")
    return lang


# --- digits -----------------------------------------------------------------------------


def say_digits(value: str, lang: str, *, yao_for_one: bool = True) -> tuple[str, ...]:
    """Read a string of digits one by one (card, account and reference numbers)."""
    _check_lang(lang)
    if not value or not value.isdigit() or not value.isascii():
        raise SpokenValueError("digits: expected a non-empty string of 0-9")
    one = "num/1_yao" if (lang == "zh" and yao_for_one) else "num/1"
    return tuple(one if ch == "1" else f"num/{ch}" for ch in value)


# --- integers ---------------------------------------------------------------------------


def say_number(value: int | str | Decimal, lang: str, *,
               liang_before_bai: bool = True) -> tuple[str, ...]:
    """Read an integer or decimal number, ``-10^12 .. 10^12``; decimals digit by digit."""
    _check_lang(lang)
    number = _decimal(value, "number")
    sign: tuple[str, ...] = ("num/minus",) if number < 0 else ()
    number = abs(number)
    whole = int(number)
    text = format(number, "f")
    fraction = text.split(".", 1)[1].rstrip("0") if "." in text else ""
    units = sign + _integer(whole, lang, liang_before_bai)
    if fraction:
        units += ("num/point", *tuple(f"num/{ch}" for ch in fraction))
    return units


def _decimal(value: int | str | Decimal, kind: str) -> Decimal:
    try:
        number = Decimal(value) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError, TypeError):
        raise SpokenValueError(f"{kind}: expected a decimal number like 1234.56") from None
    if not number.is_finite() or abs(number) > MAX_NUMBER:
        raise SpokenValueError(f"{kind}: expected a finite value no larger than 10^12")
    return number


def _integer(n: int, lang: str, liang_before_bai: bool) -> tuple[str, ...]:
    if lang == "en":
        return _en_integer(n)
    return tuple(_zh_integer(n, leading=True, liang_before_bai=liang_before_bai))


def _zh_integer(n: int, *, leading: bool, liang_before_bai: bool) -> list[str]:
    """Chinese reading of ``n >= 0``; ``leading`` is true at the start of the whole number."""
    if n == 0:
        return ["num/0"]
    for big, unit, next_group in ((10**8, "num/10^8", 10**7), (10**4, "num/10^4", 10**3)):
        if n >= big:
            high, low = divmod(n, big)
            out = _zh_integer(high, leading=leading, liang_before_bai=liang_before_bai)
            if out == ["num/2"]:
                out = ["num/2_liang"]
            out.append(unit)
            if low:
                if low < next_group:
                    out.append("num/0")
                out += _zh_integer(low, leading=False, liang_before_bai=liang_before_bai)
            return out
    return _zh_group(n, leading=leading, liang_before_bai=liang_before_bai)


def _zh_group(n: int, *, leading: bool, liang_before_bai: bool) -> list[str]:
    """One four-digit group, 1..9999."""
    digits = [n // 1000, n // 100 % 10, n // 10 % 10, n % 10]
    places = ["num/1000", "num/100", "num/10", None]
    out: list[str] = []
    pending_zero = False
    started = False
    for digit, place in zip(digits, places, strict=True):
        if digit == 0:
            pending_zero = started
            continue
        if pending_zero:
            out.append("num/0")
            pending_zero = False
        word = f"num/{digit}"
        if digit == 2 and (place == "num/1000" or (place == "num/100" and liang_before_bai)):
            word = "num/2_liang"
        if not (digit == 1 and place == "num/10" and leading and not started):
            out.append(word)
        if place:
            out.append(place)
        started = True
    return out


def _en_integer(n: int) -> tuple[str, ...]:
    if n == 0:
        return ("num/0",)
    out: list[str] = []
    for scale, unit in ((10**12, "num/10^12"), (10**9, "num/10^9"), (10**6, "num/10^6"),
                        (1000, "num/1000")):
        if n >= scale:
            high, n = divmod(n, scale)
            out += [*_en_under_1000(high), unit]
    if n:
        out += _en_under_1000(n)
    return tuple(out)


def _en_under_1000(n: int) -> list[str]:
    out: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        out += [f"num/{hundreds}", "num/100"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        out.append(f"num/{tens * 10}")
        if ones:
            out.append(f"num/{ones}")
    elif rest:
        out.append(f"num/{rest}")
    return out


# --- money ------------------------------------------------------------------------------


def say_money(value: int | str | Decimal, lang: str, *,
              liang_before_bai: bool = True) -> tuple[str, ...]:
    """Read an amount in yuan with up to two decimals (jiao, fen)."""
    _check_lang(lang)
    amount = _decimal(value, "money")
    if amount != amount.quantize(Decimal("0.01")):
        raise SpokenValueError("money: expected at most two decimals (jiao and fen)")
    sign: tuple[str, ...] = ("num/minus",) if amount < 0 else ()
    cents = int(abs(amount) * 100)
    yuan, rest = divmod(cents, 100)
    jiao, fen = divmod(rest, 10)

    def count(n: int) -> tuple[str, ...]:
        return _integer(n, lang, liang_before_bai)

    out = list(sign)
    if lang == "en":
        if yuan or not rest:
            out += [*count(yuan), "money/yuan"]
        if jiao:
            out += [*count(jiao), "money/jiao"]
        if fen:
            out += [*count(fen), "money/fen"]
        return tuple(out)
    if yuan:
        out += [*count(yuan), "money/yuan"]
    if not rest:
        if not yuan:
            out += ["num/0", "money/yuan"]
        out.append("money/zheng")
        return tuple(out)
    if jiao:
        out += [*count(jiao), "money/jiao"]
    elif yuan:
        out.append("num/0")
    if fen:
        out += [*count(fen), "money/fen"]
    return tuple(out)


# --- dates and times --------------------------------------------------------------------


def say_date(value: dt.date | str, lang: str) -> tuple[str, ...]:
    """Read a calendar date: 二零二六年十一月二十三日 / November twenty-third, twenty twenty-six."""
    _check_lang(lang)
    day = _parse_date(value)
    if lang == "en":
        return (f"date/month/{day.month}", *_en_ordinal(day.day), *_en_year(day.year))
    year = tuple(f"num/{ch}" for ch in f"{day.year:04d}")
    return (*year, "date/year", *_integer(day.month, lang, True), "date/month",
            *_integer(day.day, lang, True), "date/day")


def say_time(value: dt.time | str, lang: str) -> tuple[str, ...]:
    """Read a time of day: 24-hour in Chinese (十七点三十分), 12-hour in English."""
    _check_lang(lang)
    moment = _parse_time(value)
    hour, minute = moment.hour, moment.minute
    if lang == "en":
        out = list(_en_integer(hour % 12 or 12))
        if minute == 0:
            out.append("time/oclock")
        elif minute < 10:
            out += ["time/oh", f"num/{minute}"]
        else:
            out += _en_integer(minute)
        out.append("time/am" if hour < 12 else "time/pm")
        return tuple(out)
    # The hour is a count of o'clock: 2:00 is 两点 in speech.
    hour_units = ["num/2_liang"] if hour == 2 else list(_integer(hour, lang, True))
    out = [*hour_units, "time/hour"]
    if minute == 0:
        out.append("time/zheng")
    else:
        if minute < 10:
            out.append("num/0")
        out += [*_integer(minute, lang, True), "time/minute"]
    return tuple(out)


def _parse_date(value: dt.date | str) -> dt.date:
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise SpokenValueError("date: expected an ISO date like 2026-11-23") from None


def _parse_time(value: dt.time | str) -> dt.time:
    if isinstance(value, dt.time):
        return value
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        raise SpokenValueError("time: expected a time like 17:30") from None


def _en_ordinal(n: int) -> tuple[str, ...]:
    if n <= 20 or n == 30:
        return (f"date/ord/{n}",)
    tens, ones = divmod(n, 10)
    return (f"num/{tens * 10}", f"date/ord/{ones}")


def _en_year(year: int) -> tuple[str, ...]:
    if 2000 <= year <= 2009 or year < 1000:
        return _en_integer(year)
    high, low = divmod(year, 100)
    if low == 0:
        return (*_en_integer(high), "num/100")
    if low < 10:
        return (*_en_integer(high), "time/oh", f"num/{low}")
    return (*_en_integer(high), *_en_integer(low))


SAYERS = {
    "digits": say_digits,
    "number": say_number,
    "money": say_money,
    "date": say_date,
    "time": say_time,
}
