"""Structured logs: one line per event, key=value or JSON, the call id on every line of a call,
and never a card number or a PIN.

``configure_logging(fmt="kv"|"json", level="INFO", stream=sys.stderr)`` puts one handler on the
``branchline`` logger (journald takes stderr under systemd) with:

* ``SensitiveFilter``: masks, in the message and in every extra field, any run of 13-19 digits
  (single spaces or hyphens allowed between them) that passes the Luhn check — it keeps the
  last four digits, as a receipt does (PCI DSS 3.3 allows at most the first six and last
  four) — and the whole value of any field named ``pin`` or ``card_number`` (in extras, in
  nested dicts, and as ``pin=...`` / ``"pin": ...`` inside the text). It also adds the call id
  of the current context to records that do not carry one.
* ``KeyValueFormatter`` (``time=... level=info logger=branchline.calls call_id=... msg="..."
  key=value``) or ``JsonFormatter`` (one JSON object per line). A traceback stays on the
  same line (escaped), so one event is always one line.

The call id. Code that works for one call either logs through ``call_logger(log, call_id)`` (a
LoggerAdapter) or runs inside ``with call_context(call_id):`` (a contextvar: everything logged
in the block, by any module, carries it). Integration point for
``firmware/calls/session.py``: wrap the
body of ``CallSession.guard`` in ``call_context(self.call_id)``.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterator, MutableMapping
from typing import Any, TextIO

from branchline.firmware.records.guard import luhn_ok

__all__ = [
    "JsonFormatter",
    "KeyValueFormatter",
    "SensitiveFilter",
    "call_context",
    "call_logger",
    "configure_logging",
    "mask_text",
]

SENSITIVE_FIELDS = frozenset({"pin", "card_number"})
MASK = "***"

_call_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("call_id", default=None)

_CARD_RUN = re.compile(r"(?<![\d])\d(?:[ -]?\d){12,18}(?![\d])")
_FIELD_IN_TEXT = re.compile(
    r"""(?ix)
    (["']?\b(?:pin|card_number)\b["']?\s*[:=]\s*)   # the name and its = or :
    ("[^"]*"|'[^']*'|[^\s,;&}\]]+)                 # the value, quoted or bare
    """
)
# Attributes every LogRecord has: anything else on a record came from `extra`.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {
    "message", "asctime", "taskName"}


def _mask_card(match: re.Match[str]) -> str:
    run = match.group(0)
    digits = re.sub(r"[ -]", "", run)
    if not luhn_ok(digits):
        return run
    return "*" * (len(digits) - 4) + digits[-4:]


def mask_text(text: str) -> str:
    """``text`` with Luhn-valid card numbers and pin/card_number field values masked."""
    text = _FIELD_IN_TEXT.sub(lambda m: m.group(1) + MASK, text)
    return _CARD_RUN.sub(_mask_card, text)


def _mask_value(name: str, value: Any) -> Any:
    if name.lower() in SENSITIVE_FIELDS:
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, int) and not isinstance(value, bool):
        masked = mask_text(str(value))
        return value if masked == str(value) else masked
    if isinstance(value, dict):
        return {k: _mask_value(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_mask_value("", v) for v in value]
    return value


class SensitiveFilter(logging.Filter):
    """Masks secrets in a record and adds the context's call id (see the module docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            # A filter runs outside the handler's error handling: a wrong format string must
            # not raise into the call that logged it.
            message = f"{record.msg} (log arguments do not fit: {record.args!r})"
        record.msg = mask_text(message)
        record.args = None
        for name in _extras(record):
            setattr(record, name, _mask_value(name, getattr(record, name)))
        if getattr(record, "call_id", None) is None:
            call_id = _call_id.get()
            if call_id is not None:
                record.call_id = call_id
        return True


def _extras(record: logging.LogRecord) -> list[str]:
    return [name for name in vars(record) if name not in _STANDARD]


def _utc(record: logging.LogRecord) -> str:
    stamp = dt.datetime.fromtimestamp(record.created, dt.UTC)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"


def _fields(record: logging.LogRecord, formatter: logging.Formatter) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "time": _utc(record),
        "level": record.levelname.lower(),
        "logger": record.name,
    }
    if getattr(record, "call_id", None) is not None:
        fields["call_id"] = record.call_id
    fields["msg"] = record.getMessage()
    for name in _extras(record):
        if name != "call_id":
            fields[name] = getattr(record, name)
    if record.exc_info:
        fields["exc"] = mask_text(formatter.formatException(record.exc_info))
    return fields


_BARE = re.compile(r"^[A-Za-z0-9_.:/@+*-]+$")


def _kv_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False,
                                                             default=str)
    if _BARE.match(text):
        return text
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


class KeyValueFormatter(logging.Formatter):
    """``key=value`` pairs on one line; values with spaces or quotes are double-quoted."""

    def format(self, record: logging.LogRecord) -> str:
        return " ".join(f"{k}={_kv_value(v)}" for k, v in _fields(record, self).items())


class JsonFormatter(logging.Formatter):
    """One JSON object per line (JSON escapes newlines, so a traceback stays on the line)."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(_fields(record, self), ensure_ascii=False, default=str)


@contextlib.contextmanager
def call_context(call_id: str) -> Iterator[None]:
    """Everything logged inside the block carries ``call_id``."""
    token = _call_id.set(call_id)
    try:
        yield
    finally:
        _call_id.reset(token)


class _CallAdapter(logging.LoggerAdapter):
    def process(self, msg: Any, kwargs: MutableMapping[str, Any]):
        kwargs["extra"] = {**self.extra, **kwargs.get("extra", {})}
        return msg, kwargs


def call_logger(logger: logging.Logger, call_id: str) -> logging.LoggerAdapter:
    """A logger whose every line carries ``call_id`` (extra fields of a call are kept)."""
    return _CallAdapter(logger, {"call_id": call_id})


def configure_logging(fmt: str = "kv", level: str | int = "INFO",
                      stream: TextIO | None = None) -> logging.Handler:
    """Send the ``branchline`` loggers to ``stream`` as structured, masked lines."""
    formatters = {"kv": KeyValueFormatter, "json": JsonFormatter}
    if fmt not in formatters:
        raise ValueError(f"configure_logging: format {fmt!r}; expected 'kv' or 'json'")
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(formatters[fmt]())
    handler.addFilter(SensitiveFilter())
    logger = logging.getLogger("branchline")
    for old in [h for h in logger.handlers if getattr(h, "_branchline_ops", False)]:
        logger.removeHandler(old)
    handler._branchline_ops = True
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler
