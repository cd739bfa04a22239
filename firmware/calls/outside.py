"""A caller handed to an outside number over SIP: the IVR's transfer node on a SIP trunk call,
and an agent's blind transfer to ``call_control.outside`` (``*43{digit}#``).

``refusal(call, number)`` says beforehand why a transfer cannot be made (None if it can):
the appliance has no SIP board, the number is not in ``sip.transfer_targets`` (toll fraud:
nothing is sent, the refusal is logged at WARNING and counted, ``transfers_refused`` in
/metrics), or no way out (no REFER for this caller and no free SIP channel that may dial).
``OutsideTransfer(call, number, now).start()`` then makes it, in one of two ways:

    refer   the caller came in on a SIP trunk whose ``transfer`` is ``refer``: the board
            REFERs the caller to the number (board_trunks.py); its ``TransferEnded`` 2xx
            ends our leg (the caller is the far end's now); a failure falls back to bridge
    bridge  a second call from the highest free SIP channel (``dial(..., "transfer")``,
            which the outbound rule checks again); the caller hears ringback until it is
            answered, then the mix bridges caller and outside leg both ways (the appliance
            stays in the media path, the call's recording goes on); either side's hang-up
            ends both

A transfer that fails (refused, busy, no answer in ``NO_ANSWER_S``, no way out) gives the
caller a clear message: the document's ``transfer.failed`` prompt if it has one, else China's
number-unobtainable tone, for ``FAILED_TONE_S``; then the call ends with reason
``transfer_failed:<number>``. Unless the IVR's transfer node has ``on_failure``
(``Transfer(returns=True)``, ``returns`` here): then a failure is counted and traced the same
way but the call goes on, the IVR told ``TransferOutcome("failed", why)`` (``fail_back``),
and a success tells it ``TransferOutcome("connected")``. The outside leg registers in the
dialer's ``lines`` (the appliance's table of trunks in outgoing use), so the line's answer and
hang-up reach it and no call back takes the channel.
"""

from __future__ import annotations

import logging

from branchline.dsp import CALL_PROGRESS_TONES, MixPath
from branchline.firmware.calls.callback import NO_ANSWER_S
from branchline.hw.ports import PortKind
from branchline.ivr import Trace, TransferOutcome

__all__ = ["FAILED_TONE_S", "OutsideTransfer", "fail_back", "refusal"]

log = logging.getLogger("branchline.transfer")

FAILED_TONE_S = 4.0  # two cycles of the unobtainable cadence and a bit: heard, then cleared
_TIMERS = ("no_answer", "failed")


def _sip(app):
    from branchline.firmware.sip_board import sip_of

    return sip_of(app.board)


def _refers(app, port: int) -> bool:
    refers = getattr(app.board, "refers", None)
    return refers is not None and refers(port)


def _free_line(app, number: str) -> int | None:
    """The highest SIP channel that is free and may dial ``number`` as a transfer."""
    for port in app.dialer.trunks:
        if (app.board.ports[port].kind is PortKind.SIP and port not in app.calls
                and port not in app.dialer.lines and port not in app.out_of_service
                and app.board.can_dial(port, number, "transfer")):
            return port
    return None


def refusal(call, number: str) -> str | None:
    """Why ``call`` cannot be transferred to ``number`` now, or None if it can."""
    app = call.app
    sip = _sip(app)
    if sip is None:
        return "no SIP trunk to transfer on"
    if not sip.policy.permits(number, "transfer"):
        return f"{number} is not in sip.transfer_targets"
    if not _refers(app, call.port) and _free_line(app, number) is None:
        return "no free SIP channel may dial it"
    return None


def refuse(call, number: str, why: str, now: float) -> None:
    """Log and count a transfer that is not made."""
    call.app.counters["transfers_refused"] += 1
    sip = _sip(call.app)
    if sip is not None and not sip.policy.permits(number, "transfer"):
        sip.transfer_refused()  # /metrics: branchline_sip_outbound_refused_total
    log.warning("call %s: transfer to %s refused: %s", call.call_id, number, why)
    call.s.traces.append(Trace("transfer_refused", "transfer", f"{number}: {why}", now))


def fail_back(call, number: str, why: str, now: float) -> None:
    """A transfer the IVR waits for did not happen: count and trace it, and hand the caller
    back to the flow (its ``on_failure``) instead of ending the call."""
    call.app.counters["transfers_failed"] += 1
    call.s.traces.append(Trace("transfer_failed", "transfer", why, now))
    log.info("call %s: transfer to %s failed: %s; the flow goes on", call.call_id, number, why)
    call.s.transferred = False
    call.s.outside = None
    call.feed(TransferOutcome("failed", why), now)


class OutsideTransfer:
    """One transfer of ``call``'s caller to ``number`` (see the module docstring)."""

    def __init__(self, call, number: str, now: float, returns: bool = False):
        self.call = call
        self.app = call.app
        self.number = number
        self.returns = returns  # the IVR waits for the outcome: a failure does not end the call
        self.line: int | None = None
        self.how = ""  # "refer" or "bridge" once started
        self.connected: float | None = None
        self.over = False
        self._refer_failed = False

    def __repr__(self) -> str:
        return f"OutsideTransfer({self.call.call_id} -> {self.number} by {self.how or '-'})"

    # --- what the appliance's dispatch of a line in outgoing use asks ---------------------

    @property
    def answered(self) -> bool:
        return self.connected is not None

    @property
    def records_audio(self) -> bool:
        return False  # the call's own recording holds both sides (the mix into the caller)

    def guard(self, now: float, step) -> None:
        self.call.guard(now, step)

    # --- starting ----------------------------------------------------------------------------

    def start(self, now: float) -> None:
        app, port = self.app, self.call.port
        if not self._refer_failed and _refers(app, port) and \
                app.board.transfer(port, self.number):
            self.how = "refer"
            self._trace(now, "refer", self.number)
            self._ringback()
            return
        self._bridge(now)

    def _bridge(self, now: float) -> None:
        app = self.app
        line = _free_line(app, self.number)
        if line is None:
            self.failed(now, "no free SIP channel")
            return
        self.how, self.line = "bridge", line
        app.dialer.lines[line] = self
        app.loop.dtmf.reset(line)
        app.loop.progress.reset(line)
        app.loop.progress.set_detect(line, [])  # a SIP line signals its hang-up
        app.board.dial(line, self.number, "transfer")
        self._trace(now, "dial", f"{self.number} on {app.board.ports[line].name}")
        self._ringback()
        app.loop.timers.schedule(now + NO_ANSWER_S, self, "no_answer")

    def _ringback(self) -> None:
        tones = CALL_PROGRESS_TONES[self.call.document.site.country]
        self.app.loop.renderer.stop(self.call.port)
        self.app.loop.tones.start(self.call.port, tones["ringback"])

    # --- outcomes ----------------------------------------------------------------------------

    def refer_ended(self, status: int, now: float) -> None:
        """The REFER's outcome (``TransferEnded``): 2xx, the caller is the far end's."""
        if self.over or self.how != "refer":
            return
        self._trace(now, "refer_ended", str(status))
        if 200 <= status < 300:
            self.app.loop.tones.stop(self.call.port)
            if self.returns:
                self.call.feed(TransferOutcome("connected"), now)
            self.call.release(now, f"transferred:{self.number}")
            return
        log.info("call %s: REFER to %s ended %d; bridging instead", self.call.call_id,
                 self.number, status)
        self._refer_failed = True
        self.start(now)

    def heard(self, what: str, now: float) -> None:
        """The outside leg's answer (``FarEndAnswered``, through the dialer's table)."""
        if what != "answer_signal" or self.over or self.connected is not None:
            return
        app, caller, line = self.app, self.call.port, self.line
        app.loop.timers.cancel(self, "no_answer")
        app.loop.tones.stop(caller)
        self.connected = now
        app.loop.mixer.route(self, [MixPath(caller, line), MixPath(line, caller)])
        self._trace(now, "bridged", self.number)
        log.info("call %s: bridged to %s on %s", self.call.call_id, self.number,
                 app.board.ports[line].name)
        if self.returns:
            self.call.feed(TransferOutcome("connected"), now)

    def caller_gone(self, now: float, how: str) -> None:
        """The outside leg cleared: before its answer a failure (busy, refused), after it the
        end of the call."""
        if self.over:
            return
        if self.connected is None:
            self.failed(now, "busy or refused")
            return
        self.call.release(now, "outside_hung_up")

    def timer(self, name: str, now: float) -> None:
        # "failed" comes after end(): the message was heard, the call ends now
        if name == "no_answer":
            self.failed(now, "no answer")
        elif name == "failed":
            self.call.release(now, f"transfer_failed:{self.number}")

    def release(self, now: float, reason: str) -> None:
        """The outside line was lost or the appliance stops: the call ends with it."""
        self.call.release(now, reason)

    def failed(self, now: float, why: str) -> None:
        """Tell the caller the transfer did not happen, then end the call (or, when the IVR
        waits for the outcome, hand the caller back to it)."""
        app, caller = self.app, self.call.port
        self.end(now)
        if self.returns:
            app.loop.tones.stop(caller)
            fail_back(self.call, self.number, why, now)
            return
        self.app.counters["transfers_failed"] += 1
        self._trace(now, "transfer_failed", why)
        log.info("call %s: transfer to %s failed: %s", self.call.call_id, self.number, why)
        app.loop.tones.stop(caller)
        if "transfer.failed" in self.call.document.prompts:
            audio = app.prompts.render_items(["transfer.failed"], self.call.s.language)
            app.loop.renderer.play(caller, audio)
            seconds = len(audio) / 8000 + 0.5
        else:
            tones = CALL_PROGRESS_TONES[self.call.document.site.country]
            app.loop.tones.start(caller, tones["unobtainable"])
            seconds = FAILED_TONE_S
        app.loop.timers.schedule(now + seconds, self, "failed")

    def end(self, now: float) -> None:
        """Drop the outside leg and its paths (the call ends, or the transfer failed)."""
        if self.over:
            return
        self.over = True
        app = self.app
        app.loop.timers.cancel_owner(self, _TIMERS)
        app.loop.mixer.drop(self)
        if self.line is not None:
            if app.dialer.lines.get(self.line) is self:
                del app.dialer.lines[self.line]
                app.board.hang_up(self.line)
            self.line = None

    def _trace(self, now: float, what: str, detail: str) -> None:
        self.call.s.traces.append(Trace(what, "transfer", detail, now))
