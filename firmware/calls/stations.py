"""Agent stations: the FXS phones agents answer calls on and key their state codes at.

``Station(app, port, name)``. What the phone does, and what the station makes of it:

* off hook while an offer rings it: ``OfferAnswered`` to the ACD; the appliance bridges the
  call to the agent's phone.
* off hook while a call back rings it (``ring_callback``): the call back attempt goes on
  (firmware/calls/callback.py: whisper, dial, answer detection); on hook before the answer ends
  the attempt.
* off hook with no offer: keypad mode; keys collect up to ``#``, then the document's
  ``agent_codes`` (login / ready / not ready / end wrap-up / logout) become the ACD event,
  confirmed by one beep, or refused (unknown code, illegal for the agent's state, agent not
  logged in here) with three short beeps.
* on hook while talking: the agent ended the call: ``CallEnded`` to the ACD and
  ``AgentCallEnded`` to the IVR (the survey follows).
* on hook otherwise: back to idle, keys forgotten.

A caller who hangs up while talking leaves the agent listening to busy tone until the phone
goes on hook. Keys pressed while talking are not codes (they may be for the caller). A login
code names the agent; it is accepted only at the station the configuration gives that agent,
since offers ring that station. Other codes act for the agent logged in here.
"""

from __future__ import annotations

import enum
import logging

from branchline.acd import (
    AgentLogin,
    AgentLogout,
    AgentNotReady,
    AgentReady,
    OfferAnswered,
    WrapUpEnded,
)
from branchline.firmware.calls import station_codes

__all__ = ["Station", "StationState"]

log = logging.getLogger("branchline.stations")
MAX_KEYS = 24


class StationState(enum.Enum):
    IDLE = "idle"  # on hook
    KEYPAD = "keypad"  # off hook, no call: collecting a code
    RINGING = "ringing"  # an offer rings the phone
    TALKING = "talking"
    CALLER_GONE = "caller_gone"  # off hook after the caller hung up: busy tone


class Station:
    """One agent phone (see the module docstring)."""

    def __init__(self, app, port: int, name: str):
        self.app = app
        self.port = port
        self.name = name
        self.state = StationState.IDLE
        self.off_hook = False
        self.keys = ""
        self.agent_id: str | None = None  # logged in here
        self.offer: tuple[str, str] | None = None  # (call id, agent id) while ringing
        self.callback = None  # the CallbackCall ringing this phone
        self.transfer = None  # the CallSession whose transfer rings this phone
        self.call = None  # the CallSession (or CallbackCall) while talking
        self.broken = False  # the port is out of service: the phone is not there

    def __repr__(self) -> str:
        return f"Station({self.name}, {self.state.value})"

    # --- the ACD's offers ---------------------------------------------------------------------

    def ring(self, call_id: str, agent_id: str) -> None:
        self.offer = (call_id, agent_id)
        # An off-hook phone cannot ring (the agent is still keying a code): it rings when it
        # goes back on hook, and the ACD's ring timeout runs meanwhile.
        if not self.off_hook and not self.broken:
            self.state = StationState.RINGING
            self.app.board.ring(self.port)

    def ring_callback(self, attempt) -> None:
        """Ring for a call back the agent is reserved for (rings on hook, like an offer)."""
        self.callback = attempt
        if not self.off_hook and not self.broken:
            self.state = StationState.RINGING
            self.app.board.ring(self.port)

    def cancel_callback(self) -> None:
        if self.callback is None:
            return
        self.callback = None
        self.app.board.stop_ring(self.port)
        if self.state is StationState.RINGING and self.offer is None:
            self.state = StationState.IDLE

    def ring_transfer(self, call) -> None:
        """Ring for a call an agent transfers or consults about (firmware/calls/control.py)."""
        self.transfer = call
        if not self.off_hook and not self.broken:
            self.state = StationState.RINGING
            self.app.board.ring(self.port)

    def cancel_transfer_ring(self, call) -> None:
        if self.transfer is not call:
            return
        self.transfer = None
        self.app.board.stop_ring(self.port)
        if self.state is StationState.RINGING and self.offer is None and self.callback is None:
            self.state = StationState.IDLE

    def attach(self, call) -> None:
        """This phone is in `call` now (a supervisor monitoring it, or taking it over)."""
        self.call, self.state, self.keys = call, StationState.TALKING, ""
        self.app.loop.tones.stop(self.port)

    def left_call(self) -> None:
        """Call control let this phone go (the caller went on with someone else)."""
        self.caller_gone()

    def cancel_ring(self) -> None:
        self.offer = None
        self.app.board.stop_ring(self.port)
        if self.state is StationState.RINGING:
            self.state = StationState.IDLE

    # --- the port -------------------------------------------------------------------------

    def out_of_service(self, now: float) -> None:
        """The phone is gone (its port out of service): what was up on it ends as if the agent
        hung up, and the agent logged in here is made not ready (``station_out_of_service``),
        which withdraws an offer ringing here. They key ready again when the phone is back."""
        self.broken = True
        call, self.call = self.call, None
        attempt, self.callback = self.callback, None
        self.off_hook, self.keys, self.offer = False, "", None
        self.state = StationState.IDLE
        self.app.loop.tones.stop(self.port)
        self.app.loop.renderer.stop(self.port)
        if attempt is not None:
            attempt.guard(now, lambda: attempt.release(now, "station_out_of_service"))
        if call is not None:
            self._hung_up(call, now)
        if self.agent_id is not None:
            self.app.agent_out_of_service(self.agent_id, now)

    def back_in_service(self) -> None:
        self.broken = False

    # --- the phone ------------------------------------------------------------------------

    def hook_off(self, now: float) -> None:
        self.off_hook = True
        self.app.loop.dtmf.reset(self.port)
        if self.transfer is not None:
            call, self.transfer = self.transfer, None
            self.app.board.stop_ring(self.port)
            self.call, self.state = call, StationState.TALKING
            call.guard(now, lambda: call.control.colleague_answered(self.port, now))
            return
        if self.callback is not None:
            attempt, self.callback = self.callback, None
            self.app.board.stop_ring(self.port)
            self.call, self.state = attempt, StationState.TALKING
            attempt.guard(now, lambda: attempt.agent_answered(now))
            return
        if self.offer is not None:
            call_id, agent_id = self.offer
            self.offer = None
            self.app.board.stop_ring(self.port)
            if self.app.acd_event(OfferAnswered(call_id, agent_id), now):
                self.state = StationState.TALKING
                return
        self.state = StationState.KEYPAD
        self.keys = ""

    def hook_on(self, now: float) -> None:
        self.off_hook = False
        self.keys = ""
        self.app.loop.tones.stop(self.port)
        call, self.call = self.call, None
        was = self.state
        ringing = (self.offer is not None or self.callback is not None
                   or self.transfer is not None)
        self.state = StationState.RINGING if ringing else StationState.IDLE
        if ringing:
            self.app.board.ring(self.port)
        if was is StationState.TALKING and call is not None:
            self._hung_up(call, now)

    def _hung_up(self, call, now: float) -> None:
        control = getattr(call, "control", None)
        if control is not None and control.involves(self.port):
            call.guard(now, lambda: control.hung_up(self.port, now))
        else:
            call.guard(now, lambda: call.agent_hung_up(now))

    def flash(self, now: float) -> None:
        """A hook flash: call control for the agent on a call (hold, back to the caller)."""
        call = self.call
        if self.state is StationState.TALKING and call is not None:
            call.guard(now, lambda: station_codes.flash(self, now))

    def caller_gone(self) -> None:
        self.call = None
        if self.off_hook:
            self.state = StationState.CALLER_GONE
            self.app.loop.tones.start(self.port, self.app.busy_tone)
        else:
            self.state = StationState.IDLE

    def digit(self, key: str, now: float) -> None:
        if self.state is StationState.TALKING and station_codes.controls_keys(self):
            self.keys = (self.keys + key)[-MAX_KEYS:]
            if key == "#":
                keys, self.keys = self.keys, ""
                call = self.call
                call.guard(now, lambda: self._call_code(keys, now))
            return
        if self.state not in (StationState.KEYPAD, StationState.CALLER_GONE):
            return
        self.keys = (self.keys + key)[-MAX_KEYS:]
        if key == "#":
            keys, self.keys = self.keys, ""
            self._code(keys, now)

    def _call_code(self, keys: str, now: float) -> None:
        done = station_codes.agent_code(self, keys, now)
        if done is None:
            done = station_codes.supervisor_code(self, keys, now)
        self._beep(bool(done))

    def _beep(self, accepted: bool) -> None:
        tones = self.app.loop.tones
        tones.stop(self.port)
        tones.start(self.port, self.app.beep if accepted else self.app.error_beep, repeat=False)

    def _code(self, keys: str, now: float) -> None:
        app = self.app
        if self.state is StationState.KEYPAD:
            monitored = station_codes.supervisor_code(self, keys, now)
            if monitored is not None:
                log.info("station %s keyed a supervisor code: %s", self.name,
                         "ok" if monitored else "refused")
                if not monitored:
                    self._beep(False)
                return
        keyed = app.config.document.agent_keyed(keys)
        event = None
        if keyed is not None:
            if keyed.action == "login":
                agent = app.config.document.agent(keyed.agent_id)
                if agent is not None and agent.station == self.name:
                    self.agent_id = keyed.agent_id
                    event = AgentLogin(keyed.agent_id)
            elif self.agent_id is not None:
                agent_id = self.agent_id
                event = {
                    "ready": lambda: AgentReady(agent_id),
                    "not_ready": lambda: AgentNotReady(agent_id, keyed.reason),
                    "end_wrapup": lambda: WrapUpEnded(agent_id),
                    "logout": lambda: AgentLogout(agent_id),
                }[keyed.action]()
        accepted = event is not None and app.acd_event(event, now)
        log.info("station %s keyed %s: %s", self.name, keyed.action if keyed else "(unknown)",
                 "ok" if accepted else "refused")
        if accepted and keyed.action == "logout":
            self.agent_id = None
        app.loop.tones.stop(self.port)
        app.loop.tones.start(self.port, app.beep if accepted else app.error_beep, repeat=False)
