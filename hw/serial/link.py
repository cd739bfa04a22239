"""The host's link to a board: its states and the transitions between them, as a table.

Theory of operation. The serial driver (hw/serial/board.py) owns the port and the clock; this
table says what each thing that happens does to the link. A state names what the driver is
doing; a transition's target state is entered with its entry work (the driver's ``_enter_*``):

- ``CONNECTING``: the port is not open yet; open it every ``reconnect_s`` until it opens.
- ``HANDSHAKING``: the port is open; ``Hello`` every ``heartbeat_s`` until a ``HelloReply``.
- ``UP``: the board answered; ports in service, heartbeats both ways, audio flowing.
- ``STALLED``: nothing arrived for ``timeout_s``: ports out of service, ``Hello`` every
  ``reconnect_s`` on the still open port (a board that wakes up answers it).
- ``RECONNECTING``: the port failed (the device path disappeared: unplugged): it is closed
  and reopened every ``reconnect_s``, then the handshake runs again.

Events: ``opened``, ``open_failed``, ``hello_reply`` (compatible), ``incompatible`` (a reply
with another protocol version or another port inventory), ``boot`` (the board says it
restarted, or an unasked ``HelloReply`` arrives while up: a reset mid-call), ``silence``
(nothing for ``timeout_s``), ``io_error`` (pyserial failed on the open port).

``TRANSITIONS[(state, event)]`` is the next state; every pair not in it is in ``IGNORED``
(it cannot happen in that state, or changes nothing). ``transition(state, event)`` raises
``LinkTableError`` for a pair in neither — a bug in the driver, never the board's doing.
docs/board-protocol.md shows this table and its diagram; a test checks they agree.
"""

import enum

__all__ = ["EVENTS", "IGNORED", "TRANSITIONS", "LinkState", "LinkTableError", "markdown_table",
           "mermaid_diagram", "transition"]


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    HANDSHAKING = "handshaking"
    UP = "up"
    STALLED = "stalled"
    RECONNECTING = "reconnecting"


class LinkTableError(RuntimeError):
    """A (state, event) pair the table does not cover: a driver bug."""


EVENTS = ("opened", "open_failed", "hello_reply", "incompatible", "boot", "silence",
          "io_error")

_S = LinkState
TRANSITIONS = {
    (_S.CONNECTING, "opened"): _S.HANDSHAKING,
    (_S.CONNECTING, "open_failed"): _S.CONNECTING,
    (_S.HANDSHAKING, "hello_reply"): _S.UP,
    (_S.HANDSHAKING, "incompatible"): _S.HANDSHAKING,
    (_S.HANDSHAKING, "silence"): _S.RECONNECTING,
    (_S.HANDSHAKING, "io_error"): _S.RECONNECTING,
    (_S.UP, "hello_reply"): _S.HANDSHAKING,
    (_S.UP, "boot"): _S.HANDSHAKING,
    (_S.UP, "silence"): _S.STALLED,
    (_S.UP, "io_error"): _S.RECONNECTING,
    (_S.STALLED, "hello_reply"): _S.UP,
    (_S.STALLED, "incompatible"): _S.HANDSHAKING,
    (_S.STALLED, "boot"): _S.HANDSHAKING,
    (_S.STALLED, "io_error"): _S.RECONNECTING,
    (_S.RECONNECTING, "opened"): _S.HANDSHAKING,
    (_S.RECONNECTING, "open_failed"): _S.RECONNECTING,
}

IGNORED = frozenset({
    # Only a closed port can be opened.
    *((s, e) for s in (_S.HANDSHAKING, _S.UP, _S.STALLED) for e in ("opened", "open_failed")),
    # Nothing is received or timed on a closed port.
    *((s, e) for s in (_S.CONNECTING, _S.RECONNECTING)
      for e in ("hello_reply", "incompatible", "boot", "silence", "io_error")),
    # A Boot while handshaking is the board coming up: its HelloReply follows.
    (_S.HANDSHAKING, "boot"),
    # Up, the inventory was already checked; a changed one arrives as a reset first.
    (_S.UP, "incompatible"),
    # Stalled already: the clock keeps running.
    (_S.STALLED, "silence"),
})


def transition(state, event):
    """The state after `event` in `state` (the same state if the pair is IGNORED)."""
    key = (state, event)
    if key in TRANSITIONS:
        return TRANSITIONS[key]
    if key in IGNORED:
        return state
    raise LinkTableError(f"link table: no entry for event {event!r} in state {state.name}")


def markdown_table():
    """The transitions as a Markdown table (docs/board-protocol.md carries it verbatim)."""
    rows = ["| state | event | next state |", "|---|---|---|"]
    rows += [f"| {s.value} | {e} | {t.value} |" for (s, e), t in TRANSITIONS.items()]
    return "\n".join(rows)


def mermaid_diagram():
    """The state diagram (Mermaid) of the transitions that change state."""
    lines = ["stateDiagram-v2", "    [*] --> connecting"]
    lines += [f"    {s.value} --> {t.value}: {e}" for (s, e), t in TRANSITIONS.items()
              if s is not t]
    return "\n".join(lines)
