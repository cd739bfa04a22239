"""Speech synthesis plans and checks: pinyin for Mandarin, the right voice for each run."""

import pytest

from branchline.firmware.prompts.speech import (
    ESPEAK_RATE,
    Segment,
    plan_digest,
    speech_plan,
    speech_problem,
    synthesise,
    to_pinyin,
)


def test_mandarin_becomes_tone_numbered_pinyin_with_digits_read_as_characters():
    assert to_pinyin("查询余额请按1。") == "cha2 xun2 yu2 e2 qing3 an4 yi1."
    assert to_pinyin("我们的") == "wo3 men5 de5"  # neutral tone is 5


def test_tone_changes_of_yi_and_bu_are_made_before_espeak_sees_the_tones():
    assert to_pinyin("一百") == "yi4 bai3"  # 一 before a third tone
    assert to_pinyin("不是") == "bu2 shi4"  # 不 before a fourth tone


def test_ivr_readings_override_dictionary_polyphones():
    assert to_pinyin("重听请按1") == "chong2 ting1 qing3 an4 yi1"
    assert to_pinyin("您的账户余额为") == "nin2 de5 zhang4 hu4 yu2 e2 wei2"


def test_plans_pick_the_voice_per_language():
    assert speech_plan("您好", "zh") == (Segment("zh", "cmn-latn-pinyin", 160, "nin2 hao3"),)
    assert speech_plan("你好", "yue") == (Segment("yue", "yue", 160, "你好"),)
    assert speech_plan("Hello.", "en") == (Segment("en", "en-us", 160, "Hello."),)


def test_the_three_language_menu_speaks_each_part_in_its_script():
    text = "普通话请按1。For English, press 3."
    assert speech_plan(text, "zh") == (
        Segment("zh", "cmn-latn-pinyin", 160, "pu3 tong1 hua4 qing3 an4 yi1."),
        Segment("en", "en-us", 160, "For English, press 3."))
    assert speech_plan(text, "en")[0] == Segment("zh", "cmn-latn-pinyin", 160,
                                                 "pu3 tong1 hua4 qing3 an4 yi1.")
    assert speech_plan(text, "yue")[0] == Segment("yue", "yue", 160, "普通话请按1。")


def test_the_digest_changes_with_what_is_said():
    assert plan_digest(speech_plan("您好", "zh")) != plan_digest(speech_plan("你好", "yue"))
    assert plan_digest(speech_plan("您好", "zh")) == plan_digest(speech_plan("您好", "zh"))


TEXT = "请输入您的银行卡号，以井号键结束。"


def seconds_of(speech):
    return len(speech.samples) / ESPEAK_RATE


def test_pinyin_synthesis_passes_the_checks():
    plan = speech_plan(TEXT, "zh")
    speech = synthesise(plan)
    assert speech_problem(TEXT, "zh", seconds_of(speech), speech, plan) is None


def test_the_check_catches_the_mandarin_voice_reading_characters_as_english():
    # Debian's `cmn` voice has no entry for most characters and falls back to English.
    plan = (Segment("zh", "cmn", 160, TEXT),)
    speech = synthesise(plan)
    problem = speech_problem(TEXT, "zh", seconds_of(speech), speech, plan)
    assert problem is not None and "fell back to English" in problem
    # ... and it says a lot more than the pinyin voice does for the same characters
    pinyin = synthesise(speech_plan(TEXT, "zh"))
    assert seconds_of(speech) > 1.3 * seconds_of(pinyin)


@pytest.mark.parametrize(("seconds", "verdict"), [
    (0.05, "too short"), (0.9, "too short"), (3.5, None), (12.0, "too long")])
def test_duration_bounds(seconds, verdict):
    plan = (Segment("yue", "yue", 160, TEXT),)
    speech = synthesise(plan)
    problem = speech_problem(TEXT, "yue", seconds, speech, plan)
    assert (problem is None) if verdict is None else (verdict in problem)


def test_nothing_to_say_is_an_error():
    assert speech_plan("。，", "zh") == ()
    with pytest.raises(Exception, match="nothing to say"):
        synthesise(())


def test_the_check_catches_a_cantonese_voice_meeting_english_words():
    text = "你好 hello"
    plan = (Segment("yue", "yue", 160, text),)
    speech = synthesise(plan)
    problem = speech_problem(text, "yue", seconds_of(speech), speech, plan)
    assert problem is not None and "Cantonese voice yue fell back to English" in problem
