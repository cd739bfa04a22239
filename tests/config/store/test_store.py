"""The versioned configuration store on real files: history, drafts, conflicts, rollback."""

import datetime
import hashlib
import json
from dataclasses import dataclass

import pytest
import yaml

from branchline.config.store.versioned import (
    BadUserName,
    ConfigConflict,
    ConfigRefused,
    ConfigStore,
    ConfigStoreCorrupt,
    ConfigStoreUnavailable,
    Draft,
    NoSuchDraft,
    NoSuchVersion,
    VersionInfo,
)

DEFAULT = "greeting: welcome\nqueues: [cards]\n"
V2 = "greeting: welcome\nqueues: [cards, loans]\n"
V3 = "greeting: hello\nqueues: [cards, loans]\n"


@dataclass(frozen=True, slots=True)
class Report:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def validate(text):
    """A stand-in for the real document validator: YAML mapping with a queues list."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return None, Report(errors=(f"not YAML: {exc}",))
    if not isinstance(document, dict):
        return None, Report(errors=("document: expected a mapping of sections",))
    errors = () if document.get("queues") else ("queues: missing; add at least one queue",)
    warnings = () if document.get("greeting") else ("greeting: empty; callers hear silence",)
    return document, Report(errors, warnings)


class Clock:
    """A wall clock the test sets by hand, one minute per reading."""

    def __init__(self):
        self.now = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=datetime.UTC)

    def __call__(self):
        self.now += datetime.timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(tmp_path):
    store = ConfigStore(tmp_path, validate, clock=Clock())
    store.initialise(DEFAULT)
    return store


def test_first_run_publishes_the_bundled_default(tmp_path):
    store = ConfigStore(tmp_path, validate, clock=Clock())
    assert store.current() is None
    first = store.initialise(DEFAULT)
    assert first.info == VersionInfo(
        number=1, who="branchline", at="2026-11-23T09:01:00Z",
        note="first run: the bundled default", parent=None,
        sha256=hashlib.sha256(DEFAULT.encode()).hexdigest())
    assert first.document == {"greeting": "welcome", "queues": ["cards"]}
    assert (tmp_path / "config" / "versions" / "000001.yaml").read_text() == DEFAULT
    assert (tmp_path / "config" / "current").read_text() == "000001\n"
    assert store.initialise("queues: [other]\n") is None
    assert [v.number for v in store.history()] == [1]


def test_an_invalid_bundled_default_is_refused(tmp_path):
    store = ConfigStore(tmp_path, validate)
    with pytest.raises(ConfigRefused, match="queues: missing"):
        store.initialise("greeting: hi\n")
    assert store.history() == []


def test_publish_appends_a_version_and_moves_current(store, tmp_path):
    published = store.publish(V2, who="alice", note="add loans queue", base=1)
    assert published.info.number == 2
    assert published.info.parent == 1
    assert published.warnings == ()
    assert store.current().text == V2
    assert store.get(1).text == DEFAULT
    assert [(v.number, v.who, v.note) for v in store.history()] == [
        (1, "branchline", "first run: the bundled default"),
        (2, "alice", "add loans queue"),
    ]
    sidecar = json.loads((tmp_path / "config" / "versions" / "000002.json").read_text())
    assert sidecar["sha256"] == hashlib.sha256(V2.encode()).hexdigest()


def test_warnings_do_not_block_a_publish(store):
    published = store.publish("queues: [cards]\n", who="alice", note="no greeting", base=1)
    assert published.warnings == ("greeting: empty; callers hear silence",)


@pytest.mark.parametrize(("text", "error"), [
    ("greeting: hi\n", "queues: missing"),
    ("queues: [unclosed\n", "not YAML"),
    ("- just a list\n", "expected a mapping"),
])
def test_a_bad_config_is_refused_and_the_current_one_stays(store, tmp_path, text, error):
    with pytest.raises(ConfigRefused, match=f"(?s)version 1 stays in force:.*{error}") as refused:
        store.publish(text, who="alice", note="oops", base=1)
    assert refused.value.report.errors
    assert store.current().text == DEFAULT
    assert sorted(p.name for p in (tmp_path / "config" / "versions").iterdir()) == \
        ["000001.json", "000001.yaml"]


def test_two_admins_cannot_overwrite_each_other(store):
    store.publish(V2, who="alice", note="add loans queue", base=1)
    with pytest.raises(ConfigConflict) as conflict:
        store.publish(V3, who="bob", note="new greeting", base=1)
    assert str(conflict.value) == (
        "config store: publishing for bob: version 2 was published by alice at "
        "2026-11-23T09:02:00Z ('add loans queue') after you started from version 1; look "
        "at the diff from 1 to 2, apply your change on top of version 2 and save again "
        "with base 2"
    )
    assert store.current().text == V2


def test_diff_between_any_two_versions(store):
    store.publish(V2, who="alice", note="loans", base=1)
    store.publish(V3, who="alice", note="hello", base=2)
    assert store.diff(1, 3) == (
        "--- version 1\n+++ version 3\n@@ -1,2 +1,2 @@\n"
        "-greeting: welcome\n-queues: [cards]\n+greeting: hello\n+queues: [cards, loans]\n"
    )
    assert store.diff(3, 3) == ""


def test_rollback_publishes_a_copy_of_the_old_version(store):
    store.publish(V2, who="alice", note="loans", base=1)
    back = store.rollback(1, who="bob", note="loans queue not staffed yet")
    assert back.info.number == 3
    assert back.info.note == "rollback to 1: loans queue not staffed yet"
    assert back.info.parent == 2
    assert store.current().text == DEFAULT
    assert store.get(2).text == V2  # history is append-only
    assert store.get(3).info.sha256 == store.get(1).info.sha256


def test_rollback_to_a_version_todays_validator_refuses_changes_nothing(tmp_path):
    lenient = ConfigStore(tmp_path, lambda text: (text, Report()))
    lenient.initialise("greeting: hi\n")
    lenient.publish(DEFAULT, who="alice", note="queues", base=1)
    strict = ConfigStore(tmp_path, validate)
    with pytest.raises(ConfigRefused, match="queues: missing"):
        strict.rollback(1, who="bob")
    assert strict.current_number() == 2


def test_unknown_versions_and_drafts(store):
    with pytest.raises(NoSuchVersion, match="no version 9; published versions are 1 to 1"):
        store.get(9)
    with pytest.raises(NoSuchDraft, match="carol has no saved draft"):
        store.check_draft("carol")


def test_a_tampered_version_file_is_detected(store, tmp_path):
    (tmp_path / "config" / "versions" / "000001.yaml").write_text("queues: [evil]\n")
    with pytest.raises(ConfigStoreCorrupt, match="does not match the sha256"):
        store.current()


def test_a_damaged_current_pointer_is_reported(store, tmp_path):
    (tmp_path / "config" / "current").write_text("latest please")
    with pytest.raises(ConfigStoreCorrupt, match="not a version number"):
        store.current()


# -- drafts ------------------------------------------------------------------------------------

def test_a_new_draft_starts_from_the_current_version(store):
    assert store.draft("alice") == Draft(user="alice", base=1, revision=0, text=DEFAULT)


def test_draft_save_validate_diff_publish(store, tmp_path):
    saved = store.save_draft("alice", V2, base=1, revision=0)
    assert saved == Draft("alice", 1, 1, V2, "2026-11-23T09:02:00Z")
    assert store.draft("alice") == saved
    assert (tmp_path / "config" / "drafts" / "alice.yaml").read_text().endswith(V2)
    assert store.check_draft("alice").errors == ()
    assert "+queues: [cards, loans]" in store.diff_draft("alice")
    assert store.save_draft("alice", V3, base=1, revision=1).revision == 2

    published = store.publish_draft("alice", note="loans and hello")
    assert (published.info.number, published.info.who) == (2, "alice")
    assert store.current().text == V3
    assert not (tmp_path / "config" / "drafts" / "alice.yaml").exists()


def test_an_invalid_draft_can_be_saved_but_not_published(store):
    store.save_draft("alice", "greeting: hi\n", base=1, revision=0)
    assert store.check_draft("alice").errors == ("queues: missing; add at least one queue",)
    with pytest.raises(ConfigRefused):
        store.publish_draft("alice", note="broken")
    assert store.draft("alice").text == "greeting: hi\n"
    assert store.current_number() == 1


def test_a_draft_based_on_an_old_version_is_refused_until_rebased(store):
    store.save_draft("bob", V3, base=1, revision=0)
    store.publish(V2, who="alice", note="add loans queue", base=1)
    with pytest.raises(ConfigConflict, match="version 2 was published by alice at "
                                             r"2026-11-23T09:03:00Z \('add loans queue'\)"):
        store.save_draft("bob", V3 + "# more\n", base=1, revision=1)
    with pytest.raises(ConfigConflict, match="version 2 was published by alice"):
        store.publish_draft("bob", note="hello")
    rebased = store.save_draft("bob", V3, base=2, revision=1)
    assert (rebased.base, rebased.revision) == (2, 2)
    assert store.publish_draft("bob", note="hello").info.parent == 2


def test_the_same_user_saving_from_two_windows_is_caught(store):
    store.save_draft("alice", V2, base=1, revision=0)
    store.save_draft("alice", V3, base=1, revision=1)
    with pytest.raises(ConfigConflict, match="at revision 2, but this edit was loaded at "
                                             "revision 1"):
        store.save_draft("alice", V2 + "# stale\n", base=1, revision=1)
    assert store.draft("alice").text == V3


def test_publishing_a_draft_saved_again_since_it_was_seen_is_refused(store):
    store.save_draft("alice", V2, base=1, revision=0)
    store.save_draft("alice", V3, base=1, revision=1)     # another window: revision 2
    with pytest.raises(ConfigConflict, match="at revision 2, not revision 1"):
        store.publish_draft("alice", note="what I saw", revision=1)
    assert store.current_number() == 1
    assert store.publish_draft("alice", note="seen", revision=2).info.number == 2


def test_drafts_are_per_user(store):
    store.save_draft("alice", V2, base=1, revision=0)
    store.save_draft("bob", V3, base=1, revision=0)
    assert [(d.user, d.base, d.revision) for d in store.drafts()] == [
        ("alice", 1, 1), ("bob", 1, 1)]
    store.discard_draft("alice")
    assert store.draft("alice").revision == 0
    assert store.draft("bob").text == V3
    assert [d.user for d in store.drafts()] == ["bob"]


@pytest.mark.parametrize("user", ["../current", ".lock", "-rf", "a/b", "", "x" * 65, 7])
def test_user_names_that_cannot_name_a_file_are_refused(store, user):
    with pytest.raises(BadUserName, match="cannot name a draft"):
        store.save_draft(user, V2, base=1, revision=0)


def test_a_draft_without_its_header_is_reported(store, tmp_path):
    (tmp_path / "config" / "drafts" / "alice.yaml").write_text(V2)
    with pytest.raises(ConfigStoreCorrupt, match="lost its first line"):
        store.draft("alice")


def test_a_file_system_refusal_is_mapped_and_leaves_no_temporary(store, tmp_path):
    blocker = tmp_path / "config" / "versions" / "000002.yaml"
    blocker.mkdir()  # rename(2) of a file over a directory fails with EISDIR
    with pytest.raises(ConfigStoreUnavailable,
                       match=r"config store: writing .*000002\.yaml: Is a directory"):
        store.publish(V2, who="alice", note="x", base=1)
    assert not list((tmp_path / "config" / "versions").glob(".*.tmp"))
    assert [v.number for v in store.history()] == [1]
    assert store.current().text == DEFAULT
