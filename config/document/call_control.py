"""The document's ``call_control`` section: hold music, transfer targets, supervisors, codes.

An agent at an analog station flashes the hook to put the caller on hold (the agent then
hears dial tone and keys a code); a supervisor keys monitor codes at their own station, off
hook with no call. With the defaults::

    flash           hold (flash again: back to the caller)
    *21{agent}#     consult an agent (the caller stays on hold); then hang up or *4# to
                    complete the transfer, *3# for a conference, flash to go back to the caller
    *41{agent}#     blind transfer to an agent          *42{digit}#  to a queue (queues map)
    *43{digit}#     to an outside number (outside map)
    *51{agent}#     listen to that agent's call  *52{agent}#  whisper  *53{agent}#  barge
    *54{agent}#     take the call over

``parse_call_code(codes, keys) -> CallKeyed | None`` says what keys mean; ``None`` for keys
that match no code. Who may monitor: ``supervisors`` names each supervisor's web account,
their station, and the agents and queues they may monitor (empty lists: all).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["CallCodes", "CallControl", "CallKeyed", "Supervisor", "parse_call_code"]

Action = Literal["consult", "conference", "complete", "transfer_agent", "transfer_queue",
                 "transfer_outside", "listen", "whisper", "barge", "take_over"]
_SLOTS = {"consult": "{agent}", "transfer_agent": "{agent}", "transfer_queue": "{digit}",
          "transfer_outside": "{digit}", "listen": "{agent}", "whisper": "{agent}",
          "barge": "{agent}", "take_over": "{agent}"}
_SLOT_RE = {"{agent}": "(?P<target>[0-9]{1,16})", "{digit}": "(?P<target>[0-9])"}
_KEYS = re.compile(r"^\*[0-9*#]*$")
_NUMBER = re.compile(r"^[0-9]{3,20}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CallCodes(_Section):
    """Keypad codes for call control; ``{agent}`` is an agent id, ``{digit}`` one digit."""

    consult: str = "*21{agent}#"
    conference: str = "*3#"
    complete: str = "*4#"
    transfer_agent: str = "*41{agent}#"
    transfer_queue: str = "*42{digit}#"
    transfer_outside: str = "*43{digit}#"
    listen: str = "*51{agent}#"
    whisper: str = "*52{agent}#"
    barge: str = "*53{agent}#"
    take_over: str = "*54{agent}#"

    @model_validator(mode="after")
    def _codes(self) -> CallCodes:
        patterns = {}
        for name in type(self).model_fields:
            code = getattr(self, name)
            slot = _SLOTS.get(name)
            if slot is not None and code.count(slot) != 1:
                raise ValueError(f"call_control.codes.{name} {code!r} must hold {slot} once; "
                                 f"write it like {type(self).model_fields[name].default!r}")
            if not _KEYS.match(code.replace(slot, "") if slot else code) or not code.endswith(
                    "#"):
                raise ValueError(f"call_control.codes.{name} {code!r} is not a keypad code; "
                                 "start it with * and end it with #, keys 0-9 * # only")
            patterns[name] = _pattern(code)
        for name, pattern in patterns.items():
            for other in patterns:
                sample = _sample(getattr(self, other))
                if other != name and pattern.fullmatch(sample):
                    raise ValueError(f"call_control.codes: {other} {getattr(self, other)!r} "
                                     f"also reads as {name} {getattr(self, name)!r}; give "
                                     "each code its own keys")
        return self


class Supervisor(_Section):
    """A supervisor: their web account, their phone, and what they may monitor."""

    user: str
    station: str
    agents: list[str] = Field(default_factory=list)  # empty: every agent
    queues: list[str] = Field(default_factory=list)  # empty: every queue

    def may_monitor(self, agent_id: str, queue: str | None) -> bool:
        return ((not self.agents or agent_id in self.agents)
                and (not self.queues or queue in self.queues))


class CallControl(_Section):
    """Hold, transfer and monitoring (see the module docstring)."""

    music_on_hold: str | None = None  # a prompt of the document; None: silence on hold
    coach_beep: bool = True  # the agent (never the caller) hears a beep when coached
    consult_ring_s: float = Field(default=20.0, gt=0, le=120)
    queues: dict[str, str] = Field(default_factory=dict)  # digit -> queue name
    outside: dict[str, str] = Field(default_factory=dict)  # digit -> number
    supervisors: list[Supervisor] = Field(default_factory=list)
    codes: CallCodes = Field(default_factory=CallCodes)

    @field_validator("queues", "outside")
    @classmethod
    def _digits(cls, value: dict[str, str], info) -> dict[str, str]:
        for digit, target in value.items():
            if not re.fullmatch(r"[0-9]", digit):
                raise ValueError(f"call_control.{info.field_name}: key {digit!r} is not one "
                                 "digit; use 0-9 (the digit keyed after the transfer code)")
            if info.field_name == "outside" and not _NUMBER.match(target):
                raise ValueError(f"call_control.outside.{digit}: {target!r} is not a number; "
                                 "write 3 to 20 digits, as dialled from the branch's line")
        return value

    @model_validator(mode="after")
    def _one_station_each(self) -> CallControl:
        seen: dict[str, str] = {}
        for s in self.supervisors:
            if s.station in seen:
                raise ValueError(f"call_control.supervisors: {s.user} and {seen[s.station]} "
                                 f"share station {s.station!r}; give each supervisor their "
                                 "own phone")
            seen[s.station] = s.user
        return self

    def supervisor_at(self, station: str) -> Supervisor | None:
        return next((s for s in self.supervisors if s.station == station), None)

    def supervisor(self, user: str) -> Supervisor | None:
        return next((s for s in self.supervisors if s.user == user), None)


@dataclass(frozen=True, slots=True)
class CallKeyed:
    action: Action
    target: str | None = None


def _pattern(code: str) -> re.Pattern[str]:
    text = re.escape(code)
    for slot, group in _SLOT_RE.items():
        text = text.replace(re.escape(slot), group)
    return re.compile(text)


def _sample(code: str) -> str:
    return code.replace("{agent}", "1001").replace("{digit}", "1")


def parse_call_code(codes: CallCodes, keys: str) -> CallKeyed | None:
    for action in type(codes).model_fields:
        match = _pattern(getattr(codes, action)).fullmatch(keys)
        if match is not None:
            return CallKeyed(action, match.groupdict().get("target"))
    return None
