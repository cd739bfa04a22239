"""The whole sample corpus, built once for Mandarin, Cantonese and English: every name resolves."""

from decimal import Decimal

import numpy as np
import pytest

from branchline.firmware.prompts.store import PromptStore
from branchline.ivr import (
    sample_flow,
    sample_prompts,
    say_digits,
    say_money,
    unit_texts,
    validate_flow,
)

LANGS = ("zh", "yue", "en")


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory):
    store = PromptStore(tmp_path_factory.mktemp("sample-data"), sample_prompts().texts)
    report = store.build()
    return store, report


def test_the_full_sample_builds_without_problems(sample_store):
    _, report = sample_store
    assert report.ok, (report.missing, report.failed)
    expected = len(sample_prompts().texts) * 3 + sum(len(unit_texts(lang)) for lang in LANGS)
    assert len(report.synthesised) == expected


def test_every_prompt_and_unit_resolves_in_every_language(sample_store):
    store, _ = sample_store
    store.preload()
    for lang in LANGS:
        names = [*sample_prompts().texts, *unit_texts(lang)]
        for name in names:
            audio = store.audio(name, lang)
            assert audio.dtype == np.int16 and audio.size > 0, (name, lang)


def test_a_balance_readout_renders_in_every_language(sample_store):
    store, _ = sample_store
    for lang in LANGS:
        items = ("balance.result", *say_money(Decimal("1234.56"), lang))
        arrays = store.render_items(items, lang)
        assert len(arrays) == len(items)
        assert sum(len(a) for a in arrays) / 8000 < 12
    text = store.items_text(("card.you_entered", *say_digits("6215", "zh")), "zh")
    assert text == "您输入的卡号是六二幺五"


def test_the_sample_flow_validates_against_the_built_catalogue(sample_store):
    store, _ = sample_store
    report = validate_flow(sample_flow(), queues={"general", "vip"},
                           endpoints={"balance", "card_loss"}, prompts=store.catalog())
    assert report.errors == ()
    assert store.catalog().durations["main.long"]["zh"] == store.seconds("main.long", "zh")
