"""The agent state machine: one table, the only authority on what an agent may do next.

Theory of operation
-------------------
An agent is in exactly one `AgentState`. Everything that can happen to an agent is a `Trigger`:
the agent's own keys (login, logout, ready, not ready, wrap-up done), the outcome of an offer
(answer, decline, no answer, cancel), the end of a conversation, and the engine's decision to
reserve the agent for a call (`RESERVE`, which only the engine fires). `TABLE[state, trigger]`
gives one of three things:

* a state: the agent moves there;
* `PENDING`: the request is remembered and applied when the agent's present call is over
  (logging out or going not-ready while talking takes effect at the end of wrap-up, so wrap-up is
  never lost and no call is cut);
* `IGNORE`: the trigger is harmless here and changes nothing (e.g. a second login, a wrap-up key
  pressed after the wrap-up timer already ran out);
* `ILLEGAL`: the engine raises `AgentStateError` and changes nothing.

Every state x trigger pair is in the table; a test walks all of them and checks that every state
is reachable from LOGGED_OUT. `render_mermaid()` draws docs/acd.md's diagram from the same table.

Reservation is the heart of "no ring-all herds": the engine moves one agent READY -> RESERVED in
the same step as it decides the offer, so no second call can be offered to that agent, and every
RESERVED agent leaves that state by ANSWER, DECLINE, NO_ANSWER or CANCEL.
"""

from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVED = "reserved"
    TALKING = "talking"
    WRAP_UP = "wrap_up"


class Trigger(StrEnum):
    LOGIN = "login"
    LOGOUT = "logout"
    READY = "ready"
    NOT_READY = "not_ready"
    RESERVE = "reserve"
    ANSWER = "answer"
    DECLINE = "decline"
    NO_ANSWER = "no_answer"
    CANCEL = "cancel"
    CALL_END = "call_end"
    WRAP_END = "wrap_end"
    RELEASE = "release"  # a consultation with a colleague ended without a transfer


class Outcome(StrEnum):
    PENDING = "pending"
    IGNORE = "ignore"
    ILLEGAL = "illegal"


PENDING = Outcome.PENDING
IGNORE = Outcome.IGNORE
ILLEGAL = Outcome.ILLEGAL

S = AgentState
T = Trigger

# Reason codes the engine itself gives when it moves an agent to NOT_READY.
REASON_NO_ANSWER = "no answer"
REASON_DECLINED = "declined"
REASON_LOGGED_IN = "logged in"

_OFFER_OUTCOMES = (T.ANSWER, T.DECLINE, T.NO_ANSWER, T.CANCEL)

TABLE: dict[tuple[AgentState, Trigger], AgentState | Outcome] = {
    # Only a consulted colleague is released; nobody else is talking without a call.
    **{(state, T.RELEASE): ILLEGAL for state in AgentState if state is not S.TALKING},
    # Login lands in NOT_READY: the agent presses Ready when they are at the desk.
    (S.LOGGED_OUT, T.LOGIN): S.NOT_READY,
    (S.LOGGED_OUT, T.LOGOUT): IGNORE,
    (S.LOGGED_OUT, T.READY): ILLEGAL,
    (S.LOGGED_OUT, T.NOT_READY): ILLEGAL,
    (S.LOGGED_OUT, T.RESERVE): ILLEGAL,
    **{(S.LOGGED_OUT, t): ILLEGAL for t in _OFFER_OUTCOMES},
    (S.LOGGED_OUT, T.CALL_END): ILLEGAL,
    (S.LOGGED_OUT, T.WRAP_END): IGNORE,

    (S.READY, T.LOGIN): IGNORE,
    (S.READY, T.LOGOUT): S.LOGGED_OUT,
    (S.READY, T.READY): IGNORE,
    (S.READY, T.NOT_READY): S.NOT_READY,
    (S.READY, T.RESERVE): S.RESERVED,
    **{(S.READY, t): ILLEGAL for t in _OFFER_OUTCOMES},
    (S.READY, T.CALL_END): ILLEGAL,
    (S.READY, T.WRAP_END): IGNORE,  # the key raced the wrap-up timer

    (S.NOT_READY, T.LOGIN): IGNORE,
    (S.NOT_READY, T.LOGOUT): S.LOGGED_OUT,
    (S.NOT_READY, T.READY): S.READY,
    (S.NOT_READY, T.NOT_READY): S.NOT_READY,  # a new reason code
    (S.NOT_READY, T.RESERVE): ILLEGAL,
    **{(S.NOT_READY, t): ILLEGAL for t in _OFFER_OUTCOMES},
    (S.NOT_READY, T.CALL_END): ILLEGAL,
    (S.NOT_READY, T.WRAP_END): IGNORE,

    # While ringing: logging out or going not-ready withdraws the offer; the call keeps its place.
    (S.RESERVED, T.LOGIN): IGNORE,
    (S.RESERVED, T.LOGOUT): S.LOGGED_OUT,
    (S.RESERVED, T.READY): IGNORE,
    (S.RESERVED, T.NOT_READY): S.NOT_READY,
    (S.RESERVED, T.RESERVE): ILLEGAL,
    (S.RESERVED, T.ANSWER): S.TALKING,
    (S.RESERVED, T.DECLINE): S.NOT_READY,
    (S.RESERVED, T.NO_ANSWER): S.NOT_READY,
    (S.RESERVED, T.CANCEL): S.READY,  # the caller left: not the agent's fault
    (S.RESERVED, T.CALL_END): ILLEGAL,
    (S.RESERVED, T.WRAP_END): IGNORE,

    (S.TALKING, T.LOGIN): IGNORE,
    (S.TALKING, T.LOGOUT): PENDING,
    (S.TALKING, T.READY): IGNORE,
    (S.TALKING, T.NOT_READY): PENDING,
    (S.TALKING, T.RESERVE): ILLEGAL,
    **{(S.TALKING, t): ILLEGAL for t in _OFFER_OUTCOMES},
    (S.TALKING, T.CALL_END): S.WRAP_UP,
    (S.TALKING, T.WRAP_END): IGNORE,
    (S.TALKING, T.RELEASE): S.READY,  # or the pending logout / not-ready; no wrap-up

    (S.WRAP_UP, T.LOGIN): IGNORE,
    (S.WRAP_UP, T.LOGOUT): S.LOGGED_OUT,
    (S.WRAP_UP, T.READY): S.READY,  # same as the wrap-up key
    (S.WRAP_UP, T.NOT_READY): S.NOT_READY,
    (S.WRAP_UP, T.RESERVE): ILLEGAL,
    **{(S.WRAP_UP, t): ILLEGAL for t in _OFFER_OUTCOMES},
    (S.WRAP_UP, T.CALL_END): ILLEGAL,
    (S.WRAP_UP, T.WRAP_END): S.READY,  # or the pending logout / not-ready
}


def render_mermaid() -> str:
    """The state diagram (Mermaid) drawn from TABLE: one arrow per state change."""
    lines = ["stateDiagram-v2", "    [*] --> logged_out"]
    for (state, trigger), outcome in TABLE.items():
        if isinstance(outcome, AgentState):
            if outcome == state:
                lines.append(f"    {state.value} --> {state.value}: {trigger.value}")
            else:
                lines.append(f"    {state.value} --> {outcome.value}: {trigger.value}")
        elif outcome is PENDING:
            lines.append(f"    {state.value} --> {state.value}: {trigger.value} (pending)")
    return "\n".join(lines) + "\n"


def render_table() -> str:
    """TABLE as a Markdown grid, states down, triggers across."""
    head = "| state | " + " | ".join(t.value for t in Trigger) + " |"
    rule = "|---" * (len(Trigger) + 1) + "|"
    rows = [head, rule]
    for state in AgentState:
        cells = [_cell(TABLE[state, t]) for t in Trigger]
        rows.append(f"| **{state.value}** | " + " | ".join(cells) + " |")
    return "\n".join(rows) + "\n"


def _cell(outcome: AgentState | Outcome) -> str:
    if isinstance(outcome, AgentState):
        return outcome.value
    return {PENDING: "*pending*", IGNORE: "·", ILLEGAL: "✗"}[outcome]
