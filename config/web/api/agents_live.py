"""Agent state from the web: what a supervisor does for an agent who cannot reach the phone.

    POST /api/agents/{agent_id}/state   supervisor+  {"action": ..., "reason": ...}

``action`` is one of ``login``, ``ready``, ``not_ready`` (with a ``reason`` from the
document's ``agent_codes.reasons``; ``break`` when none is given), ``end_wrapup``, ``logout``:
the same transitions as the agent's keypad codes, applied by the media loop at its next tick
(202 Accepted), audited with who asked. The agent's phone hears nothing. An unknown agent is
404; an action the agent's state does not allow (``ready`` while logged out) is 422
``illegal_action`` with the fix; the next snapshot (``/api/live``) shows the new state.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from branchline.config.web.auth import SupervisorUser

__all__ = ["AgentStateIn", "AgentStateOut", "router"]

router = APIRouter(tags=["agents"])


class AgentStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    action: Literal["login", "ready", "not_ready", "end_wrapup", "logout"]
    reason: str | None = Field(None, max_length=40)


class AgentStateOut(BaseModel):
    agent: str
    action: str
    reason: str | None
    status: str = Field(description="'queued': the media loop applies it at its next tick")


@router.post("/api/agents/{agent_id}/state", status_code=202,
             summary="Set an agent's state (log in, ready, not ready, end wrap-up, log out)")
def set_agent_state(agent_id: str, body: AgentStateIn, request: Request,
                    user: SupervisorUser) -> AgentStateOut:
    request.app.state.link.agent_command(agent_id, body.action, body.reason, user.name)
    return AgentStateOut(agent=agent_id, action=body.action, reason=body.reason,
                         status="queued")
