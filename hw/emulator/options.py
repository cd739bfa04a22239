"""The parameters of a ``boardemu://`` URL, read and checked in one place.

    boardemu://?trunks=8&stations=4&scenario=scenario_demo.yaml&seed=1
               &echo_rl_db=9&echo_tail_ms=32&faults=noise:0.001,drop:0.01,reset@1200

Every parameter is optional (docs/boardemu.md has the table). ``parse_emulator_url(url)``
returns an ``EmulatorOptions`` (a frozen value) or raises ``EmulatorUrlError`` naming the bad
parameter, what is wrong with it and the parameters there are.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass, field

from branchline.hw.emulator.faults import FaultPlan, FaultSpecError, parse_faults

__all__ = ["PARAMETERS", "SCHEME", "EmulatorOptions", "EmulatorUrlError", "parse_emulator_url"]

SCHEME = "boardemu"
# name -> (what it is, for the error message)
PARAMETERS = {
    "trunks": "FXO lines, 1-64 (default: the scenario's)",
    "stations": "FXS stations, 0-64 (default: the scenario's)",
    "scenario": "the callers and agents: a scenario file or a shipped name (default: none "
                "calls, no agent)",
    "seed": "an integer: the same seed gives the same day (default: the scenario's)",
    "echo_rl_db": "hybrid return loss in dB, 3-40: answered lines return the echo of what the "
                  "host sends (default: no echo)",
    "echo_tail_ms": "echo tail in ms, 4-128 (default 32)",
    "faults": "the fault plan, e.g. noise:0.001,drop:0.01,stall@600,reset@1200,unplug@1800+30",
    "serial_number": "the serial number the board reports (default EMU-<seed>)",
}
_MAX_PORTS = 64


class EmulatorUrlError(ValueError):
    """A boardemu:// URL could not be read; the message names the parameter."""


@dataclass(frozen=True, slots=True)
class EmulatorOptions:
    """What a boardemu:// URL asks for (None: the scenario's value or the default)."""

    trunks: int | None = None
    stations: int | None = None
    scenario: str | None = None
    seed: int | None = None
    echo_rl_db: float | None = None
    echo_tail_ms: int = 32
    faults: FaultPlan = field(default_factory=FaultPlan)
    serial_number: str | None = None


def _error(url: str, name: str, value: str, why: str) -> EmulatorUrlError:
    return EmulatorUrlError(f"board URL {url!r}: parameter {name}={value!r}: {why}")


def _integer(url, name, value, low, high):
    try:
        number = int(value)
    except ValueError:
        raise _error(url, name, value, f"expected a whole number {low}-{high}") from None
    if not low <= number <= high:
        raise _error(url, name, value, f"expected {low}-{high}")
    return number


def _real(url, name, value, low, high):
    try:
        number = float(value)
    except ValueError:
        raise _error(url, name, value, f"expected a number {low:g}-{high:g}") from None
    if not low <= number <= high:
        raise _error(url, name, value, f"expected {low:g}-{high:g}")
    return number


def parse_emulator_url(url: str) -> EmulatorOptions:
    """Read a ``boardemu://?name=value&...`` URL (see the module docstring)."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme != SCHEME:
        raise EmulatorUrlError(f"board URL {url!r}: not a {SCHEME}:// URL")
    if parts.netloc or parts.path not in ("", "/"):
        raise EmulatorUrlError(f"board URL {url!r}: a {SCHEME} URL has only parameters, "
                               f"e.g. {SCHEME}://?trunks=8&stations=4")
    # Split by hand: parse_qsl would read the '+' of 'unplug@1800+30' as a space.
    pairs = []
    for item in filter(None, parts.query.split("&")):
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise EmulatorUrlError(f"board URL {url!r}: {item!r} is not name=value; the "
                                   "parameters read name=value&name=value")
        pairs.append((urllib.parse.unquote(name), urllib.parse.unquote(value)))
    fields: dict[str, object] = {}
    for name, value in pairs:
        if name not in PARAMETERS:
            known = "; ".join(f"{n}: {what}" for n, what in PARAMETERS.items())
            raise _error(url, name, value, f"no such parameter; the parameters are {known}")
        if name in fields:
            raise _error(url, name, value, "given twice")
        if name in ("trunks", "stations"):
            fields[name] = _integer(url, name, value, 1 if name == "trunks" else 0, _MAX_PORTS)
        elif name == "seed":
            fields[name] = _integer(url, name, value, 0, 2**63 - 1)
        elif name == "echo_rl_db":
            fields[name] = _real(url, name, value, 3.0, 40.0)
        elif name == "echo_tail_ms":
            fields[name] = _integer(url, name, value, 4, 128)
        elif name == "faults":
            try:
                fields[name] = parse_faults(value)
            except FaultSpecError as exc:
                raise EmulatorUrlError(f"board URL {url!r}: parameter {exc}") from None
        else:
            if not value:
                raise _error(url, name, value, "must not be empty")
            fields[name] = value
    return EmulatorOptions(**fields)
