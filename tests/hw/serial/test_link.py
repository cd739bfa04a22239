"""The link table: every state and event covered, the docs generated from it."""

from pathlib import Path

import pytest

from branchline.hw.serial.link import (
    EVENTS,
    IGNORED,
    TRANSITIONS,
    LinkState,
    LinkTableError,
    markdown_table,
    mermaid_diagram,
    transition,
)

DOC = Path(__file__).parents[3] / "docs" / "board-protocol.md"


def test_every_state_and_event_is_handled_or_explicitly_ignored():
    pairs = {(s, e) for s in LinkState for e in EVENTS}
    assert set(TRANSITIONS) | IGNORED == pairs
    assert not set(TRANSITIONS) & IGNORED


def test_every_state_is_reachable_from_connecting():
    seen, todo = {LinkState.CONNECTING}, [LinkState.CONNECTING]
    while todo:
        state = todo.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is state and target not in seen:
                seen.add(target)
                todo.append(target)
    assert seen == set(LinkState)


def test_up_is_reachable_again_from_every_state():
    for start in LinkState:
        seen, todo = {start}, [start]
        while todo:
            state = todo.pop()
            for (source, _), target in TRANSITIONS.items():
                if source is state and target not in seen:
                    seen.add(target)
                    todo.append(target)
        assert LinkState.UP in seen, start


def test_ignored_pairs_keep_the_state_and_unknown_events_raise():
    assert transition(LinkState.STALLED, "silence") is LinkState.STALLED
    assert transition(LinkState.UP, "silence") is LinkState.STALLED
    with pytest.raises(LinkTableError, match="no entry for event 'unplugged' in state UP"):
        transition(LinkState.UP, "unplugged")


def test_the_spec_shows_the_table_and_the_diagram_as_generated():
    text = DOC.read_text()
    assert markdown_table() in text
    assert mermaid_diagram() in text
