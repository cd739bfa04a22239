"""SIP peers for tests of the whole appliance, all on 127.0.0.1, each bounded in time.

``LiveAppliance`` runs the appliance (quiet sim board + the document's SIP board) on real time;
``until(done)`` is its loop. ``Peer`` is our own SIP endpoint and RTP engine as the far end of
a call (a caller, a phone, or a carrier answering the appliance's calls with ``answer=True``),
stepped once per tick: its agent's events go to ``seen``, what it hears to ``heard``; it sends
silence, or a sine at ``tone_hz``.
``Baresip`` and ``sipp`` start those programs as subprocesses with their own files in the
test's directory; ``close`` kills whatever still runs. Nothing here sleeps.
"""

from __future__ import annotations

import csv
import shutil
import signal
import subprocess
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import soundfile
import yaml
from runtime_harness import scenario_text
from sip_harness import PEER_LIMIT, free_port, free_sip_port

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import load_document, open_config_store
from branchline.config.sip_secrets import SipSecrets
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS
from branchline.firmware.clock import MonotonicClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.records.database import Records
from branchline.firmware.sip_board import bind_outbound, sip_of, with_sip
from branchline.hw import SimBoard, parse_scenario
from branchline.hw.ports import BLOCK_SAMPLES, BLOCK_SECONDS
from branchline.hw.sip.agent import UserAgent
from branchline.hw.sip.calls import CallAnswered, IncomingCall
from branchline.hw.sip.driver import SipEndpoint
from branchline.hw.sip.guard import OutboundPolicy
from branchline.hw.sip.rtp import RtpEngine

LOOPBACK = "127.0.0.1"
BARESIP_MODULES = "/usr/lib/baresip/modules"
KAMAILIO_CONFIG = Path(__file__).parents[1] / "hw" / "sip" / "kamailio" / "kamailio.cfg"


class Peer:
    def __init__(self, trusted=(LOOPBACK,), answer=False, tone_hz=None):
        self.ep = SipEndpoint(lambda h, p: UserAgent(
            h, p, trusted=set(trusted), outbound=OutboundPolicy(lambda n, p: True)), LOOPBACK)
        self.ua = self.ep.agent
        self.answer = answer
        self.rtp = RtpEngine(1)
        self.media = self.rtp.open(0, host=LOOPBACK)
        self.seen = []
        self.heard = []
        self.tone_hz = tone_hz
        self._sent = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.ep.address

    def step(self, now: float) -> None:
        self.ep.poll(0)
        while self.ua.events:
            event = self.ua.events.popleft()
            self.seen.append(event)
            if self.answer and isinstance(event, IncomingCall):
                self.ep.send(self.ua.answer(event.call_id, now, media_address=self.media))
            elif isinstance(event, CallAnswered) and event.media is not None:
                self.rtp.close(0)  # reopened on the same port with the codec settled on
                self.rtp.open(0, host=LOOPBACK, port=self.media[1],
                              remote=(event.media.address, event.media.port),
                              payload_type=event.media.payload_type)
        self.rtp.receive()
        block = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        self.rtp.read(block)
        self.heard.append(block[0].copy())
        out = np.zeros((1, BLOCK_SAMPLES), dtype=np.int16)
        if self.tone_hz is not None:
            t = (self._sent + np.arange(BLOCK_SAMPLES)) / 8000
            out[0] = (8000 * np.sin(2 * np.pi * self.tone_hz * t)).astype(np.int16)
            self._sent += BLOCK_SAMPLES
        self.rtp.write(out)

    def of(self, kind):
        return [e for e in self.seen if isinstance(e, kind)]

    def close(self) -> None:
        self.rtp.close(0)
        self.ep.close()


class LiveAppliance:
    """The whole appliance on real time with the sim board (quiet) and the SIP board, for
    tests with real SIP peers. ``sip`` is the document's ``sip`` section (listen on a free
    port of 127.0.0.1); ``edit(document)`` changes the rest; ``secrets`` are set in the SIP
    secrets file first. ``until(done)`` runs the media loop on its 20 ms boundaries, waiting on
    the SIP socket between ticks, until ``done()`` or PEER_LIMIT (False then)."""

    def __init__(self, data_dir, prompts_dir, bank_url, sip, edit=None, secrets=None):
        store = open_config_store(data_dir)
        current = store.current()
        document = yaml.safe_load(current.text)
        document["sip"] = sip
        for name in [n for n in document["lines"] if n.startswith("sip")]:
            if int(name[3:]) > sip["channels"]:
                del document["lines"][name]
        if edit is not None:
            edit(document)
        store.publish(yaml.safe_dump(document, allow_unicode=True), who="test", note="sip",
                      base=current.info.number)
        for account, password in (secrets or {}).items():
            SipSecrets(DataDir(data_dir).sip_secrets).set(account, password)
        quiet = parse_scenario(scenario_text(trunks=2, stations=1, rate=1))
        document = load_document(store.current().text)
        self.board = with_sip(SimBoard(scenario=quiet), data_dir, document)
        self.app = Appliance(data_dir, self.board,
                             MonotonicClock(ZoneInfo(document.site.timezone)),
                             build_prompts(prompts_dir, store), HostClient(bank_url, ENDPOINTS),
                             store=store)
        bind_outbound(self.app)
        self.sip = sip_of(self.board)
        self.app.start()
        self.due = self.app.clock.now()
        self.closed = None
        self.peers = []  # our own Peers, stepped every tick

    @property
    def address(self) -> tuple[str, int]:
        return self.sip.address

    def port(self, name: str) -> int:
        return next(p.index for p in self.app.board.ports if p.name == name)

    def until(self, done, limit=PEER_LIMIT) -> bool:
        end = time.monotonic() + limit  # a bound on a broken exchange, not a speed check
        while not done():
            if time.monotonic() > end:
                return False
            now = self.app.clock.now()
            if now < self.due:
                self.sip.endpoint.poll(self.due - now)
                continue
            self.app.tick(now, due=self.due)
            for peer in self.peers:
                peer.step(time.monotonic())
            self.due += BLOCK_SECONDS
        return True

    def records(self):
        """Every call record, after closing the appliance (drained of calls)."""
        if self.closed is None:
            self.closed = self.app.close(self.app.clock.now())
        assert self.closed
        with Records(DataDir(self.app.data_dir).records_db) as records:
            return records.calls(0.0, float("inf"))

    def close(self) -> None:
        if self.closed is None:
            self.closed = self.app.close(self.app.clock.now())
        self.board.close()
        for peer in self.peers:
            peer.close()


class Process:
    """A peer run as a subprocess, output to ``log``; killed by ``close`` if still running."""

    def __init__(self, cmd, cwd, stdin=False):
        tool = shutil.which(cmd[0])
        if tool is None:
            pytest.fail(f"{cmd[0]} is missing: run scripts/install-system-deps")
        self.log = Path(cwd) / f"{Path(cmd[0]).name}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen(
                [tool, *cmd[1:]], cwd=cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.PIPE if stdin else subprocess.DEVNULL)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def done(self) -> bool:
        return self.proc.poll() is not None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)
        if self.proc.stdin is not None:
            self.proc.stdin.close()


class Baresip(Process):
    """baresip on 127.0.0.1 from a config directory written here: audio from ``source`` (a
    WAV, aufile), no sound card (the player is an unconnected aubridge device), what it
    hears and sends dumped as WAV files by sndfile into ``dir``; commands typed on stdin
    (stdio: ``/dial URI``, digits in a call are RFC 4733 keys, ``/hangup``)."""

    def __init__(self, dir, account, source, extra=""):
        dir = Path(dir)
        dir.mkdir(parents=True)
        sip_port, rtp_port = free_sip_port(), free_port()
        (dir / "accounts").write_text(account + "\n")
        (dir / "config").write_text(
            f"poll_method poll\nsip_listen {LOOPBACK}:{sip_port}\n"
            f"audio_player aubridge,nowhere\naudio_alert aubridge,nowhere\n"
            f"audio_source aufile,{source}\n"
            f"rtp_ports {rtp_port & ~1}-{(rtp_port & ~1) + 9}\n"
            f"module_path {BARESIP_MODULES}\n"
            "module stdio.so\nmodule g711.so\nmodule aufile.so\nmodule aubridge.so\n"
            "module sndfile.so\nmodule_app account.so\nmodule_app menu.so\n"
            f"snd_path {dir}\n{extra}")
        self.dir = dir
        super().__init__(["baresip", "-f", str(dir), "-n", LOOPBACK], dir, stdin=True)

    def type(self, text: str) -> None:
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def dumps(self, which="dec") -> list[Path]:
        """The WAV files sndfile has written for ``which``, one per call, oldest first."""
        return sorted(self.dir.glob(f"dump-*-{which}.wav"), key=lambda p: p.stat().st_mtime_ns)

    def recording(self, which="dec", path=None):
        """What baresip heard (``dec``) or sent (``enc``) in its only call (or the dump at
        ``path``), int16 mono at 8 kHz."""
        if path is None:
            (path,) = self.dumps(which)
        samples, rate = soundfile.read(path, dtype="int16")
        assert rate == 8000
        return samples


@pytest.fixture
def processes():
    """The subprocess peers a test starts, closed when it ends."""
    started = []
    yield started
    for process in started:
        process.close()


def tone_wav(path, hz, seconds=120.0, level=8000):
    """A sine at ``hz`` as a 16-bit 8 kHz WAV at ``path`` (a peer's test signal)."""
    t = np.arange(int(seconds * 8000)) / 8000
    soundfile.write(path, (level * np.sin(2 * np.pi * hz * t)).astype(np.int16), 8000,
                    subtype="PCM_16")
    return path


class Kamailio(Process):
    """Kamailio with the core tests' configuration (tests/hw/sip/kamailio/kamailio.cfg: one
    account ``user``/``password`` that may register, INVITEs routed to its contact with
    Record-Route) on a free port of 127.0.0.1, its files in ``cwd``. ``stop`` sends SIGTERM
    and gives the exit code (0 for a clean stop); ``close`` kills it if still running."""

    def __init__(self, cwd, user, password):
        self.port = free_port()
        super().__init__(
            [shutil.which("kamailio") or "/usr/sbin/kamailio", "-DD", "-E",
             "-f", str(KAMAILIO_CONFIG), "-A", f"LISTEN=udp:{LOOPBACK}:{self.port}",
             "-A", f'TRUNK_USER="{user}"',
             "-A", f'TRUNK_PASSWORD="{password}"', "-w", str(cwd), "-Y", str(cwd),
             "-m", "32", "-M", "8"], cwd)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            return -signal.SIGKILL


def sipp(scenario, target, cwd, *extra):
    """SIPp running ``scenario`` (a path, or ``-sn`` name given in ``extra``) against
    ``target`` ("host:port" or None for a UAS), on 127.0.0.1, bounded by its own timeout."""
    cmd = ["sipp", *([target] if target else []), *(["-sf", str(scenario)] if scenario else []),
           "-i", LOOPBACK, "-p", str(free_port()), "-mp", str(free_port()), "-nostdin",
           "-timeout", str(int(PEER_LIMIT)), "-timeout_error", "-trace_stat", "-stf",
           "stats.csv", "-trace_err", "-error_file", "errors.log", *extra]
    return Sipp(cmd, cwd)


class Sipp(Process):
    def result(self) -> tuple[int, int]:
        """(successful, failed) calls from SIPp's statistics file, after it exited 0."""
        detail = self.output()[-3000:]
        errors = self.log.parent / "errors.log"
        if errors.exists():
            detail += errors.read_text()[-3000:]
        assert self.proc.returncode == 0, detail
        with open(self.log.parent / "stats.csv", newline="") as f:
            last = list(csv.DictReader(f, delimiter=";"))[-1]
        return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])
