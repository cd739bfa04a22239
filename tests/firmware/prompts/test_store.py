"""The prompt store on a real data directory with real espeak-ng: build, cache, recordings."""

import json

import numpy as np
import pytest
import soundfile

from branchline.dsp import active_level_dbm0
from branchline.dsp.timescale import stretch
from branchline.firmware.prompts import store as store_module
from branchline.firmware.prompts.store import (
    PROMPT_LEVEL_DBM0,
    BuildReport,
    PromptMissing,
    PromptNameError,
    PromptStore,
)

TEXTS = {
    "main.short": {"zh": "余额按1，挂失按2，人工按0。", "yue": "結餘按1，人工按0。",
                   "en": "Balance 1, a person 0."},
    "common.goodbye": {"zh": "感谢您的来电，再见。", "yue": "多謝你嘅來電，再見。",
                       "en": "Thank you for calling. Goodbye."},
}
UNITS = {"zh": {"num/1_yao": "幺", "num/2": "二"}, "yue": {"num/2": "二"},
         "en": {"num/2": "two", "num/10^4": "ten thousand"}}
RATE = 8000


def make_store(path, texts=TEXTS, languages=("zh", "yue", "en")):
    return PromptStore(path, texts, languages, units=UNITS)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    store = make_store(tmp_path_factory.mktemp("data"))
    report = store.build()
    return store, report


def test_build_synthesises_every_prompt_and_unit_once(built):
    store, report = built
    expected = {(n, lang) for n in TEXTS for lang in ("zh", "yue", "en")}
    expected |= {(u, lang) for lang, units in UNITS.items() for u in units}
    assert set(report.synthesised) == expected
    assert report.ok and report.unchanged == 0 and report.recorded == ()
    for name, lang in expected:
        assert store.cache_path(name, lang).is_file()


def test_cached_audio_is_8khz_int16_at_the_prompt_level(built):
    store, _ = built
    samples, rate = soundfile.read(store.cache_path("main.short", "zh"), dtype="int16")
    assert rate == RATE
    assert samples.ndim == 1
    assert np.array_equal(samples, store.audio("main.short", "zh"))
    assert active_level_dbm0(samples) == pytest.approx(PROMPT_LEVEL_DBM0, abs=0.5)


def test_second_build_with_same_texts_does_nothing(built, tmp_path):
    store, first = built
    again = PromptStore(store.root.parent, TEXTS, units=UNITS).build()
    assert again.synthesised == () and again.recorded == ()
    assert again.unchanged == len(first.synthesised)


def test_a_changed_text_rebuilds_only_that_prompt(tmp_path):
    make_store(tmp_path, languages=("en",)).build()
    changed = {**TEXTS, "main.short": {**TEXTS["main.short"], "en": "Balance 1."}}
    report = make_store(tmp_path, changed, languages=("en",)).build()
    assert report.synthesised == (("main.short", "en"),)
    assert report.unchanged == 1 + len(UNITS["en"])


def test_manifest_records_source_digest_and_length(built):
    store, _ = built
    manifest = json.loads((store.cache_dir / "manifest.json").read_text())
    entry = manifest["prompts"]["en:num/10^4"]
    assert entry["source"] == "speech"
    assert entry["seconds"] == pytest.approx(store.seconds("num/10^4", "en"))
    assert len(entry["digest"]) == 64


def test_seconds_are_plausible_for_the_text(built):
    store, _ = built
    short = store.seconds("num/2", "zh")
    sentence = store.seconds("main.short", "zh")
    assert 0.15 < short < 0.8
    assert 2.0 < sentence < 6.0  # 14 syllables at a calm IVR pace


def test_progress_reports_each_prompt(tmp_path):
    seen = []
    make_store(tmp_path, languages=("en",)).build(lambda done, total, what: seen.append(
        (done, total, what)))
    assert seen[-1][0] == seen[-1][1] == 2 + len(UNITS["en"])
    assert ("en/num/2" in {what for *_, what in seen})


def test_render_items_and_items_text_follow_the_play_items(built):
    store, _ = built
    items = ("main.short", "num/1_yao", "num/2")
    arrays = store.render_items(items, "zh")
    assert [len(a) for a in arrays] == [len(store.audio(i, "zh")) for i in items]
    assert all(a.dtype == np.int16 for a in arrays)
    assert store.items_text(items, "zh") == "余额按1，挂失按2，人工按0。幺二"
    assert store.items_text(("main.short", "num/2"), "en") == "Balance 1, a person 0. two"


def test_audio_is_loaded_once_and_kept(built):
    store, _ = built
    assert store.audio("common.goodbye", "en") is store.audio("common.goodbye", "en")


def test_preload_then_audio_never_reads_the_disk(tmp_path):
    store = make_store(tmp_path, languages=("en",))
    store.build()
    fresh = make_store(tmp_path, languages=("en",))
    assert fresh.preload() == 2 + len(UNITS["en"])
    for path in store.cache_dir.rglob("*.wav"):
        path.unlink()
    assert len(fresh.audio("main.short", "en")) > RATE


def test_catalog_has_real_durations_for_prompts_not_units(built):
    store, _ = built
    catalog = store.catalog()
    assert catalog.seconds("main.short", "yue") == store.seconds("main.short", "yue")
    assert set(catalog.durations) == set(TEXTS)


def test_a_missing_prompt_names_itself_its_language_and_the_fix(tmp_path):
    store = PromptStore(tmp_path, {"only.en": {"en": "Hello."}}, ("zh", "en"), units={})
    report = store.build()
    assert report.missing == (("only.en", "zh"),)
    assert not report.ok
    with pytest.raises(PromptMissing) as caught:
        store.audio("only.en", "zh")
    message = str(caught.value)
    assert "'only.en'" in message and "Mandarin (zh)" in message
    assert str(tmp_path / "prompts" / "recorded" / "zh" / "only.en.wav") in message
    assert "add its zh text" in message


def test_an_unknown_prompt_is_missing_not_a_crash(built):
    store, _ = built
    with pytest.raises(PromptMissing, match=r"'no\.such' has no English"):
        store.audio("no.such", "en")
    with pytest.raises(PromptMissing, match=r"'no\.such'"):
        store.text("no.such", "en")


def test_an_unbuilt_prompt_says_to_build(tmp_path):
    store = make_store(tmp_path, languages=("en",))
    with pytest.raises(PromptMissing, match="is not built: run the prompt store's build"):
        store.audio("main.short", "en")


def test_a_language_outside_the_store_is_refused(built):
    store, _ = built
    with pytest.raises(PromptNameError, match="language 'fr' is not one of"):
        store.audio("main.short", "fr")


def test_prompt_names_with_a_slash_are_reserved_for_units(tmp_path):
    with pytest.raises(PromptNameError, match="reserved for speech units"):
        PromptStore(tmp_path, {"menu/main": {"en": "x"}})


def test_report_is_a_frozen_value(built):
    _, report = built
    assert isinstance(report, BuildReport)
    with pytest.raises(AttributeError):
        report.unchanged = 3


def test_a_deleted_cache_file_is_rebuilt(tmp_path):
    store = make_store(tmp_path, languages=("en",))
    store.build()
    store.cache_path("main.short", "en").unlink()
    report = make_store(tmp_path, languages=("en",)).build()
    assert report.synthesised == (("main.short", "en"),)


def test_an_unreadable_manifest_means_a_full_rebuild_not_a_crash(tmp_path):
    make_store(tmp_path, languages=("en",)).build()
    (tmp_path / "prompts" / "cache" / "manifest.json").write_text("{not json")
    report = make_store(tmp_path, languages=("en",)).build()
    assert len(report.synthesised) == 2 + len(UNITS["en"]) and report.ok


def test_without_espeak_every_synthesis_fails_with_the_remedy(tmp_path, monkeypatch):
    from branchline.firmware.prompts import speech as prompts_speech

    monkeypatch.setattr(prompts_speech, "ESPEAK", "espeak-ng-not-installed")
    report = make_store(tmp_path, languages=("en",)).build()
    assert report.synthesised == () and len(report.failed) == 2 + len(UNITS["en"])
    assert "espeak-ng is not installed; run scripts/install-system-deps" in \
        report.failed[0].message


def test_slowed_prompts_are_kept_within_a_budget_most_recent_first(built, monkeypatch):
    store, _ = built
    first, second, third = "main.short", "num/1_yao", "num/2"
    size = {i: stretch(store.audio(i, "zh"), 1 / 0.8).nbytes for i in (first, second, third)}
    monkeypatch.setattr(store_module, "SLOW_KEPT_BYTES",
                        size[first] + max(size[second], size[third]))
    (slow_first,) = store.render_items((first,), "zh", speed=0.8)
    assert len(slow_first) > len(store.audio(first, "zh"))  # stretched: a slower delivery
    (slow_second,) = store.render_items((second,), "zh", speed=0.8)
    assert store.render_items((first,), "zh", speed=0.8)[0] is slow_first  # kept, now newest
    store.render_items((third,), "zh", speed=0.8)  # over the budget: the oldest goes
    assert store.render_items((first,), "zh", speed=0.8)[0] is slow_first
    assert store.render_items((second,), "zh", speed=0.8)[0] is not slow_second  # made again


def test_the_flows_slow_speed_is_built_with_the_prompts_and_played_from_memory(
        tmp_path, monkeypatch):
    make = PromptStore(tmp_path, TEXTS, ("en",), units=UNITS, slow_speeds=[0.8, 1.0])
    assert make.slow_speeds == (0.8,)  # 1.0 is the prompt itself
    make.build()
    store = PromptStore(tmp_path, TEXTS, ("en",), units=UNITS, slow_speeds=[0.8])
    store.build()  # nothing to do: made once, then kept on disk like the prompts
    manifest = json.loads((store.cache_dir / "manifest.json").read_text())
    assert manifest["prompts"]["en:main.short"]["slow"] == ["0.8"]
    path = store.slow_path("main.short", "en", 0.8)
    samples, rate = soundfile.read(path, dtype="int16")
    assert rate == RATE
    assert np.array_equal(samples, stretch(make.audio("main.short", "en"), 1 / 0.8))
    store.preload()
    monkeypatch.setattr(store_module, "stretch", None)  # the loop never stretches them
    (played,) = store.render_items(["main.short"], "en", speed=0.8)
    assert np.array_equal(played, samples)
    assert store.render_items(["main.short"], "en", speed=0.8)[0] is played


def test_a_changed_prompt_gets_a_new_slowed_copy_and_a_new_speed_is_added(tmp_path):
    PromptStore(tmp_path, TEXTS, ("en",), units=UNITS, slow_speeds=[0.8]).build()
    changed = {**TEXTS, "main.short": {**TEXTS["main.short"], "en": "Balance 1."}}
    store = PromptStore(tmp_path, changed, ("en",), units=UNITS, slow_speeds=[0.8, 0.6])
    store.build()
    store.preload()
    for speed in (0.8, 0.6):
        (played,) = store.render_items(["main.short"], "en", speed=speed)
        assert np.array_equal(played, stretch(store.audio("main.short", "en"), 1 / speed))
    manifest = json.loads((store.cache_dir / "manifest.json").read_text())
    assert manifest["prompts"]["en:common.goodbye"]["slow"] == ["0.6", "0.8"]


def test_a_prompt_replaced_while_running_is_slowed_from_its_new_audio(tmp_path):
    store = PromptStore(tmp_path, TEXTS, ("en",), units=UNITS, slow_speeds=[0.8])
    store.build()
    store.preload()
    new = store.audio("common.goodbye", "en")
    store.install("main.short", "en", new, {"source": "recording", "digest": "x",
                                            "seconds": len(new) / RATE})
    (played,) = store.render_items(["main.short"], "en", speed=0.8)
    assert np.array_equal(played, stretch(new, 1 / 0.8))
