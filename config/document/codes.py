"""What an agent keyed at a station phone: ``parse_agent_code(codes, keys) -> AgentKeyed``.

The runtime collects the keys an agent presses on an idle station (up to ``#``) and asks this
module what they mean under the document's ``agent_codes``. With the defaults::

    *111001#  login as agent 1001       *12#  ready        *132#  not ready, reason 2 (lunch)
    *14#      end wrap-up               *19#  logout

Keys that match no code give ``None`` (the runtime plays an error tone); a not-ready digit the
document does not name is refused the same way, so the reason is never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from branchline.config.document.model import AgentCodes

__all__ = ["AgentKeyed", "parse_agent_code"]

Action = Literal["login", "ready", "not_ready", "end_wrapup", "logout"]


@dataclass(frozen=True, slots=True)
class AgentKeyed:
    action: Action
    agent_id: str | None = None
    reason: str | None = None


def _pattern(code: str) -> re.Pattern[str]:
    text = re.escape(code)
    text = text.replace(re.escape("{agent_id}"), "(?P<agent_id>[0-9]{1,16})")
    text = text.replace(re.escape("{reason}"), "(?P<reason>[0-9])")
    return re.compile(text)


def parse_agent_code(codes: AgentCodes, keys: str) -> AgentKeyed | None:
    for action in ("login", "ready", "not_ready", "end_wrapup", "logout"):
        match = _pattern(getattr(codes, action)).fullmatch(keys)
        if match is None:
            continue
        found = match.groupdict()
        if action == "not_ready":
            reason = codes.reasons.get(found["reason"])
            return None if reason is None else AgentKeyed("not_ready", reason=reason)
        return AgentKeyed(action, agent_id=found.get("agent_id"))
    return None
