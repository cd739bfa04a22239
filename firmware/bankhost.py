"""A bank host simulator: a small real HTTP service on loopback for tests and the demo.

It answers the IVR's host contract (docs/ivr.md, docs/bankhost.md) for a fixed set of test
cards, as JSON over POST:

    POST /ivr/balance    {"card_number": "...", "pin": "......"}
         -> 200 {"status": "ok", "data": {"balance": "1234.56", "currency": "CNY"}}
         -> 200 {"status": "error", "code": "bad_pin" | "no_card" | "locked" | "blocked"}
    POST /ivr/card-loss  {"card_number": "...", "caller": "..."}
                      or {"card_number": "...", "caller_absent": "P" | "O" | "none"}
         (a caller without a number: why there is none, withheld, unavailable or no caller
          ID at all, instead of the number)
         -> 200 {"status": "ok", "data": {"reference": "20261124001"}}
         -> 200 {"status": "error", "code": "no_card" | "already_blocked"}
    POST /ivr/customer   {"caller": "..."} or {"caller_absent": "P" | "O" | "none"}
         -> 200 {"status": "ok", "data": {"older": true | false}}
         (the customer profile of the calling number: ``older`` when the number is on the
          simulator's ``older_numbers``; a caller without a number is not older)

A request that breaks the contract (not JSON, a missing field, a card number that is not
16-19 digits with a valid Luhn check digit, a PIN that is not 6 digits) gets 400 with code
``bad_request`` and the name of the field, never its value. An unknown path gets 404.
Injected faults, drawn from ``random.Random(seed)`` in request order so a run repeats:
``error_rate`` answers 503 ``unavailable``; ``malformed_rate`` answers 200 with a body that
is not JSON. ``delay`` seconds pass before every answer. Card state lives in memory per
simulator: ``PIN_TRIES`` wrong PINs lock a card, a card loss blocks it; ``reset()`` restores it.
``older_numbers`` (default ``OLDER_CALLERS``) may be changed while it runs.

Card numbers and PINs are never logged. ``BankHostSimulator(...).start()`` returns the base
URL (port 0 picks a free port); ``stop()``; a context manager.
``python -m branchline.firmware.bankhost --port 8099`` runs one by hand.
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import random
import signal
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from branchline.firmware.records.guard import luhn_ok

log = logging.getLogger(__name__)

ENDPOINTS = {"balance": "/ivr/balance", "card_loss": "/ivr/card-loss",
             "customer": "/ivr/customer"}
# Why a caller has no number: the caller ID reasons (Bell 202 MDMF 0x04), or no caller ID.
CALLER_ABSENT = ("P", "O", "none")
CURRENCY = "CNY"
# Wrong PINs in a row that lock a card: a common bank rule, our choice for the simulator.
PIN_TRIES = 3
MAX_BODY = 4096
# How often the serving thread looks for a stop request; short so tests stop quickly.
POLL_INTERVAL_S = 0.05


@dataclass(frozen=True, slots=True)
class TestCard:
    card_number: str
    pin: str
    balance: str  # yuan, two decimals
    state: str  # "active" | "locked" | "blocked"
    note: str

    __test__ = False  # not a pytest test class


# Calling numbers whose customer profile says "older" (the older callers' mode,
# docs/ivr-insight.md), unless a simulator is given its own list.
OLDER_CALLERS = ("13900000021", "13900000022")

TEST_CARDS = (
    TestCard("6222021234567894", "123456", "1234.56", "active", "16 digits"),
    TestCard("6228480012345678903", "654321", "-35.20", "active", "19 digits, overdrawn"),
    TestCard("621700123456789011", "111111", "1234567.89", "active", "18 digits, large"),
    TestCard("6230615555666670", "444444", "0.00", "active", "16 digits, empty"),
    TestCard("6217009876543213", "222222", "88.00", "blocked", "already reported lost"),
    TestCard("6225880000111122224", "333333", "500.00", "locked", "PIN tries used up"),
)


class BankHostSimulator:
    """The simulated host (module docstring). Settings may be changed while it runs."""

    def __init__(self, delay: float = 0.0, error_rate: float = 0.0, seed: int = 0, *,
                 malformed_rate: float = 0.0, older_numbers: Iterable[str] = OLDER_CALLERS,
                 host: str = "127.0.0.1", port: int = 0) -> None:
        for name, rate in (("error_rate", error_rate), ("malformed_rate", malformed_rate)):
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"BankHostSimulator: {name}={rate}; expected 0.0 to 1.0")
        if delay < 0:
            raise ValueError(f"BankHostSimulator: delay={delay}; expected seconds >= 0")
        if isinstance(older_numbers, str):
            raise ValueError("BankHostSimulator: older_numbers is one string; expected a list "
                             "of calling numbers")
        older_numbers = frozenset(older_numbers)
        bad = sorted(n for n in older_numbers if not isinstance(n, str) or not _is_caller(n))
        if bad:
            raise ValueError(f"BankHostSimulator: older_numbers has {bad[0]!r}; expected "
                             "calling numbers of 1-20 digits")
        self.older_numbers = older_numbers
        self.delay = delay
        self.error_rate = error_rate
        self.malformed_rate = malformed_rate
        self._address = (host, port)
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.requests = 0  # requests answered (any outcome), for tests and the demo
        self.reset()

    # -- life cycle --------------------------------------------------------------------

    def start(self) -> str:
        if self._server is not None:
            raise RuntimeError("BankHostSimulator.start: already running at " + self.base_url)
        self._stopping.clear()
        server = _Server(self._address, _Handler)
        server.simulator = self
        self._server = server
        self._thread = threading.Thread(target=server.serve_forever,
                                        kwargs={"poll_interval": POLL_INTERVAL_S},
                                        name="bankhost", daemon=True)
        self._thread.start()
        log.info("bank host simulator listening at %s", self.base_url)
        return self.base_url

    @property
    def base_url(self) -> str:
        if self._server is None:
            raise RuntimeError("BankHostSimulator: not started; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        if self._server is None:
            return
        self._stopping.set()  # ends the delays of requests in flight
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> BankHostSimulator:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def reset(self) -> None:
        """Put every test card back in its initial state."""
        with self._lock:
            self._cards = {c.card_number: c for c in TEST_CARDS}
            self._wrong_pins = dict.fromkeys(self._cards, 0)
            self._references = 0

    def card(self, card_number: str) -> TestCard | None:
        with self._lock:
            return self._cards.get(card_number)

    # -- answering (called on the server's threads) --------------------------------------

    def answer(self, path: str, raw: bytes) -> tuple[int, bytes]:
        """The status and body for one POST."""
        with self._lock:
            self.requests += 1
            draw = self._random.random()
        if self._stopping.wait(self.delay):
            return 503, _json({"status": "error", "code": "unavailable"})
        if draw < self.error_rate:
            return 503, _json({"status": "error", "code": "unavailable"})
        if draw < self.error_rate + self.malformed_rate:
            return 200, b"<html>host busy</html>"
        handler = {ENDPOINTS["balance"]: self._balance,
                   ENDPOINTS["card_loss"]: self._card_loss,
                   ENDPOINTS["customer"]: self._customer}.get(path)
        if handler is None:
            return 404, _json({"status": "error", "code": "no_such_endpoint"})
        try:
            body = json.loads(raw)
        except ValueError:
            return 400, _json({"status": "error", "code": "bad_request", "field": ""})
        if not isinstance(body, dict):
            return 400, _json({"status": "error", "code": "bad_request", "field": ""})
        return handler(body)

    def _balance(self, body: dict) -> tuple[int, bytes]:
        bad = _bad_field(body, card_number=_is_card_number, pin=_is_pin)
        if bad:
            return 400, _json({"status": "error", "code": "bad_request", "field": bad})
        with self._lock:
            card = self._cards.get(body["card_number"])
            if card is None:
                return _refused("no_card")
            if card.state != "active":
                return _refused(card.state)
            if body["pin"] != card.pin:
                self._wrong_pins[card.card_number] += 1
                if self._wrong_pins[card.card_number] >= PIN_TRIES:
                    self._cards[card.card_number] = replace(card, state="locked")
                return _refused("bad_pin")
            self._wrong_pins[card.card_number] = 0
        return 200, _json({"status": "ok",
                           "data": {"balance": card.balance, "currency": CURRENCY}})

    def _card_loss(self, body: dict) -> tuple[int, bytes]:
        bad = _bad_field(body, card_number=_is_card_number) or _bad_caller(body)
        if bad:
            return 400, _json({"status": "error", "code": "bad_request", "field": bad})
        with self._lock:
            card = self._cards.get(body["card_number"])
            if card is None:
                return _refused("no_card")
            if card.state == "blocked":
                return _refused("already_blocked")
            self._cards[card.card_number] = replace(card, state="blocked")
            self._references += 1
            reference = f"{datetime.date.today():%Y%m%d}{self._references:03d}"
        return 200, _json({"status": "ok", "data": {"reference": reference}})

    def _customer(self, body: dict) -> tuple[int, bytes]:
        bad = _bad_caller(body)
        if bad:
            return 400, _json({"status": "error", "code": "bad_request", "field": bad})
        older = body.get("caller") in self.older_numbers
        return 200, _json({"status": "ok", "data": {"older": older}})


def _json(document: dict) -> bytes:
    return json.dumps(document).encode()


def _refused(code: str) -> tuple[int, bytes]:
    return 200, _json({"status": "error", "code": code})


def _bad_field(body: dict, **checks) -> str | None:
    """The first field that is missing or malformed, by name."""
    for field, check in checks.items():
        value = body.get(field)
        if not isinstance(value, str) or not value.isascii() or not check(value):
            return field
    return None


def _is_card_number(value: str) -> bool:
    return value.isdigit() and 16 <= len(value) <= 19 and luhn_ok(value)


def _is_pin(value: str) -> bool:
    return value.isdigit() and len(value) == 6


def _is_caller(value: str) -> bool:
    return value.isdigit() and 1 <= len(value) <= 20


def _bad_caller(body: dict) -> str | None:
    """A card loss or a customer lookup names the caller's number, or why there is none:
    never both, never neither (a withheld number is normal, an empty or unexplained one is not)."""
    if "caller" in body:
        if not isinstance(body["caller"], str) or not _is_caller(body["caller"]):
            return "caller"
        return "caller_absent" if "caller_absent" in body else None
    return None if body.get("caller_absent") in CALLER_ABSENT else "caller_absent"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    simulator: BankHostSimulator

    def handle_error(self, request, client_address) -> None:
        # A client that gave up (timeout) leaves a broken pipe behind: not worth a traceback.
        log.debug("bank host simulator: connection from %s ended badly", client_address[0],
                  exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    server_version = "BranchlineBankHost/1"

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, _json({"status": "error", "code": "bad_request", "field": ""}))
            return
        status, body = self.server.simulator.answer(self.path, self.rfile.read(length))
        self._send(status, body)

    def do_GET(self) -> None:
        self._send(405, _json({"status": "error", "code": "use_post"}))

    def _send(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            log.debug("bank host simulator: the client left before the answer")

    def log_message(self, format: str, *args: object) -> None:
        # The request line holds only the path; bodies (card numbers, PINs) are never logged.
        log.debug("bank host simulator: %s %s", self.address_string(), format % args)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m branchline.firmware.bankhost",
                                     description="Run the bank host simulator.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8099, help="0 picks a free port")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before each answer")
    parser.add_argument("--error-rate", type=float, default=0.0)
    parser.add_argument("--malformed-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--older", action="append", metavar="NUMBER",
                        help="a calling number the customer lookup calls older (repeat it; "
                             f"default {', '.join(OLDER_CALLERS)})")
    args = parser.parse_args(argv)
    try:
        simulator = BankHostSimulator(args.delay, args.error_rate, args.seed,
                                      malformed_rate=args.malformed_rate,
                                      older_numbers=args.older or OLDER_CALLERS,
                                      host=args.host, port=args.port)
    except ValueError as problem:
        parser.error(str(problem))
    url = simulator.start()
    print(f"bank host simulator at {url} (endpoints: {', '.join(ENDPOINTS.values())})")
    print(f"{'card number':<20} {'PIN':<7} {'balance':>11}  state")
    for card in TEST_CARDS:
        print(f"{card.card_number:<20} {card.pin:<7} {card.balance:>11}  {card.state}")
    print(f"older callers: {', '.join(sorted(simulator.older_numbers))}")
    print("Ctrl-C or SIGTERM stops it.", flush=True)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        stopped.wait()
    except KeyboardInterrupt:
        pass
    finally:
        simulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
