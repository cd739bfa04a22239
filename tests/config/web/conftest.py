"""Fixtures for the web core's tests: a WebHarness (real appliance, real RuntimeLink) and a
hand-set clock for the accounts, so session expiry and lockouts run without waiting."""

from __future__ import annotations

import pytest
from runtime_harness import bank_url, prompts_dir  # noqa: F401 (fixtures)
from web_harness import WebHarness


class HandClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def web(tmp_path, prompts_dir, bank_url):  # noqa: F811
    harness = WebHarness(tmp_path, prompts_dir=prompts_dir, bank_url=bank_url)
    yield harness
    harness.close()


@pytest.fixture
def clock(web):
    """The accounts' clock of ``web``, by hand."""
    hand = HandClock()
    web.web.state.accounts.clock = hand
    return hand


@pytest.fixture
def audit(web):
    """``audit()``: the audit log's entries so far, as (who, what, diff)."""
    return lambda: [(e["who"], e["what"], e["diff"]) for e in web.link.audit_entries(0)]
