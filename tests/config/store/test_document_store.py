"""The document through the versioned store, on real files: first run, publish, refuse,
roll back."""

import pytest

from branchline.config.document.loading import (
    Document,
    check_document,
    default_document_text,
    open_config_store,
)
from branchline.config.store.versioned import ConfigRefused, ConfigStore

RENAMED = default_document_text().replace("name: Demo Branch", "name: Futian Branch")
BROKEN = default_document_text().replace('"2": loss,', '"2": lost,') \
    .replace("station: fxs3", "station: fxo2")


@pytest.fixture
def store(tmp_path):
    store = ConfigStore(tmp_path, check_document)
    first = store.initialise(default_document_text())
    assert first is not None and first.info.number == 1
    return store


def test_first_run_publishes_the_bundled_default(store):
    current = store.current()
    assert current.info.who == "branchline"
    assert current.text == default_document_text()
    assert store.initialise(default_document_text()) is None


def test_publish_hands_back_the_checked_document(store):
    published = store.publish(RENAMED, who="alice", note="our branch", base=1)
    assert isinstance(published.document, Document)
    assert published.document.site.name.startswith("Futian Branch")
    assert published.warnings == ()
    assert store.current_number() == 2


def test_a_bad_document_is_refused_with_every_error_and_the_running_version_kept(store):
    with pytest.raises(ConfigRefused) as caught:
        store.publish(BROKEN, who="bob", note="typo", base=1)
    paths = [issue.path for issue in caught.value.report.errors]
    # (the lost-card nodes stay reachable: loss_no_card leads back to loss, and the shared
    # card_entry subflow returns to loss_request as well as to balance_pin)
    assert paths == ["acd.agents.2.station", "flows.bank.nodes.main_menu.options.2"]
    line = next(n for n, text in enumerate(BROKEN.splitlines(), 1) if "station: fxo2" in text)
    assert f"acd.agents.2.station (line {line}): 'fxo2' is a trunk, not a station" \
        in str(caught.value)
    assert "the current version 1 stays in force" in str(caught.value)
    assert store.current_number() == 1
    assert [v.number for v in store.history()] == [1]


def test_rollback_puts_an_old_version_back_as_a_new_one(store):
    store.publish(RENAMED, who="alice", note="our branch", base=1)
    rolled = store.rollback(1, who="bob", note="wrong name")
    assert rolled.info.number == 3
    assert rolled.info.note == "rollback to 1: wrong name"
    assert rolled.document.site.name.startswith("Demo Branch")
    assert store.current().text == default_document_text()


def test_a_draft_is_checked_with_the_same_report(store):
    draft = store.draft("carol")
    store.save_draft("carol", BROKEN, base=draft.base, revision=draft.revision)
    report = store.check_draft("carol")
    assert [issue.path for issue in report.errors] == [
        "acd.agents.2.station", "flows.bank.nodes.main_menu.options.2"]


def test_open_config_store_puts_the_versions_under_data_config_once(tmp_path):
    store = open_config_store(tmp_path)
    assert (tmp_path / "config" / "versions" / "000001.yaml").read_text() == \
        default_document_text()
    store.publish(RENAMED, who="alice", note="our branch", base=1)
    again = open_config_store(tmp_path)
    assert [v.number for v in again.history()] == [1, 2]
    assert again.current().text == RENAMED
