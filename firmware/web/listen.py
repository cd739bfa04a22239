"""The runtime's side of listening to a call from the page (``RuntimeLink.listen``).

``monitored_call(link, call_id, who, admin)`` checks who may monitor a call: an admin any
call; a supervisor only the agents and queues ``call_control.supervisors`` gives their web
account (docs/call-control.md); a call not talking to an agent is refused with what would be
right. The page's listen and its whisper, barge and take-over (firmware/web/call_monitor.py)
both ask it first.

``open_listen(link, call_id, who, admin)`` then asks the loop for a tap (firmware/calls/
listen.py) and waits (at most a second) for the loop to take it. ``close_listen(link, tap)``
ends it and writes the audit entry: who, which call, when it began and how long it ran.
"""

from __future__ import annotations

from branchline.config.web.link import NotFound, Refused

__all__ = ["close_listen", "monitored_call", "open_listen"]

_TAKEN_S = 1.0


def monitored_call(link, call_id: str, who: str, admin: bool) -> dict:
    """The call's row of the live snapshot, once ``who`` may monitor it."""
    call = next((c for c in link.snapshot().get("calls", ()) if c["call_id"] == call_id), None)
    if call is None:
        raise NotFound(f"call {call_id!r} is not up (or not yet on the wallboard); choose a "
                       "call from the wallboard", code="unknown_call")
    agent, queue = call.get("agent"), call.get("queue")
    if not agent:
        raise Refused(f"call {call_id} is not talking to an agent; choose a call an agent "
                      "has answered", code="not_connected")
    if not admin:
        supervisor = link.app.config.document.call_control.supervisor(who)
        if supervisor is None or not supervisor.may_monitor(agent, queue):
            raise Refused(f"{who} may not monitor agent {agent} (queue {queue}); an admin "
                          "sets that in call_control.supervisors", code="not_allowed")
    return call


def open_listen(link, call_id: str, who: str, admin: bool):
    agent = monitored_call(link, call_id, who, admin)["agent"]
    tap = link.app.listeners.open(call_id, who, link._now_epoch())
    tap.agent = agent
    if not tap.wait_taken(_TAKEN_S):
        tap.close()
        raise Refused("the appliance did not take the request within a second; try again",
                      code="busy")
    return tap


def close_listen(link, tap) -> None:
    tap.close()
    seconds = link._now_epoch() - tap.started_epoch
    link.audit(tap.who, f"call {tap.call_id}: listen (page) agent {tap.agent}, {seconds:.1f} s",
               "")
