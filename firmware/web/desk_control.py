"""The runtime's side of call control from the agent desktop (``RuntimeLink.call_control``).

``check(link, agent_id, action, target, who)`` runs on the web thread: it checks the request
against what the loop published (the agent's desk, the configuration in force) and raises
``NotFound`` / ``Refused`` with what would be right; then it audits the request and returns
the ``ControlCommand`` the link queues. ``ControlCommand.apply(app, feed, now)`` runs on the
loop thread at the next pump: the same ``CallControl`` operations as the keypad's codes
(firmware/calls/station_codes.py). A blind transfer or a consultation asked for while talking
puts the caller on hold first (as the keypad's flash would), and back if the step is refused.
A step the loop refuses (the call moved on, the colleague's phone went off hook) changes
nothing and shows on the agent's desk as its ``notice``.

    action            allowed while (the call's control phase)     target
    hold              talking, conference
    retrieve          held, consult_ringing, consulting
    cancel            consult_ringing, consulting                  (back to the caller)
    consult           talking, held                                an agent id, ready
    complete          consulting, conference
    conference        consulting
    transfer_agent    talking, held                                an agent id, ready
    transfer_queue    talking, held                                a queue's name
    transfer_outside  talking, held                                a digit of
                                                                   call_control.outside
                                                                   (over SIP: calls/outside.py)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from branchline.acd.agent_states import ILLEGAL, TABLE, AgentState, Trigger
from branchline.config.web.link import CALL_ACTIONS, Refused
from branchline.firmware.calls.conversation import Phase

__all__ = ["ALLOWED", "ControlCommand", "check", "targets"]

log = logging.getLogger("branchline.web")

ALLOWED: dict[str, tuple[str, ...]] = {
    "hold": ("talking", "conference"),
    "retrieve": ("held", "consult_ringing", "consulting"),
    "cancel": ("consult_ringing", "consulting"),
    "consult": ("talking", "held"),
    "complete": ("consulting", "conference"),
    "conference": ("consulting",),
    "transfer_agent": ("talking", "held"),
    "transfer_queue": ("talking", "held"),
    "transfer_outside": ("talking", "held"),
}
_TARGETED = ("consult", "transfer_agent", "transfer_queue", "transfer_outside")


@dataclass(frozen=True, slots=True)
class ControlCommand:
    agent_id: str
    call_id: str
    action: str
    target: str
    who: str

    def apply(self, app, feed, now: float) -> None:
        call = app.by_id.get(self.call_id)
        control = getattr(call, "control", None)
        station = next((s for s in app.stations.values() if s.agent_id == self.agent_id),
                       None)
        if (control is None or control.conv.over or station is None
                or control.agent_port != station.port):
            self._refused(feed, now, f"call {self.call_id} is no longer yours to control")
            return
        done: list[bool] = []
        call.guard(now, lambda: done.append(self._step(control, now)))
        if done and done[0]:
            feed.notice(self.agent_id, None, now)
        else:
            self._refused(feed, now, _why(self.action, self.target))

    def _step(self, control, now: float) -> bool:
        action, target = self.action, self.target
        match action:
            case "hold":
                return control.hold(now)
            case "retrieve" | "cancel":
                return control.resume(now)
            case "complete":
                return control.complete(now)
            case "conference":
                return control.conference(now)
        held_here = control.phase is Phase.TALKING
        if held_here and not control.hold(now):
            return False
        match action:
            case "consult":
                done = control.consult(target, now)
            case "transfer_agent":
                done = control.transfer_agent(target, now)
            case "transfer_queue":
                done = control.transfer_queue(target, now)
            case _:
                number = control.call.document.call_control.outside.get(target)
                done = number is not None and control.transfer_outside(number, now)
        if not done and held_here and not control.conv.over:
            control.resume(now)
        return done

    def _refused(self, feed, now: float, message: str) -> None:
        log.info("web: %s: call %s %s refused: %s", self.who, self.call_id, self.action,
                 message)
        feed.notice(self.agent_id, {"action": self.action, "message": message}, now)


def _why(action: str, target: str) -> str:
    if action in ("consult", "transfer_agent"):
        return (f"agent {target}'s phone could not be rung (off hook, out of service or "
                "taken meanwhile); choose another agent or try again")
    if action == "transfer_outside":
        return ("the outside number could not be reached (not among sip.transfer_targets, or "
                "no SIP line free); transfer to an agent or a queue")
    return f"{action} is not possible in the call's state now; see the call's state above"


def check(link, agent_id: str, action: str, target: str | None, who: str) -> ControlCommand:
    document = link._document()
    link._agent(document, agent_id)
    if action not in CALL_ACTIONS:
        raise Refused(f"call control: action {action!r}; use one of {', '.join(CALL_ACTIONS)}",
                      code="bad_action")
    desk = link.cti.desk(agent_id) or {}
    call = desk.get("call") or {}
    control = call.get("control")
    if control is None:
        raise Refused(f"agent {agent_id} has no call in progress; call control acts on a call "
                      "you have answered", code="no_call")
    if control["agent"] != agent_id:
        raise Refused(f"call {call['call_id']}: agent {control['agent']} has the caller, you "
                      "are the colleague; they hold, transfer or complete", code="not_yours")
    phase = control["phase"]
    if phase not in ALLOWED[action]:
        raise Refused(f"call {call['call_id']} is {phase}: {action} is possible while "
                      f"{' or '.join(ALLOWED[action])}", code="illegal_action")
    target = (target or "").strip()
    if action in _TARGETED and not target:
        raise Refused(f"call control: {action} needs a target", code="no_target")
    if action not in _TARGETED and target:
        raise Refused(f"call control: {action} takes no target (got {target!r})",
                      code="bad_target")
    if action in ("consult", "transfer_agent"):
        _check_colleague(link, document, agent_id, target)
    elif action == "transfer_queue":
        queues = [q.name for q in document.acd.queues]
        if target not in queues:
            raise Refused(f"queue {target!r} is not configured; use one of "
                          f"{', '.join(queues)}", code="unknown_queue")
    elif action == "transfer_outside":
        outside = document.call_control.outside
        if target not in outside:
            listed = ", ".join(f"{d} ({n})" for d, n in outside.items()) or "(none configured)"
            raise Refused(f"outside target {target!r} is not in call_control.outside; use one "
                          f"of {listed}", code="unknown_target")
    link.audit(who, f"call {call['call_id']}: {action}" + (f" {target}" if target else "")
               + f" by agent {agent_id} (page)", "")
    return ControlCommand(agent_id, call["call_id"], action, target, who)


def _check_colleague(link, document, agent_id: str, target: str) -> None:
    if target == agent_id:
        raise Refused(f"agent {target} is you; choose a colleague", code="bad_target")
    if document.agent(target) is None:
        known = ", ".join(a.id for a in document.acd.agents if a.id != agent_id) or "(none)"
        raise Refused(f"agent {target!r} is not configured; agents are: {known}",
                      code="unknown_agent")
    state = link._agent_state(target)
    if state is None or TABLE[state, Trigger.RESERVE] is ILLEGAL:
        shown = state.value if state is not None else AgentState.LOGGED_OUT.value
        raise Refused(f"agent {target} is {shown}: only a ready agent can be rung; choose a "
                      "ready agent or a queue", code="agent_busy")


def targets(link, document, agent_id: str) -> dict:
    """What the desk offers to transfer or consult to: the other agents (with their state),
    the queues, the outside numbers."""
    states = {row["id"]: row["state"] for row in link.snapshot().get("agents", ())}
    agents = []
    for agent in document.acd.agents:
        if agent.id == agent_id:
            continue
        desk = link.cti.desk(agent.id)
        state = desk["state"] if desk is not None else states.get(agent.id, "logged_out")
        agents.append({"id": agent.id, "name": agent.name, "state": state})
    return {"agents": agents, "queues": [q.name for q in document.acd.queues],
            "outside": dict(document.call_control.outside)}
