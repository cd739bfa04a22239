"""Session handlers for the nodes that are not keypad input: play, message, transfer,
hangup, host, queue, and the instant nodes (language, switch, schedule, subflow).

``OutwardNodes`` is a mixin of :class:`~branchline.ivr.Session` (split out to keep modules
small); it uses the session's plumbing (``_play``, ``_target``, ``_go``, ``_end``, the
type-ahead buffer and the IVR clock) and follows the rules in ``_session``'s theory of
operation and docs/ivr.md. Its ``_on_*`` methods are named in ``_session.TABLE``.
"""

from __future__ import annotations

import datetime as dt

from branchline.ivr._conditions import evaluate
from branchline.ivr._events import (
    AgentCallEnded,
    Digit,
    Enqueue,
    HangUp,
    HostReplied,
    HostRequest,
    MessageRecorded,
    PlaybackFinished,
    QueueOutcome,
    RecordMessage,
    StopPlayback,
    StopRecording,
    Trace,
    Transfer,
    TransferOutcome,
)
from branchline.ivr._model import Node
from branchline.ivr._phases import Phase
from branchline.ivr._schedule import schedule_branch


class OutwardNodes:
    """Node handlers that talk to the outside world or pass straight through."""

    # --- play, message, transfer, hangup -------------------------------------------------------

    def _enter_play(self, node: Node, now: float, acts: list) -> str | None:
        if node.barge_in and self._buffer:
            acts.append(Trace("skipped", self.node, "caller typed ahead", now))
            return self._target(node.next, now, acts)
        self._play(node.items, node.barge_in, now, acts)
        self.phase = Phase.PLAYING
        return None

    def _enter_message(self, node: Node, now: float, acts: list) -> str | None:
        self._play(node.prompt, True, now, acts)
        self.phase = Phase.PLAYING
        return None

    def _enter_transfer(self, node: Node, now: float, acts: list) -> str | None:
        if node.prompt:
            self._play(node.prompt, False, now, acts)
            self.phase = Phase.PLAYING
            return None
        self._transfer(node, now, acts)
        return None

    def _transfer(self, node: Node, now: float, acts: list) -> None:
        if node.on_failure is None:
            self._end(Transfer(node.target), f"transfer to {node.target}", now, acts)
            return
        self._flush("the call is being transferred", now, acts)
        self._pause_ivr_clock(now, acts)
        acts.append(Trace("transfer", self.node, f"to {node.target}, waiting for the outcome",
                          now))
        acts.append(Transfer(node.target, returns=True))
        self.phase = Phase.TRANSFERRING

    def _on_transfer_outcome(self, event: TransferOutcome, now: float, acts: list) -> None:
        node = self.flow.node(self.node)
        acts.append(Trace("transfer", self.node, f"{node.target}: {event.outcome}"
                          + (f" ({event.reason})" if event.reason else ""), now))
        if event.outcome == "connected":
            self._end(None, f"transfer to {node.target}", now, acts)
            return
        self._resume_ivr_clock(now, acts)
        self._go(self._target(node.on_failure, now, acts), now, acts)

    def _enter_hangup(self, node: Node, now: float, acts: list) -> str | None:
        if node.prompt:
            self._play(node.prompt, False, now, acts)
            self.phase = Phase.PLAYING
            return None
        self._end(HangUp(node.reason), node.reason, now, acts)
        return None

    def _on_play_digit(self, event: Digit, now: float, acts: list) -> None:
        node = self.flow.node(self.node)
        self._hold(event.key, now, acts)
        if not self._play_barge:
            return
        acts.append(StopPlayback(self._playing or 0))
        self._playing = None
        self._go(self._after_play(node, now, acts), now, acts)

    def _on_played(self, event: PlaybackFinished, now: float, acts: list) -> None:
        if event.play_id != self._playing:
            self._ignored(event, now, acts, f"play {event.play_id} is not playing")
            return
        self._playing = None
        self._go(self._after_play(self.flow.node(self.node), now, acts), now, acts)

    def _after_play(self, node: Node, now: float, acts: list) -> str | None:
        if node.kind == "play":
            return self._target(node.next, now, acts)
        if node.kind == "message":
            self._flush("a recording takes no keys", now, acts)
            acts.append(RecordMessage(node.max_seconds, node.beep, self.call.caller))
            self._recording_stopped = False
            self.phase = Phase.RECORDING
            return None
        if node.kind == "transfer":
            self._transfer(node, now, acts)
        else:
            self._end(HangUp(node.reason), node.reason, now, acts)
        return None

    def _on_record_digit(self, event: Digit, now: float, acts: list) -> None:
        if event.key == "#" and not self._recording_stopped:
            self._recording_stopped = True
            acts.append(Trace("message", self.node, "caller pressed # to finish", now))
            acts.append(StopRecording())
        else:
            self._ignored(event, now, acts, "only # is used while recording")

    def _on_recorded(self, event: MessageRecorded, now: float, acts: list) -> None:
        acts.append(Trace("message", self.node, f"recorded {event.seconds:.1f} s for a "
                          "callback", now))
        self._go(self._target(self.flow.node(self.node).next, now, acts), now, acts)

    def _on_held_digit(self, event: Digit, now: float, acts: list) -> None:
        self._hold(event.key, now, acts)

    # --- host ------------------------------------------------------------------------------

    def _host_node(self) -> Node:
        return self.flow.node(self.node)

    def _enter_host(self, node: Node, now: float, acts: list) -> str | None:
        body: dict[str, str] = {}
        secret: set[str] = set()
        for field, var in node.body.items():
            value = self._value(var)
            if not value:
                # an empty value is left out: a caller without a number sends caller_absent
                # alone, never an empty caller the host would take for a broken request
                continue
            body[field] = value
            if var in self._sensitive_vars:
                secret.add(field)
        self._request_id += 1
        self._pending = self._request_id
        acts.append(HostRequest(self._request_id, node.endpoint, body, node.timeout,
                                frozenset(secret)))
        self._arm("host", now + node.timeout, acts)
        self.phase = Phase.HOST
        return None

    def _value(self, name: str) -> str:
        attributes = self._attributes()
        value = attributes[name] if name in attributes else self._vars.get(name, "")
        return "true" if value is True else "false" if value is False else str(value)

    def _attributes(self) -> dict[str, object]:
        return {"caller.vip": self.call.is_vip, "caller.number": self.call.caller,
                "caller.number_absent": self.call.caller_absent, "caller.older": self.older,
                "caller.dialled": self.call.dialled, "caller.port": self.call.port,
                "caller.language": self.language, "caller.errors": self._errors}

    def _on_host_reply(self, event: HostReplied, now: float, acts: list) -> None:
        if event.request_id != self._pending:
            self._ignored(event, now, acts, f"request {event.request_id} is not outstanding")
            return
        self._pending = None
        self._cancel("host", acts)
        node = self._host_node()
        status, code = event.status, str(event.data.get("code", ""))
        if status == "ok":
            missing = [f for f in node.results.values() if f not in event.data]
            if missing:
                acts.append(Trace("host", self.node, f"reply lacks {', '.join(missing)}", now))
                status, code = "failed", "bad_reply"
            else:
                for var, field in node.results.items():
                    self._vars[var] = str(event.data[field])
                older = self.flow.older_callers
                if older and older.host_var and self._vars.get(older.host_var, "").lower() \
                        in ("true", "1", "yes"):
                    self._become_older("the bank host says so", now, acts)
        if status not in ("ok", "error", "failed", "timeout"):
            status, code = "failed", "bad_reply"
        outcome = f"{node.endpoint}: {status}" + (f" {code}" if code and status != "ok" else "")
        acts.append(Trace("host", self.node, outcome, now))
        if status == "ok":
            target = node.on_ok
        elif status == "error":
            target = node.on_refused.get(code, node.on_error)
            self._host_problem = outcome
        else:
            target = node.on_timeout
            self._host_problem = outcome
        self._go(self._target(target, now, acts), now, acts)

    # --- queue -----------------------------------------------------------------------------

    def _enter_queue(self, node: Node, now: float, acts: list) -> str | None:
        self._flush("the call goes to a queue", now, acts)
        self._pause_ivr_clock(now, acts)
        skills = tuple(node.skills) + ((self.language,) if node.language_skill else ())
        data = {"call_id": self.call.call_id, "caller": self.call.caller,
                "language": self.language, "vip": self._value("caller.vip")}
        if self._host_problem:
            data["host_problem"] = self._host_problem  # why the bank's system did not serve
        for var in node.data:
            if var not in self._sensitive_vars:
                data[var] = self._value(var)
        priority = node.priority
        if self.older:
            priority = max(priority, self.flow.older_callers.queue_priority)
        acts.append(Enqueue(node.queue, priority, skills, data))
        self.phase = Phase.QUEUED
        return None

    def _on_queue_outcome(self, event: QueueOutcome, now: float, acts: list) -> None:
        node = self.flow.node(self.node)
        acts.append(Trace("queue", self.node, f"{node.queue}: {event.outcome}"
                          + (f" by agent {event.agent_id}" if event.agent_id else ""), now))
        if event.outcome == "answered":
            self._agent_id = event.agent_id
            self._call_escalated = True  # served by a person: later budgets hang up
            self.phase = Phase.WITH_AGENT
            return
        if event.outcome == "abandoned":
            self._end(HangUp("abandoned"), "caller left the queue", now, acts)
            return
        target = {"overflow": node.on_overflow, "callback": node.on_callback,
                  "closed": node.on_closed}.get(event.outcome)
        if target is None:
            self._end(HangUp(f"queue_{event.outcome}"), f"no next node for {event.outcome}",
                      now, acts)
            return
        self._resume_ivr_clock(now, acts)
        self._go(self._target(target, now, acts), now, acts)

    def _on_agent_call_ended(self, event: AgentCallEnded, now: float, acts: list) -> None:
        node = self.flow.node(self.node)
        if node.after_call is None:
            self._end(HangUp("agent_call_ended"), "agent call ended", now, acts)
            return
        self._time_limit = max(self._time_limit, self._ivr_used + self.flow.limits.grace_seconds)
        self._resume_ivr_clock(now, acts)
        self._go(self._target(node.after_call, now, acts), now, acts)

    # --- instant nodes ---------------------------------------------------------------------

    def _enter_language(self, node: Node, now: float, acts: list) -> str | None:
        self.language = node.set
        acts.append(Trace("language", self.node, node.set, now))
        return self._target(node.next, now, acts)

    def _enter_switch(self, node: Node, now: float, acts: list) -> str | None:
        values: dict[str, object] = {**self._vars, **self._attributes()}
        for i, case in enumerate(node.cases):
            if evaluate(case.when, values):
                acts.append(Trace("switch", self.node, f"case {i} -> {case.goto}", now))
                return self._target(case.goto, now, acts)
        acts.append(Trace("switch", self.node, f"default -> {node.default}", now))
        return self._target(node.default, now, acts)

    def _enter_schedule(self, node: Node, now: float, acts: list) -> str | None:
        moment = self.call.started_at + dt.timedelta(seconds=now - self._t0)
        branch = schedule_branch(node, moment)
        acts.append(Trace("schedule", self.node, f"{moment:%Y-%m-%d %H:%M %Z} {branch}", now))
        target = {"open": node.open, "closed": node.closed, "holiday": node.holiday}[branch]
        return self._target(target, now, acts)

    def _enter_subflow(self, node: Node, now: float, acts: list) -> str | None:
        back = self._target(node.next, now, acts)
        if back is None:
            return None
        self._returns.append(back)
        return self._target(self.flow.subflows[node.flow].start, now, acts, scope=node.flow)
