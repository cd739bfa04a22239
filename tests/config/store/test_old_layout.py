"""A data directory an older release wrote, with the appliance's store at config/config: the
first open moves it into config/ with all its history, or refuses when config/ has its own."""

import logging
import os

import pytest
import yaml

from branchline.config import default_document_text, open_config_store
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import check_document
from branchline.config.store import ConfigStore, TwoConfigStores


def _edited(site_name: str) -> str:
    document = yaml.safe_load(default_document_text())
    document["site"]["name"] = site_name
    return yaml.safe_dump(document, allow_unicode=True)


def _old_release_store(data: DataDir) -> ConfigStore:
    """What an older `branchline run` left: its store one folder too deep, three versions."""
    store = ConfigStore(data.config, check_document)  # the old appliance passed DATA/config
    assert store.root == data.old_nested_config
    store.initialise(default_document_text())
    store.publish(_edited("Old branch A"), who="page-admin", note="from the page", base=1)
    store.publish(_edited("Old branch B"), who="page-admin", note="again", base=2)
    store.save_draft("alice", _edited("Draft"), base=3, revision=0)
    return store


def test_an_old_nested_store_is_moved_into_place_with_its_history(tmp_path, caplog):
    data = DataDir(tmp_path / "data")
    _old_release_store(data)
    with caplog.at_level(logging.WARNING, logger="branchline.config.store"):
        store = open_config_store(data)
    assert [(i.number, i.who, i.note) for i in store.history()] == [
        (1, "branchline", "first run: the bundled default"),
        (2, "page-admin", "from the page"), (3, "page-admin", "again")]
    assert store.current_number() == 3
    assert store.draft("alice").revision == 1
    assert not data.old_nested_config.exists()
    assert (data.config / "versions" / "000003.json").is_file()
    assert any("moved 3 version(s)" in r.getMessage() and str(data.old_nested_config)
               in r.getMessage() for r in caplog.records)
    again = open_config_store(data)
    assert again.current_number() == 3 and len(again.history()) == 3


def test_a_move_cut_short_is_finished_by_the_next_open(tmp_path):
    data = DataDir(tmp_path / "data")
    _old_release_store(data)
    data.config.joinpath("versions").mkdir()  # the empty folders an old `config` command made
    os.rename(data.old_nested_config / "drafts", data.config / "drafts")
    os.rename(data.old_nested_config / "current", data.config / "current")  # then power cut
    store = open_config_store(data)
    assert [i.number for i in store.history()] == [1, 2, 3]
    assert store.current_number() == 3
    assert store.draft("alice").revision == 1


def test_two_stores_are_refused_naming_both_and_touching_nothing(tmp_path):
    data = DataDir(tmp_path / "data")
    _old_release_store(data)
    ConfigStore(data, check_document).initialise(default_document_text())  # `config` wrote v1
    before = sorted(str(p.relative_to(data.root)) for p in data.root.rglob("*"))
    with pytest.raises(TwoConfigStores) as refused:
        open_config_store(data)
    message = str(refused.value)
    assert f"{data.config} (version 1, written by `branchline config`)" in message
    assert f"{data.old_nested_config} (versions 1 to 3," in message
    assert f"mv {data.old_nested_config} {data.root}/config.appliance-old" in message
    assert sorted(str(p.relative_to(data.root)) for p in data.root.rglob("*")) == before


def test_a_fresh_directory_has_no_nested_store(tmp_path):
    data = DataDir(tmp_path / "data")
    store = open_config_store(data)
    assert store.root == data.config == data.root / "config"
    assert not data.old_nested_config.exists()
    assert [i.number for i in store.history()] == [1]
