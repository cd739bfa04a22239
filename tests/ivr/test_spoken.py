"""Spoken values: every example of TELEPHONY.md "Speaking numbers and money in Mandarin",
the 两/二 and 零 rules, English and Cantonese, and a property test up to 10^12."""

import datetime as dt
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branchline.ivr import (
    SpokenValueError,
    say_date,
    say_digits,
    say_money,
    say_number,
    say_time,
    unit_texts,
    units_to_text,
)


def zh(units):
    return units_to_text(units, "zh")


@pytest.mark.parametrize(("amount", "text"), [
    ("1234567.89", "一百二十三万四千五百六十七元八角九分"),   # TELEPHONY.md
    ("12.05", "十二元零五分"),
    ("325.04", "三百二十五元零四分"),
    ("12.00", "十二元整"),
    ("0.05", "五分"),
    ("0.50", "五角"),
    ("0", "零元整"),
    ("10.10", "十元一角"),
    ("100000000.01", "一亿元零一分"),
    ("-20.5", "负二十元五角"),
    ("2000", "两千元整"),
])
def test_mandarin_money(amount, text):
    assert zh(say_money(amount, "zh")) == text


@pytest.mark.parametrize(("number", "text"), [
    (1001, "一千零一"),            # TELEPHONY.md: a run of zeros is read once
    (6007, "六千零七"),
    (12, "十二"),                  # leading 一十 is read 十
    (100000, "十万"),
    (110, "一百一十"),             # not 一百十
    (1010, "一千零一十"),
    (100010, "十万零一十"),
    (2000, "两千"),                # 两 before 千/万/亿
    (20000, "两万"),
    (200000000, "两亿"),
    (22000, "两万两千"),
    (120000, "十二万"),            # 二 at the 个 position of a group
    (20, "二十"),
    (2222, "两千两百二十二"),
    (10000001, "一千万零一"),
    (100000001, "一亿零一"),
    (100010000, "一亿零一万"),
    (1000000000, "十亿"),          # Asterisk fails above 10^9
    (10**12, "一万亿"),
    (0, "零"),
])
def test_mandarin_numbers(number, text):
    assert zh(say_number(number, "zh")) == text


def test_decimals_read_digit_by_digit_with_er():
    assert zh(say_number("3.2", "zh")) == "三点二"
    assert zh(say_number("2.22", "zh")) == "二点二二"


def test_liang_before_bai_is_configurable():
    assert zh(say_number(200, "zh")) == "两百"
    assert zh(say_number(200, "zh", liang_before_bai=False)) == "二百"


def test_digits_yao_and_cantonese_yat():
    assert zh(say_digits("95511", "zh")) == "九五五幺幺"
    assert zh(say_digits("95511", "zh", yao_for_one=False)) == "九五五一一"
    assert units_to_text(say_digits("101", "yue"), "yue") == "一零一"


def test_cantonese_uses_traditional_characters():
    assert units_to_text(say_money("22000.50", "yue"), "yue") == "兩萬兩千元五角"
    assert units_to_text(say_number(10**8 + 1, "yue"), "yue") == "一億零一"


@pytest.mark.parametrize(("value", "text"), [
    ("1234567.89", "one million two hundred thirty four thousand five hundred sixty seven "
                   "yuan eight jiao nine fen"),
    ("12.05", "twelve yuan five fen"),
    ("0.30", "three jiao"),
    ("1000000000000", "one trillion yuan"),
])
def test_english_money(value, text):
    assert units_to_text(say_money(value, "en"), "en") == text


def test_dates_and_times():
    day = dt.date(2026, 11, 23)
    assert zh(say_date(day, "zh")) == "二零二六年十一月二十三日"
    assert units_to_text(say_date(day, "yue"), "yue") == "二零二六年十一月二十三號"
    assert units_to_text(say_date(day, "en"), "en") == "November twenty third twenty twenty six"
    assert units_to_text(say_date("2005-01-02", "en"), "en") == "January second two thousand five"
    assert zh(say_time("09:00", "zh")) == "九点整"
    assert zh(say_time("14:05", "zh")) == "十四点零五分"
    assert zh(say_time("02:30", "zh")) == "两点三十分"
    assert units_to_text(say_time("17:30", "en"), "en") == "five thirty p.m."
    assert units_to_text(say_time("00:05", "en"), "en") == "twelve oh five a.m."


@pytest.mark.parametrize(("call", "message"), [
    (lambda: say_money("12.345", "zh"), "money: expected at most two decimals (jiao and fen)"),
    (lambda: say_number(10**12 + 1, "zh"), "number: expected a finite value no larger than "
                                           "10^12"),
    (lambda: say_number("abc", "zh"), "number: expected a decimal number like 1234.56"),
    (lambda: say_digits("12a4", "en"), "digits: expected a non-empty string of 0-9"),
    (lambda: say_date("23/11/2026", "zh"), "date: expected an ISO date like 2026-11-23"),
    (lambda: say_number(1, "fr"), "language 'fr' is not one of zh, yue, en"),
])
def test_errors_name_the_value_kind_and_never_echo_the_value(call, message):
    with pytest.raises(SpokenValueError) as caught:
        call()
    assert str(caught.value) == message


_DIGIT = {ch: i for i, ch in enumerate("零一二三四五六七八九")} | {"两": 2}
_SMALL = {"十": 10, "百": 100, "千": 1000}


def parse_chinese(text: str) -> int:
    """A reference reader for Chinese numerals (the inverse the speaker must satisfy)."""
    total = section = digit = 0
    for ch in text:
        if ch in _DIGIT:
            digit = _DIGIT[ch]
        elif ch in _SMALL:
            section += (digit or 1) * _SMALL[ch]
            digit = 0
        elif ch == "万":
            total += (section + digit) * 10**4
            section = digit = 0
        elif ch == "亿":
            total = (total + section + digit) * 10**8
            section = digit = 0
    return total + section + digit


@given(st.integers(min_value=0, max_value=10**12))
def test_every_integer_up_to_10_12_reads_back_and_uses_known_units(n):
    for lang in ("zh", "yue", "en"):
        units = say_number(n, lang)
        assert set(units) <= set(unit_texts(lang))
    text = zh(say_number(n, "zh"))
    assert parse_chinese(text) == n
    assert "零零" not in text and not (n > 0 and text.endswith("零"))
    assert not text.startswith("一十")
    # 两 before 千, and before 万/亿 when the 2 leads its group (十二万 and 一百零二万 keep 二).
    assert "二千" not in text and not re.search(r"(?<![十零])二[万亿]", text)


@given(st.integers(min_value=0, max_value=10**14))
def test_every_amount_uses_known_units(cents):
    for lang in ("zh", "yue", "en"):
        units = say_money(f"{cents // 100}.{cents % 100:02d}", lang)
        assert set(units) <= set(unit_texts(lang))


@given(st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31)),
       st.times())
def test_every_date_and_time_uses_known_units(day, moment):
    for lang in ("zh", "yue", "en"):
        assert set(say_date(day, lang)) <= set(unit_texts(lang))
        assert set(say_time(moment, lang)) <= set(unit_texts(lang))


def test_every_unit_has_text():
    for lang in ("zh", "yue", "en"):
        texts = unit_texts(lang)
        assert all(name.count("/") >= 1 and text.strip() for name, text in texts.items())
