"""The CTI event contract: what the WebSocket stream and the webhooks carry, version 1.

One event is one JSON object (``JSON_SCHEMA`` describes it; ``GET /api/cti/v1/schema`` serves
it, docs/cti.md explains it)::

    {"v": 1, "stream": "3fa2c1", "seq": 42, "type": "offered", "time": 1732350000.0,
     "call_id": "3fa2c1-000007", "agent": "1001", "queue": "general", "data": {...}}

``stream`` names one run of the appliance and ``seq`` counts its events from 1 without gaps,
so a client that reconnects with ``after=<seq>`` of the same stream misses nothing and sees
nothing twice (a webhook's ``X-Branchline-Delivery`` is ``<stream>-<seq>`` for the same
reason). ``type`` is one of ``TYPES``; ``data`` per type:

* ``offered``: the screen pop (``POP_FIELDS``): caller, vip, class, language, queue,
  waited_s, path (the IVR steps in words), card (masked: stars and the last four), host
  (endpoint, status, error code), calls_today (earlier calls from the same number today),
  station. Never a PIN, never a full card number: the records' card guard checks every
  event before it leaves.
* ``answered``: station. ``ended``: phase (``offer``: rang and was not answered; ``talk``),
  by (caller, agent, system or the offer's reason), talk_s.
* ``transferred``: to_agent, to_queue, detail (the ACD's hand-over; the colleague rung for
  it gets an ``offered`` of their own first).
* ``held``: station, phase (the caller hears the music: ``held``, ``consult_ringing``,
  ``consulting``, ``transfer_ringing``). ``retrieved``: station, phase, held_s (this hold),
  hold_s (the call's total so far); ``agent`` is whoever has the caller now. A ``held`` is
  followed by one ``retrieved``, or by the ``transferred`` / ``ended`` that took the caller
  from the agent. ``conferenced``: station, colleague (the agent id joined).
* ``state_changed``: old, new, reason, station. ``disposition``: code, notes.

Webhook signature: ``X-Branchline-Signature: t=<unix seconds>,v1=<hex>`` where hex is
HMAC-SHA256 of ``f"{t}.".encode() + body`` with the integration's secret; ``verify`` checks it
(and the age of ``t``), the same function the example client shows.
"""

from __future__ import annotations

import hashlib
import hmac

__all__ = ["DELIVERY_HEADER", "EVENT_HEADER", "JSON_SCHEMA", "POP_FIELDS", "SIGNATURE_HEADER",
           "TYPES", "VERSION", "sign", "verify"]

VERSION = 1
# Within version 1 new types may be added (``conferenced`` was): clients ignore types they
# do not know. A change to an existing type's fields would be version 2.
TYPES = ("offered", "answered", "held", "retrieved", "transferred", "conferenced", "ended",
         "state_changed", "disposition")
POP_FIELDS = ("caller", "vip", "class", "language", "queue", "waited_s", "path", "card", "host",
              "calls_today", "station")
SIGNATURE_HEADER = "X-Branchline-Signature"
EVENT_HEADER = "X-Branchline-Event"
DELIVERY_HEADER = "X-Branchline-Delivery"

_STEP = {"type": "object", "required": ["node", "kind", "did"],
         "properties": {"node": {"type": "string"}, "kind": {"type": "string"},
                        "did": {"type": "string"}}}
_POP = {
    "type": "object",
    "required": list(POP_FIELDS),
    "properties": {
        "caller": {"type": "string", "description": "the caller's number, '' when withheld"},
        "vip": {"type": "boolean"},
        "class": {"type": ["string", "null"], "description": "the queue's priority class"},
        "language": {"type": "string"},
        "queue": {"type": "string"},
        "waited_s": {"type": "number"},
        "path": {"type": "array", "items": _STEP},
        "card": {"type": ["string", "null"], "pattern": r"^\*+[0-9]{4}$",
                 "description": "masked: stars and the last four digits"},
        "host": {"type": "array", "items": {
            "type": "object", "required": ["endpoint", "status"],
            "properties": {"endpoint": {"type": "string"}, "status": {"type": "string"},
                           "code": {"type": "string"}}}},
        "calls_today": {"type": "array", "items": {
            "type": "object", "required": ["call_id", "time", "outcome"],
            "properties": {"call_id": {"type": "string"}, "time": {"type": "number"},
                           "outcome": {"type": "string"},
                           "queue": {"type": ["string", "null"]},
                           "agent": {"type": ["string", "null"]}}}},
        "station": {"type": "string"},
    },
}
JSON_SCHEMA: dict = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "branchline:cti-event:v1",
    "title": "Branchline CTI event, version 1",
    "type": "object",
    "required": ["v", "stream", "seq", "type", "time", "call_id", "agent", "queue", "data"],
    "additionalProperties": False,
    "properties": {
        "v": {"const": VERSION},
        "stream": {"type": "string", "description": "one run of the appliance"},
        "seq": {"type": "integer", "minimum": 1, "description": "1, 2, 3... per stream"},
        "type": {"enum": list(TYPES)},
        "time": {"type": "number", "description": "UTC epoch seconds"},
        "call_id": {"type": ["string", "null"]},
        "agent": {"type": ["string", "null"]},
        "queue": {"type": ["string", "null"]},
        "data": {"type": "object"},
    },
    "allOf": [
        {"if": {"properties": {"type": {"const": "offered"}}}, "then": {"properties": {
            "data": _POP}}},
        {"if": {"properties": {"type": {"const": "state_changed"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["old", "new", "reason", "station"]}}}},
        {"if": {"properties": {"type": {"const": "ended"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["phase", "by", "talk_s"]}}}},
        {"if": {"properties": {"type": {"const": "disposition"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["code", "notes"]}}}},
        {"if": {"properties": {"type": {"const": "held"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["station", "phase"]}}}},
        {"if": {"properties": {"type": {"const": "retrieved"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["station", "phase", "held_s", "hold_s"],
                     "properties": {"held_s": {"type": "number", "minimum": 0},
                                    "hold_s": {"type": "number", "minimum": 0}}}}}},
        {"if": {"properties": {"type": {"const": "conferenced"}}}, "then": {"properties": {
            "data": {"type": "object", "required": ["station", "colleague"]}}}},
    ],
}


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """The ``X-Branchline-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: bytes, header: str, body: bytes, now: float, max_age_s: float = 300) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` and is at most ``max_age_s`` old."""
    parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
    if not parts.get("t", "").isdigit() or "v1" not in parts:
        return False
    timestamp = int(parts["t"])
    if abs(now - timestamp) > max_age_s:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), header.strip())
