"""The sections of the configuration document as pydantic models, each checked on its own.

Each model is frozen and rejects unknown fields (a misspelt field is an error with its path).
A validator's ValueError reads "what is wrong; what would be right": ``document_issues``
splits it into an issue's message and fix. Checks that need two sections (a line's flow, an
agent's station) are in ``document_checks``; the ``Document`` that joins the sections and
the helpers the runtime uses are in ``document``.
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from branchline.config.document.issue_texts import KeyedValueError

__all__ = [
    "COUNTRY_CODES",
    "LANGUAGES",
    "TONES",
    "AgentCodes",
    "Board",
    "Endpoint",
    "Host",
    "Line",
    "PortSpec",
    "PromptTexts",
    "Retention",
    "Site",
]

Language = Literal["zh", "yue", "en"]
LANGUAGES = ("zh", "yue", "en")

# The call-progress tones each country's tone set names; they mirror
# branchline.dsp.tones.CALL_PROGRESS_TONES (config may not import dsp; a test checks the two
# agree).
TONES = {
    "cn": ("dial", "ringback", "busy", "congestion", "unobtainable", "call_waiting"),
    "us": ("dial", "ringback", "busy", "reorder"),
}
# ITU-T E.164 country codes of the countries a site can be in.
COUNTRY_CODES = {"cn": "86", "us": "1"}

SIMULATOR = "simulator"
CARD_PORTS = 120  # trunks (and stations) one telephony board carries, at most
SIM_PORTS = 1000
_URL = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")
_HTTP = re.compile(r"^https?://[^\s/]+(/\S*)?$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_DTMF = re.compile(r"^[0-9*#]+$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Site(_Section):
    """Where the appliance is: its name, clock, tones, languages and line codec."""

    name: str = Field(min_length=1)
    timezone: str = "Asia/Shanghai"
    country: Literal["cn", "us"] = "cn"
    languages: list[Language] = Field(default_factory=lambda: list(LANGUAGES), min_length=1)
    codec: Literal["alaw", "ulaw"] = "alaw"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise KeyedValueError("doc.timezone_unknown", "doc.fix.iana_zone",
                                  value=value) from None
        return value

    @field_validator("languages")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        twice = sorted({lang for lang in value if value.count(lang) > 1})
        if twice:
            raise KeyedValueError("doc.languages_twice", "doc.fix.language_once",
                                  languages=", ".join(twice))
        return value


@dataclass(frozen=True, slots=True)
class PortSpec:
    """One port the board is expected to have: its index, name and whether it is a trunk."""

    index: int
    name: str
    trunk: bool


class Board(_Section):
    """The telephony board: driver ``sim`` (the simulated board) or a driver URL.

    Ports are named as the drivers name them: trunks ``fxo1..fxoN`` on indexes 0..N-1, then
    stations ``fxs1..fxsM`` (branchline.hw.sim.board does the same).
    """

    driver: str = "sim"
    # A real board carries at most CARD_PORTS of each; the simulated one is only memory and
    # time, so a 300-seat call centre can be simulated (up to SIM_PORTS).
    trunks: int = Field(4, ge=1, le=SIM_PORTS)
    stations: int = Field(3, ge=0, le=SIM_PORTS)
    scenario: str | None = Field(
        "scenario_demo.yaml",
        description="sim only: the callers and agents the simulated board plays "
                    "(a file in config/defaults or a path)",
    )

    @field_validator("driver")
    @classmethod
    def _driver(cls, value: str) -> str:
        if value != "sim" and not _URL.match(value):
            raise KeyedValueError("doc.driver_not_url", "doc.fix.driver_url", value=value)
        return value

    @field_validator("trunks", "stations")
    @classmethod
    def _card_size(cls, value: int, info: ValidationInfo) -> int:
        if value > CARD_PORTS and info.data.get("driver", "sim") != "sim":
            raise KeyedValueError("doc.board_too_big", "doc.fix.board_size", count=value,
                                  field=info.field_name, driver=info.data["driver"],
                                  limit=CARD_PORTS)
        return value

    def ports(self) -> tuple[PortSpec, ...]:
        trunks = [PortSpec(i, f"fxo{i + 1}", trunk=True) for i in range(self.trunks)]
        stations = [PortSpec(self.trunks + s, f"fxs{s + 1}", trunk=False)
                    for s in range(self.stations)]
        return tuple(trunks + stations)


class Line(_Section):
    """One trunk: the number callers dial, the flow that answers, how hang-up is heard."""

    number: str
    label: str = ""
    flow: str
    hangup_tones: list[str] = Field(default_factory=lambda: ["busy", "congestion"])
    loop_current_drop: bool = False

    @field_validator("number")
    @classmethod
    def _digits(cls, value: str) -> str:
        # E.164 §6.1: at most 15 digits.
        if not re.fullmatch(r"\+?[0-9]{3,15}", value):
            raise KeyedValueError("doc.not_dialled_number", "doc.fix.dialled_number",
                                  value=value)
        return value

    def tones_for_hangup(self, signalled: bool) -> list[str]:
        """The tones that mean the far end hung up. A line that signals its hang-up (SIP's
        BYE) listens for none unless the document lists them for it (a gateway that passes
        an exchange's tones through instead of hanging up)."""
        if signalled and "hangup_tones" not in self.model_fields_set:
            return []
        return self.hangup_tones

    @model_validator(mode="after")
    def _hears_hangup(self) -> Line:
        if not self.hangup_tones and not self.loop_current_drop:
            raise KeyedValueError("doc.line_never_hears_hangup", "doc.fix.hangup_tones")
        return self


class PromptTexts(_Section):
    """A prompt's words per language; a recorded file overrides them at run time."""

    zh: str | None = Field(None, min_length=1)
    yue: str | None = Field(None, min_length=1)
    en: str | None = Field(None, min_length=1)

    def texts(self) -> dict[str, str]:
        return {lang: text for lang in LANGUAGES if (text := getattr(self, lang)) is not None}


class Endpoint(_Section):
    path: str
    timeout: float = Field(5.0, gt=0, le=60)

    @field_validator("path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not re.fullmatch(r"/\S*", value):
            raise KeyedValueError("doc.not_url_path", "doc.fix.url_path", value=value)
        return value


class Host(_Section):
    """The bank's host: ``base_url`` (or ``simulator`` for the built-in bank simulator)."""

    base_url: str = SIMULATOR
    endpoints: dict[str, Endpoint] = Field(default_factory=dict)

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if value != SIMULATOR and not _HTTP.match(value):
            raise KeyedValueError("doc.not_http_url", "doc.fix.http_url", value=value)
        return value.rstrip("/")

    @field_validator("endpoints")
    @classmethod
    def _names(cls, value: dict[str, Endpoint]) -> dict[str, Endpoint]:
        for name in value:
            if not _NAME.match(name):
                raise KeyedValueError("doc.endpoint_name", "doc.fix.rename_endpoint", name=name)
        return value


class AgentCodes(_Section):
    """Keypad codes agents key at their station phones; ``{agent_id}`` and ``{reason}`` are
    filled in. ``reasons`` names each not-ready reason digit."""

    login: str = "*11{agent_id}#"
    ready: str = "*12#"
    not_ready: str = "*13{reason}#"
    end_wrapup: str = "*14#"
    logout: str = "*19#"
    reasons: dict[str, str] = Field(default_factory=lambda: {
        "1": "break", "2": "lunch", "3": "training", "4": "meeting", "9": "other"})
    # The agent desktop's wrap-up codes: code -> what the agent reads (docs/agent-desktop.md).
    dispositions: dict[str, str] = Field(default_factory=lambda: {
        "resolved": "已解决 resolved", "follow_up": "需跟进 follow-up",
        "complaint": "投诉 complaint", "card_service": "卡片业务 card service",
        "other": "其他 other"})

    @field_validator("login", "ready", "not_ready", "end_wrapup", "logout")
    @classmethod
    def _keypad_code(cls, code: str, info) -> str:
        slot = {"login": "{agent_id}", "not_ready": "{reason}"}.get(info.field_name)
        example = AgentCodes.model_fields[info.field_name].default
        if slot is not None and code.count(slot) != 1:
            raise KeyedValueError("doc.code_slot", "doc.fix.write_code_like", code=code,
                                  slot=slot, example=example)
        bare = code.replace(slot, "") if slot else code
        if not _DTMF.match(bare) or not code.startswith("*"):
            raise KeyedValueError("doc.code_not_keypad", "doc.fix.keypad_code", code=code,
                                  example=example)
        return code

    @field_validator("reasons")
    @classmethod
    def _reasons(cls, reasons: dict[str, str]) -> dict[str, str]:
        for digit, reason in reasons.items():
            if not re.fullmatch(r"[0-9]", digit):
                raise KeyedValueError("doc.reason_not_digit", "doc.fix.reason_digit",
                                      digit=digit)
            if not _NAME.match(reason):
                raise KeyedValueError("doc.reason_name", "doc.fix.reason_name", digit=digit,
                                      reason=reason)
        return reasons

    @field_validator("dispositions")
    @classmethod
    def _dispositions(cls, codes: dict[str, str]) -> dict[str, str]:
        for code, label in codes.items():
            if not _NAME.match(code) or len(code) > 32 or not 1 <= len(label) <= 60:
                raise KeyedValueError("doc.disposition_code", "doc.fix.disposition_code",
                                      code=code)
        return codes

    @model_validator(mode="after")
    def _distinct(self) -> AgentCodes:
        seen: dict[str, str] = {}
        for name in ("login", "ready", "not_ready", "end_wrapup", "logout"):
            prefix = getattr(self, name).split("{", 1)[0]
            for other, other_prefix in seen.items():
                if prefix.startswith(other_prefix) or other_prefix.startswith(prefix):
                    raise KeyedValueError("doc.codes_alike", "doc.fix.own_first_keys",
                                          name=name, other=other, prefix=prefix,
                                          other_prefix=other_prefix)
            seen[name] = prefix
        return self


class Retention(_Section):
    """Days each kind of record is kept; null keeps it for ever."""

    calls: float | None = Field(365, gt=0)
    events: float | None = Field(90, gt=0)
    agent_states: float | None = Field(365, gt=0)
    recordings: float | None = Field(30, gt=0)
    audit: float | None = Field(None, gt=0)
