"""Supervising a call from the wallboard in headless Chromium: Listen plays the call's audio
with the Web Audio API, and Whisper, Barge and Take over act from the supervisor's phone.

The appliance runs in real time on a thread of its own (tests/support/supervised_call.py's
PacedLoop) behind the real web app on loopback; the caller sends 300 Hz, agent 1001 550 Hz and
supervisor wang's phone 2000 Hz. What the page played is read back from its AnalyserNode (the
last 16,384 samples that went to the speakers) and its peaks are found here with NumPy. What
the page reports of its delay is written to test-artifacts/listen-delay.txt for
docs/call-control.md; it is a figure, not an assertion.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path

import numpy as np
from playwright.sync_api import expect
from supervised_call import AGENT_HZ, CALLER_HZ, SUPERVISOR_HZ, PacedLoop, SupervisedCall
from web_harness import PASSWORD

from branchline.config.data_dir import DataDir
from branchline.firmware.records.database import Records

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
MARK_HZ = 700.0  # the caller's tone for the delay measurement
VOICE = 2283 / 32768  # each test voice's peak (-20 dBm0), as the page's float samples


def spectrum_peaks(samples, rate, floor_db=-30.0):
    """The frequencies (Hz, to 1 Hz) of the spectrum's peaks within ``floor_db`` of the top,
    each with its amplitude."""
    x = np.asarray(samples, dtype=np.float64)
    window = np.hanning(len(x))
    amplitude = np.abs(np.fft.rfft(x * window)) * 2 / window.sum()
    hz = np.fft.rfftfreq(len(x), 1 / rate)
    top = amplitude.max()
    peaks = {}
    for i in range(1, len(amplitude) - 1):
        a = amplitude[i]
        if a >= amplitude[i - 1] and a > amplitude[i + 1] and 20 * np.log10(a / top) > floor_db:
            peaks[round(float(hz[i]))] = float(a)
    return peaks


def near(peaks, wanted, within_hz=4.0):
    return {f for f in wanted if any(abs(p - f) <= within_hz for p in peaks)}


def log_in(browser, base, name):
    page = browser.new_context(locale="en-GB").new_page()
    page.set_default_timeout(20_000)
    page.goto(f"{base}/login")
    page.fill("#name", name)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    expect(page.locator("header .who")).to_contain_text(name)
    page.goto(f"{base}/wallboard")
    return page


def played_more(page, seconds):
    """Wait (bounded by the page's timeout) until the page has received `seconds` more."""
    start = page.evaluate("window.wallboardListener.receivedSeconds")
    page.wait_for_function("(want) => window.wallboardListener.receivedSeconds >= want",
                           arg=start + seconds)


def heard_in_the_page(page, seconds, tries=3):
    """The analyser's window once `seconds` more have played with no gap and nothing dropped
    (the page's catch-up after a stall on this loaded machine would splice the tones): its
    spectrum's peaks, and the samples and rate for levels."""
    state = ("(() => { const l = window.wallboardListener; "
             "return [l.underruns, l.droppedSeconds]; })()")
    for _ in range(tries):
        before = page.evaluate(state)
        played_more(page, seconds)
        samples = page.evaluate("window.wallboardListener.samples()")
        if page.evaluate(state) == before:
            rate = page.evaluate("window.wallboardListener.sampleRate")
            return spectrum_peaks(samples, rate), np.asarray(samples), rate
    raise AssertionError(f"no window of {seconds} s played without a gap in {tries} tries")


def tone_level(samples, rate, hz):
    """The amplitude of the `hz` sine in the samples (its projection; the window holds many
    periods of every test tone, so the others leak in next to nothing)."""
    n = np.arange(len(samples))
    return abs(samples @ np.exp(-2j * np.pi * hz * n / rate)) * 2 / len(samples)


def test_listen_plays_the_calls_voices_in_the_browser(tmp_path, prompts_dir, bank_url,
                                                      browser, serve, shoot):
    floor = SupervisedCall(tmp_path, prompts_dir, bank_url)
    try:
        floor.h.client("supervisor", name="wang")
        floor.h.client("supervisor", name="li")
        with serve(floor.h.web) as base, PacedLoop(floor.h) as loop:
            page = log_in(browser, base, "wang")
            row = page.locator(f'#wb-calls tr[data-call="{floor.call.call_id}"]')
            expect(row).to_contain_text("1001")
            row.locator('button[data-act="listen"]').click()
            expect(page.locator("#wb-player")).to_be_visible()
            expect(page.locator("#wb-listening")).to_contain_text("agent 1001")
            peaks, samples, rate = heard_in_the_page(page, 2.5)  # the window is 2 s
            assert near(peaks, [CALLER_HZ, AGENT_HZ]) == {CALLER_HZ, AGENT_HZ}, peaks
            assert not near(peaks, [SUPERVISOR_HZ]), peaks  # not in the call: not heard
            assert len(peaks) == 2, peaks  # nothing else within 30 dB
            for hz in (CALLER_HZ, AGENT_HZ):
                level = tone_level(samples, rate, hz)
                assert abs(20 * np.log10(level / VOICE)) < 0.5  # at its level, within 0.5 dB
            delays = [page.evaluate("({delay: window.wallboardListener.delayMs(),"
                                    " queued: window.wallboardListener.depthMs()})")]
            for _ in range(9):
                played_more(page, 0.3)
                delays.append(page.evaluate("({delay: window.wallboardListener.delayMs(),"
                                            " queued: window.wallboardListener.depthMs()})"))
            dropped = page.evaluate("window.wallboardListener.droppedSeconds")
            end_to_end = [_mark_delay(page, loop, floor, hz)
                          for hz in (MARK_HZ, CALLER_HZ) * 3]
            shoot(page, "wallboard-listen")
            page.click("#wb-stop")
            expect(page.locator("#wb-player")).to_be_hidden()
            expect(page.locator("#wb-said")).to_have_text("Listening stopped.")

            other = log_in(browser, base, "li")  # may monitor agent 1002 only
            other.locator(f'#wb-calls tr[data-call="{floor.call.call_id}"] '
                          'button[data-act="listen"]').click()
            expect(other.locator("#wb-said")).to_have_text(
                "Cannot listen: li may not monitor agent 1001 (queue general); an admin sets "
                "that in call_control.supervisors")
            expect(other.locator("#wb-player")).to_be_hidden()
        _write_delays(delays, dropped, end_to_end)
        audit = _audit_of(floor, "wang", "listen (page)")
        assert re.fullmatch(rf"call {floor.call.call_id}: listen \(page\) agent 1001, "
                            r"[0-9.]+ s", audit)
    finally:
        floor.close()


def test_whisper_barge_and_take_over_from_the_wallboard(tmp_path, prompts_dir, bank_url,
                                                        browser, serve):
    floor = SupervisedCall(tmp_path, prompts_dir, bank_url)
    A, S, trunk = floor.A, floor.S, floor.trunk
    try:
        floor.h.client("supervisor", name="wang")
        with serve(floor.h.web) as base, PacedLoop(floor.h) as loop:
            page = log_in(browser, base, "wang")
            row = page.locator(f'#wb-calls tr[data-call="{floor.call.call_id}"]')
            said = page.locator("#wb-said")
            row.locator('button[data-act="whisper"]').click()  # the phone is still on hook
            expect(said).to_have_text(
                "pick up your phone at fxs4 (dial tone), then press the button again")
            expect(said).to_have_class(re.compile("error"))
            loop.call(lambda: floor.board.off_hook(S))

            row.locator('button[data-act="listen"]').click()
            row.locator('button[data-act="whisper"]').click()
            expect(said).to_contain_text("Whispering: the agent hears you (phone fxs4)")
            hears = lambda port: loop.call(lambda: floor.hears(port), after_ticks=10)  # noqa: E731
            assert hears(A) == {CALLER_HZ, SUPERVISOR_HZ}
            assert hears(trunk) == {AGENT_HZ}  # the caller does not hear a whisper

            row.locator('button[data-act="barge"]').click()
            expect(said).to_contain_text("Barged in")
            assert hears(trunk) == {AGENT_HZ, SUPERVISOR_HZ}
            assert hears(A) == {CALLER_HZ, SUPERVISOR_HZ}
            peaks = heard_in_the_page(page, 2.5)[0]  # a whole analyser window since the barge
            # Still the call's two voices: the supervisor's own is not sent back to them.
            assert near(peaks, [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ]) == {CALLER_HZ, AGENT_HZ}

            page.once("dialog", lambda dialog: dialog.accept())
            row.locator('button[data-act="take_over"]').click()
            expect(said).to_contain_text("Taken over")
            assert hears(trunk) == {SUPERVISOR_HZ} and hears(S) == {CALLER_HZ}
            assert hears(A) == set()
            page.click("#wb-stop")
        call = floor.call.call_id
        for mode in ("whisper", "barge"):
            assert re.fullmatch(rf"call {call}: {mode} agent 1001 from fxs4, [0-9.]+ s",
                                _audit_of(floor, "wang", f"{mode} agent 1001 from fxs4,"))
        assert _audit_of(floor, "wang", "take over (page)") == (
            f"call {call}: take over (page) agent 1001 from fxs4")
        whisper = _audit_of(floor, "wang", "whisper agent 1001 from fxs4,")
        assert re.fullmatch(rf"call {call}: whisper agent 1001 from fxs4, [0-9.]+ s", whisper)
        assert _audit_of(floor, "wang", "took over") == f"call {call}: took over from agent 1001"
    finally:
        floor.close()


def _audit_of(floor, who, containing, within_s=10.0):
    """The last audit entry of `who` containing the text; polled, bounded (the server writes
    a listen's entry on its own thread as the socket closes)."""
    pause = threading.Event()
    for _ in range(int(within_s / 0.01)):
        with Records(DataDir(floor.h.data_dir).records_db) as records:
            found = [e.what for e in records.audit() if e.who == who and containing in e.what]
        if found:
            return found[-1]
        pause.wait(0.01)
    raise AssertionError(f"no audit entry of {who} containing {containing!r}")


def _mark_delay(page, loop, floor, hz):
    """Milliseconds from the loop's tick that changes the caller's tone to `hz` to the page's
    analyser playing it (its last 20 ms), plus the output's reported latency. Polled as fast
    as Playwright answers (a few ms a poll); the 20 ms window adds up to about 10 ms."""
    started = loop.call(lambda: (floor.board.voice(floor.trunk, hz), time.monotonic())[1])
    rate = page.evaluate("window.wallboardListener.sampleRate")
    n = rate // 50
    phase = np.exp(-2j * np.pi * hz * np.arange(n) / rate)
    for _ in range(2000):
        recent = np.asarray(page.evaluate("(n) => window.wallboardListener.samples(n)", n))
        if abs(recent @ phase) * 2 / n > VOICE / 2:
            heard = time.monotonic()
            break
    else:
        raise AssertionError(f"the page never played {hz} Hz")
    output = page.evaluate("window.wallboardListener.outputMs()")
    return round((heard - started) * 1000 + output)


def _write_delays(delays, dropped, end_to_end):
    ARTIFACTS.mkdir(exist_ok=True)
    load = os.getloadavg()
    (ARTIFACTS / "listen-delay.txt").write_text(json.dumps(
        {"end_to_end_ms": end_to_end, "shown_delay_ms": [d["delay"] for d in delays],
         "queued_ms": [d["queued"] for d in delays], "dropped_s": dropped,
         "load_average": [round(x, 2) for x in load]}) + "\n")
