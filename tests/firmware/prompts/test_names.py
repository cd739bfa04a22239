"""Prompt names never lead outside the prompt directory."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from branchline.firmware.prompts.store import PromptNameError, PromptStore, check_name

BAD_NAMES = ["", "..", "../secret", "a/../../etc/passwd", "/etc/passwd", "a//b", "a/",
             ".hidden", "a/.b", "nul\x00byte", "back\\slash", "C:\\x", "space name",
             "x" * 121, "~root"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return PromptStore(tmp_path_factory.mktemp("data"), {"ok.name": {"en": "Hi."}},
                       ("en",), units={})


@pytest.mark.parametrize("name", BAD_NAMES)
def test_unsafe_names_are_refused_everywhere(store, name):
    with pytest.raises(PromptNameError, match="prompt name"):
        check_name(name)
    for use in (store.audio, store.text, store.seconds, store.cache_path,
                store.recorded_path):
        with pytest.raises(PromptNameError):
            use(name, "en")


def test_unsafe_names_in_texts_are_refused_at_construction(tmp_path):
    with pytest.raises(PromptNameError, match=r"'\.\./x' is not allowed"):
        PromptStore(tmp_path, {"../x": {"en": "x"}})
    with pytest.raises(PromptNameError, match="not allowed"):
        PromptStore(tmp_path, {}, units={"en": {"num/../../x": "x"}})


def test_unit_names_are_allowed():
    for name in ("num/2", "num/10^4", "date/month/11", "money/zheng", "main.long"):
        assert check_name(name) == name


@given(st.text(max_size=40))
def test_any_accepted_name_stays_inside_the_cache(name):
    store = PromptStore("/srv/data", {}, ("en",), units={})
    try:
        path = store.cache_path(name, "en")
    except PromptNameError:
        return
    assert path.resolve().is_relative_to(store.cache_dir.resolve() / "en")
    assert ".." not in path.parts


def test_recordings_with_unsafe_names_are_ignored(tmp_path):
    folder = tmp_path / "prompts" / "recorded" / "en"
    folder.mkdir(parents=True)
    (folder / ".hidden.wav").write_bytes(b"RIFF")
    (folder / "with space.wav").write_bytes(b"RIFF")
    store = PromptStore(tmp_path, {}, ("en",), units={})
    assert store.wanted() == {}
