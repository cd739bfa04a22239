"""SIP load through the IVR: SIPp callers on loopback against the whole appliance.

The appliance runs in this process as ``branchline run`` has it (the simulated board with no
traffic and the document's SIP board in one media loop, real time, ticks on their 20 ms
boundaries), pinned to one core; SIPp runs pinned to the other. Every SIPp call INVITEs the
main number, is answered by the IVR (prompt audio sent as RTP to SIPp), and keys ``#``
(repeat) by RFC 4733 every ``KEY_EVERY_S`` seconds, which keeps it in the language menu; then
BYE. The keys are one pcap each (tests/support/rtp_pcap.py, one RTP stream across the files),
played in turn by ``play_pcap_audio``: SIPp plays a pcap through a raw UDP socket of its own,
and the kernel offers every UDP packet on the host to every such socket. One pcap lasting the
whole call kept 1,000 raw sockets open at 1,000 calls, and each packet the appliance sent cost
a walk over all of them (perf: 54 % of the loop's time in ``raw_local_deliver``): a cost of
the load generator, not of the appliance, which a network does not have.

1. Concurrent calls: for N channels, N calls are set up at ``FILL_RATE`` a second and held;
   once all N are up, the loop's own tick histogram is reset and ``MEASURE_S`` seconds of
   ticks are measured. N holds when the 99th-percentile tick is at most 5 ms and no tick
   started more than 20 ms late, and SIPp counts no failed call.
2. Set-up rate: calls arriving at R a second for ``RATE_S`` seconds, each held ``RATE_HOLD_S``
   seconds; R holds when no call failed and no tick was late.

Beside them, in the same run: the sim-board runtime bench's p99 at the same channel count
(bench/runtime.py ``capacity``, virtual clock, no sockets) and the RTP cost per channel
(bench/rtp.py). The run is bounded: every SIPp has its own ``-timeout`` and every wait here
a limit.
"""

from __future__ import annotations

import csv
import gc
import math
import os
import resource
import subprocess
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from rtp_pcap import write_key_pcaps
from runtime_harness import scenario_text
from sip_harness import free_port

from bench import rtp as rtp_bench
from bench import runtime as runtime_bench
from branchline.config.document.loading import load_document, open_config_store
from branchline.firmware.appliance import Appliance, build_prompts
from branchline.firmware.bankhost import ENDPOINTS, BankHostSimulator
from branchline.firmware.clock import MonotonicClock
from branchline.firmware.host_client import HostClient
from branchline.firmware.media_loop import TickStats
from branchline.firmware.sip_board import bind_outbound, sip_of, with_sip
from branchline.hw import PortKind, SimBoard, parse_scenario
from branchline.hw.ports import BLOCK_SECONDS

NUMBER = "075588880001"
CHANNEL_STEPS = (250, 500, 750, 1000)  # 1000: the most channels a document may give SIP
RATE_STEPS = (50, 100, 200, 400)
FILL_RATE = 100
MEASURE_S = 10.0
RATE_S, RATE_HOLD_S = 5.0, 3.0
KEY_EVERY_S = 3.0
KEY_S = 0.1
P99_LIMIT_S = 5e-3
LOOP_CPU, SIPP_CPU = 0, 1
SCENARIO = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="Branchline load: a caller keying # by RFC 4733">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:1390000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:sipp@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

v=0
o=sipp 1 1 IN IP[local_ip_type] [local_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP 8 101
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="200" rrs="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:1390000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
[routes]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0
]]></send>
KEYS
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:1390000[call_number]@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
[routes]
CSeq: 2 BYE
Max-Forwards: 70
Content-Length: 0
]]></send>
  <recv response="200"/>
</scenario>
"""


class Rig:
    """The appliance with ``channels`` SIP channels answering NUMBER, ticking in real time."""

    def __init__(self, work: Path, prompts, bank_url: str, channels: int):
        data = work / f"sip{channels}"
        store = open_config_store(data)
        current = store.current()
        document = yaml.safe_load(current.text)
        document["sip"] = {"listen": "127.0.0.1:0", "channels": channels,
                           "trunks": {"local": {"sources": ["127.0.0.1"]}}}
        lines = {k: v for k, v in document["lines"].items() if not k.startswith("sip")}
        lines.update({f"sip{c}": {"number": NUMBER, "flow": "bank"}
                      for c in range(1, channels + 1)})
        document["lines"] = lines
        store.publish(yaml.safe_dump(document, allow_unicode=True), who="bench",
                      note="SIP load", base=current.info.number)
        loaded = load_document(store.current().text)
        quiet = parse_scenario(scenario_text(trunks=4, stations=3, rate=1,
                                             agents=[("1003", 2)]))
        self.board = with_sip(SimBoard(scenario=quiet), data, loaded)
        self.app = Appliance(data, self.board, MonotonicClock(ZoneInfo(loaded.site.timezone)),
                             prompts, HostClient(bank_url, ENDPOINTS), store=store)
        bind_outbound(self.app)
        self.app.start()
        gc.collect()  # as `branchline run` does once started (firmware/cli/main.py)
        gc.freeze()
        self.address = sip_of(self.board).address
        self.due = self.app.clock.now()
        self.cpu: list[float] = []  # the loop thread's CPU seconds per tick

    def measure(self):
        """Start the tick histogram and the CPU list afresh."""
        self.app.loop.stats = TickStats()
        self.cpu = []

    def cpu_ms(self, q: float) -> float:
        return float(np.percentile(self.cpu, q)) * 1e3 if self.cpu else math.nan

    def run(self, limit_s: float, done=lambda: False) -> bool:
        """Tick on the 20 ms boundaries until ``done()`` or ``limit_s`` seconds."""
        app, end = self.app, time.monotonic() + limit_s
        while not done():
            now = app.clock.now()
            if now > end:
                return False
            if now < self.due:
                time.sleep(self.due - now)
                continue
            cpu = time.thread_time()
            app.tick(now, due=self.due)
            self.cpu.append(time.thread_time() - cpu)
            self.due += BLOCK_SECONDS
        return True

    def close(self):
        self.app.close(self.app.clock.now())
        self.board.close()
        gc.unfreeze()  # the next step's rig starts from a clean heap


class Sipp:
    def __init__(self, work: Path, target, rate: float, calls: int, hold_s: float):
        self.dir = Path(tempfile.mkdtemp(dir=work, prefix="sipp-"))
        keys = write_key_pcaps(self.dir, "#" * max(1, math.ceil(hold_s / KEY_EVERY_S)),
                               length=KEY_S, gap=KEY_EVERY_S - KEY_S)
        (self.dir / "caller.xml").write_text(SCENARIO.replace("KEYS\n", "".join(
            f'  <nop><action><exec play_pcap_audio="{key}"/></action></nop>\n'
            f'  <pause milliseconds="{round(KEY_EVERY_S * 1000)}"/>\n' for key in keys)))
        self.limit_s = calls / rate + hold_s + 60
        command = ["sipp", f"{target[0]}:{target[1]}", "-sf", "caller.xml", "-s", NUMBER,
                   "-i", "127.0.0.1", "-p", str(free_port()), "-mi", "127.0.0.1",
                   "-mp", str(free_port()), "-r", str(rate), "-m", str(calls), "-l", str(calls),
                   "-nostdin", "-timeout",
                   str(int(self.limit_s)), "-timeout_error", "-trace_stat", "-stf",
                   "stats.csv", "-fd", "1", "-max_socket", "4096"]
        with open(self.dir / "stderr", "wb") as errors:
            self.proc = subprocess.Popen(command, cwd=self.dir, stdout=subprocess.DEVNULL,
                                         stderr=errors,
                                         preexec_fn=lambda: os.sched_setaffinity(0, {SIPP_CPU}))

    def done(self) -> bool:
        return self.proc.poll() is not None

    def result(self) -> tuple[int, int]:
        """(successful, failed) calls; a SIPp that did not end is stopped and counts failed."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        with open(self.dir / "stats.csv", newline="") as f:
            last = list(csv.DictReader(f, delimiter=";"))[-1]
        return int(last["SuccessfulCall(C)"]), int(last["FailedCall(C)"])


def concurrent(work, prompts, bank_url, channels):
    """(calls up, p50 s, p99 s, late ticks, successful, failed, CPU p50 ms, CPU p99 ms) for
    ``channels`` held calls."""
    rig = Rig(work, prompts, bank_url, channels)
    try:
        fill_s = channels / FILL_RATE
        sipp = Sipp(work, rig.address, FILL_RATE, channels, fill_s + MEASURE_S + 15)
        rig.run(fill_s + 15, lambda: rig.app.active_calls >= channels or sipp.done())
        up = rig.app.active_calls
        rig.measure()
        rig.run(MEASURE_S)
        stats = rig.app.loop.stats
        p50, p99, late = stats.percentile(50), stats.percentile(99), stats.late
        cpu = rig.cpu_ms(50), rig.cpu_ms(99)
        rig.run(sipp.limit_s, sipp.done)
        ok, failed = sipp.result()
        return up, p50, p99, late, ok, failed, *cpu
    finally:
        rig.close()


def setup_rate(work, prompts, bank_url, rate):
    """(successful, failed, late ticks, p99 s) for calls arriving at ``rate`` a second."""
    calls = int(rate * RATE_S)
    rig = Rig(work, prompts, bank_url, min(1000, calls))
    try:
        sipp = Sipp(work, rig.address, rate, calls, RATE_HOLD_S)
        rig.measure()
        rig.run(sipp.limit_s, sipp.done)
        stats = rig.app.loop.stats
        ok, failed = sipp.result()
        return ok, failed, stats.late, stats.percentile(99), rig.cpu_ms(99)
    finally:
        rig.close()


def run() -> str:
    os.sched_setaffinity(0, {LOOP_CPU})  # before any thread starts: they inherit it
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # two RTP sockets per channel
    held, rows, rate_rows, fastest = 0, [], [], 0
    held_all = fast_all = True  # every step so far held
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp, BankHostSimulator() as bank:
        work = Path(tmp)
        shared = work / "shared-prompts"
        prompts = build_prompts(shared, open_config_store(shared))
        for n in CHANNEL_STEPS:
            _, sim_p99, _ = runtime_bench.capacity(work, prompts, bank.base_url, n,
                                                   PortKind.SIP)
            up, p50, p99, late, ok, failed, cpu50, cpu99 = concurrent(work, prompts,
                                                                      bank.base_url, n)
            good = up == n and p99 <= P99_LIMIT_S and late == 0 and failed == 0
            rows.append(f"| {n:,} | {up:,} | {p50 * 1e3:.2f} | {p99 * 1e3:.2f} | "
                        f"{cpu50:.2f} / {cpu99:.2f} | {late} | "
                        f"{ok:,} / {failed:,} | {sim_p99 * 1e3:.2f} | "
                        f"{p99 / sim_p99:.1f}x | {'yes' if good else 'no'} |")
            held_all = held_all and good
            held = n if held_all else held
        for rate in RATE_STEPS:
            ok, failed, late, p99, cpu99 = setup_rate(work, prompts, bank.base_url, rate)
            good = failed == 0 and late == 0
            rate_rows.append(f"| {rate} | {ok:,} / {failed:,} | {late} | {p99 * 1e3:.2f} | "
                             f"{cpu99:.2f} | {'yes' if good else 'no'} |")
            fast_all = fast_all and good
            fastest = rate if fast_all else fastest
        per_channel = rtp_bench._ours(CHANNEL_STEPS[-1]) / CHANNEL_STEPS[-1]
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    return "\n".join([
        "## SIP load through the IVR (SIPp)",
        "",
        f"**{held:,} concurrent SIP calls on one core with the 99th-percentile tick at most "
        f"5 ms and no late tick; {fastest} call set-ups a second with no failed call** "
        "(targets: 1,000 and 100). SIPp on loopback against the whole appliance in real time "
        f"(the loop pinned to CPU {LOOP_CPU}, SIPp to CPU {SIPP_CPU}): every call answered by "
        f"the IVR's language menu and keying # (repeat) by RFC 4733 every {KEY_EVERY_S:.0f} s "
        "(one pcap a key: SIPp plays each through a raw socket that every UDP packet on the "
        "host is offered to, so pcaps lasting whole calls made each packet the appliance sent "
        "walk 1,000 of them, half the loop's time; see bench/sip.py); "
        f"ticks measured by the loop's own histogram over {MEASURE_S:.0f} s once all calls "
        f"were up (set up at {FILL_RATE} a second). Every step runs (each bounded), so the "
        "table shows the trend past a step that failed. A document gives SIP at most 1,000 "
        f"channels, so 1,000 is the last step. Load average when the run began: {load:.1f} "
        "(other work on this machine competes for both cores; compare the sim-board column, "
        "measured in the same run, with the Runtime section's).",
        "",
        "| calls | up | p50 tick (ms) | p99 tick (ms) | tick CPU p50 / p99 (ms) | late ticks | "
        "SIPp ok / failed | sim-board p99 (ms) | SIP / sim p99 | holds |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        *rows,
        "",
        "The sim-board column is bench/runtime.py's channel capacity at the same count, run "
        "here beside it: the same IVR and DSP on a virtual clock with no sockets; the ratio is "
        "what SIP signalling and RTP add to a tick. Tick CPU is the loop thread's own CPU time "
        "per tick (time.thread_time): what a tick costs, without the time other processes "
        "held the core, so it is the figure to compare between runs on a shared machine.",
        "",
        f"Set-up rate: calls arriving for {RATE_S:.0f} s at each rate, each held "
        f"{RATE_HOLD_S:.0f} s, keys as above.",
        "",
        "| calls a second | SIPp ok / failed | late ticks | p99 tick (ms) | p99 tick CPU (ms) "
        "| holds |",
        "|---:|---:|---:|---:|---:|---|",
        *rate_rows,
        "",
        f"RTP alone (bench/rtp.py's engine, {CHANNEL_STEPS[-1]:,} channels, same run): "
        f"{per_channel * 1e6:.1f} µs per channel per tick. Method: bench/sip.py.",
    ])
