"""The ``sip`` section: the SIP board beside the configured board (hw/sip/board.py).

    sip:
      listen: 127.0.0.1:5060        # where SIP is heard (UDP and TCP; port 0: any free one)
      channels: 8                   # trunk channels sip1..sip8; lines.sipN gives each its
                                    # dialled number and flow, as for analog trunks
      rtp_ports: [20000, 20999]     # optional: RTP/RTCP port pairs from this range
      trunks:
        carrier:                    # a peer, or a registrar the trunk registers with
          address: 10.1.2.3:5060
          registers: true
          user: "075512345678"      # registers and calls out as
          auth_user: "12345678"     # digest user name, when it differs from user
          sources: [10.1.2.3]       # INVITEs are taken only from these (and address)
          dtmf: auto                # rfc4733, inband or auto
          codecs: [PCMA, PCMU]      # what it takes, ours first: answers and offers follow
          transfer: bridge          # how its callers go to a transfer target: bridge (a
                                    # second call, the appliance in the media path) or refer
      phones:                       # one account per agent station
        desk1: {extension: "801"}   # station desk1 registers as 801
      phone_digest: [SHA-256, MD5]  # what phones are challenged with, in this order; [MD5]
                                    # for phones that fail when SHA-256 is offered at all
      transfer_targets: ["95566"]   # the only numbers a call may be transferred to

No password is written here. A configuration version is history that is diffed, shown to
viewers, backed up and rolled back; a SIP password belongs in none of those. Passwords live
in the data directory's SIP secrets file (``config/sip_secrets.py``), one per account
(``trunk:<name>``, ``phone:<station>``), generated strong or checked by ``config/passwords.py``
when set, never shown back. The document says which accounts exist; the secrets file what
proves them.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal

from pydantic import Field, field_validator, model_validator

from branchline.config.document.issue_texts import KeyedValueError
from branchline.config.document.model import PortSpec, _Section

__all__ = ["Sip", "SipPhone", "SipTrunk", "all_ports", "host_port"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
_EXTENSION = re.compile(r"^[0-9]{2,8}$")
_NUMBER = re.compile(r"^\+?[0-9]{3,15}$")  # E.164 §6.1: at most 15 digits
SIP_CHANNELS = 1000


def host_port(value: str, lowest: int = 1) -> tuple[str, int]:
    """("10.1.2.3", 5060) from "10.1.2.3:5060" ("[::1]:5060" for IPv6); ValueError if not."""
    host, sep, port = value.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    ipaddress.ip_address(host)
    if not sep or not port.isdigit() or not lowest <= int(port) <= 65535:
        raise ValueError(value)
    return host, int(port)


def _address(value: str, lowest: int = 1) -> str:
    try:
        host_port(value, lowest)
    except ValueError:
        raise KeyedValueError("doc.sip_address", "doc.fix.sip_address", value=value) from None
    return value


class SipTrunk(_Section):
    address: str | None = None
    registers: bool = False
    user: str | None = None
    auth_user: str | None = None
    sources: list[str] = Field(default_factory=list)
    dtmf: Literal["rfc4733", "inband", "auto"] = "auto"
    codecs: list[Literal["PCMA", "PCMU"]] = Field(default_factory=lambda: ["PCMA", "PCMU"],
                                                  min_length=1)
    # bridge works on any trunk that takes our calls and keeps the call's recording, record
    # and quality; refer frees the channel but needs a PBX or carrier that accepts REFER
    transfer: Literal["refer", "bridge"] = "bridge"

    @field_validator("codecs")
    @classmethod
    def _once(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))  # a codec named twice is still one preference

    @field_validator("address")
    @classmethod
    def _where(cls, value: str | None) -> str | None:
        return None if value is None else _address(value)

    @field_validator("sources")
    @classmethod
    def _ips(cls, value: list[str]) -> list[str]:
        for source in value:
            try:
                ipaddress.ip_address(source)
            except ValueError:
                raise KeyedValueError("doc.sip_source", "doc.fix.sip_source",
                                      value=source) from None
        return value

    @model_validator(mode="after")
    def _registers(self) -> SipTrunk:
        if self.registers and (self.address is None or not self.user):
            raise KeyedValueError("doc.sip_register_needs", "doc.fix.sip_register_needs")
        return self


class SipPhone(_Section):
    extension: str

    @field_validator("extension")
    @classmethod
    def _digits(cls, value: str) -> str:
        if not _EXTENSION.match(value):
            raise KeyedValueError("doc.sip_extension", "doc.fix.sip_extension", value=value)
        return value


class Sip(_Section):
    listen: str = "127.0.0.1:5060"
    channels: int = Field(8, ge=1, le=SIP_CHANNELS)
    rtp_ports: tuple[int, int] | None = None
    trunks: dict[str, SipTrunk] = Field(default_factory=dict)
    phones: dict[str, SipPhone] = Field(default_factory=dict)
    phone_digest: list[Literal["SHA-256", "MD5"]] = Field(
        default_factory=lambda: ["SHA-256", "MD5"], min_length=1)
    transfer_targets: list[str] = Field(default_factory=list)

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        return _address(value, lowest=0)  # port 0: any free port

    @field_validator("rtp_ports")
    @classmethod
    def _range(cls, value: tuple[int, int] | None) -> tuple[int, int] | None:
        if value is not None and not 1024 <= value[0] < value[1] <= 65535:
            raise KeyedValueError("doc.sip_rtp_ports", "doc.fix.sip_rtp_ports",
                                  low=value[0], high=value[1])
        return value

    @field_validator("trunks", "phones")
    @classmethod
    def _names(cls, value: dict) -> dict:
        for name in value:
            if not _NAME.match(name):
                raise KeyedValueError("doc.sip_name", "doc.fix.sip_name", name=name)
        return value

    @field_validator("transfer_targets")
    @classmethod
    def _numbers(cls, value: list[str]) -> list[str]:
        for number in value:
            if not _NUMBER.match(number):
                raise KeyedValueError("doc.not_dialled_number", "doc.fix.dialled_number",
                                      value=number)
        return value

    @model_validator(mode="after")
    def _extensions_once(self) -> Sip:
        seen: dict[str, str] = {}
        for station, phone in self.phones.items():
            if phone.extension in seen:
                raise KeyedValueError("doc.sip_extension_twice", "doc.fix.sip_extension_once",
                                      extension=phone.extension, station=station,
                                      other=seen[phone.extension])
            seen[phone.extension] = station
        return self

    def ports(self, first: int) -> tuple[PortSpec, ...]:
        """The SIP board's ports when they follow ``first`` ports of the other board."""
        channels = [PortSpec(first + i, f"sip{i + 1}", trunk=True) for i in range(self.channels)]
        stations = [PortSpec(first + self.channels + i, station, trunk=False)
                    for i, station in enumerate(self.phones)]
        return tuple(channels + stations)


def all_ports(board, sip: Sip | None) -> tuple[PortSpec, ...]:
    """Every port the appliance has: the board's, then the SIP board's (hw/composite.py)."""
    ports = board.ports()
    return ports if sip is None else ports + sip.ports(len(ports))
