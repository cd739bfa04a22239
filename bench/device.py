"""What the appliance costs a small board: memory, boot time, CPU and storage writes.

Every figure comes from `branchline run` as a real process on the simulated board, in real
time, with the web page served (`--listen`, as the systemd unit runs it), read from /proc:

1. Boot: from `Popen` to the ready line, and to the first ring answered (the scenario's first
   caller rings at once), on a fresh data directory (prompts synthesised) and again on the
   same directory (prompts built).
2. Memory and CPU: idle, then 8, 30 and 120 busy channels (every trunk in a call: a caller
   chose a language, pressed 0 and talks with an agent for an hour). Once every trunk has a
   call, RSS (and its anonymous/file split), threads and CPU time are read over ``WINDOW_S``.
3. Storage: `write_bytes` of /proc/PID/io (what the process sends to the storage layer: the
   database, its WAL, recordings) over ``IDLE_S`` idle, and over a run of short calls (half
   served by the IVR alone, half by an agent and recorded), per call ended; log bytes are what
   the process writes on stdout, which journald stores.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import open_config_store
from branchline.firmware.appliance import build_prompts
from branchline.firmware.cli.simulate import publish_fitted
from branchline.firmware.prompts import PromptMissing
from branchline.hw import SimBoard, parse_scenario

BRANCHLINE = Path(sys.executable).with_name("branchline")
BUSY = (8, 30, 120)
CPU_AT = (8, 30)
WINDOW_S = 30.0
IDLE_S = 60.0
CALLS_S = 120.0
READY_DEADLINE_S = 300.0
FILL_DEADLINE_S = 180.0
PAGE = os.sysconf("SC_PAGE_SIZE")
TICKS = os.sysconf("SC_CLK_TCK")
CARD, PIN = "6222021234567894", "123456"  # the bank host simulator's test card
AGENT_CALL = '[{keys: "0"}, {wait_agent: true}]'
SELF_SERVED = '[{keys: "3"}, {listen: true}, {hang_up: true}]'


def scenario(trunks: int, *, per_hour: float, handle_s: float, goals: dict[str, str]) -> str:
    """`trunks` lines and as many agents, all day; callers choose Mandarin then `goals`."""
    roster = "\n".join(
        f'    - {{id: "{2000 + i}", station: {i}, skills: [mandarin], '
        'shift: {start: "00:00", end: "24:00"}}' for i in range(trunks))
    share = 1.0 / len(goals)
    first = ", first_s: 0" if per_hour else ""  # idle: no caller at all
    goal_lines = "\n".join(f"    {name}: {{share: {share}, steps: {steps}}}"
                           for name, steps in goals.items())
    return textwrap.dedent(f"""\
        name: device
        seed: 3
        board: {{trunks: {trunks}, stations: {trunks}}}
        day: {{start: "00:00", end: "24:00"}}
        arrivals: {{default_per_hour: {per_hour}{first}}}
        callers:
          caller_id: {{private_share: 0, unavailable_share: 0}}
          languages: {{mandarin: {{share: 1.0, key: "1"}}}}
          accounts: [{{card: "{CARD}", pin: "{PIN}"}}]
          prelude: [{{keys: "{{language_key}}"}}]
          goals:
        """) + goal_lines + textwrap.dedent(f"""
          ring_patience: {{kind: fixed, value: 60}}
          queue_patience: {{kind: fixed, value: 7200}}
        keypad: {{early: 0, wrong: 0, silent: 0}}
        agents:
          answer_delay: {{kind: fixed, value: 1}}
          ring_no_answer: 0
          handle_time: {{kind: fixed, value: {handle_s}}}
          wrapup: null
          roster:
        """) + roster + "\n"


def prepare(data: Path, text: str) -> Path:
    """A data directory whose document fits the scenario (not built: no prompts yet)."""
    path = data.with_suffix(".yaml")
    path.write_text(text)
    parsed = parse_scenario(text, path.name)
    publish_fitted(open_config_store(DataDir(data)), parsed, SimBoard(scenario=parsed))
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """`branchline run` as a child process; its stdout read by a thread, line by line."""

    def __init__(self, data: Path, scenario_path: Path, *, listen: bool = True):
        self.port = free_port()
        command = [str(BRANCHLINE), "run", "--data", str(data), "--scenario",
                   str(scenario_path), "--log-format", "kv"]
        if listen:
            command += ["--listen", f"127.0.0.1:{self.port}"]
        self.started = time.monotonic()
        # As installed, the modules are byte-compiled: a shell that forbids writing .pyc
        # would have every start compile them again (a third of a second).
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        self.child = subprocess.Popen(command, stdout=subprocess.PIPE,
                                      stderr=subprocess.STDOUT, env=env)
        self.log_bytes = 0
        self.ended = 0
        self.ready_at: float | None = None
        self.ready_cpu = 0.0
        self.answered_at: float | None = None
        self.tail: list[str] = []
        self._ready = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for raw in self.child.stdout:
            now = time.monotonic()
            self.log_bytes += len(raw)
            line = raw.decode(errors="replace")
            self.tail = [*self.tail[-20:], line]
            if self.ready_at is None and line.startswith("branchline running"):
                self.ready_at = now - self.started
                self.ready_cpu = self.cpu_s()
                self._ready.set()
            elif " answered on " in line and self.answered_at is None:
                self.answered_at = now - self.started
            elif " ended: " in line:
                self.ended += 1
        self._ready.set()

    def wait_ready(self) -> None:
        if not self._ready.wait(READY_DEADLINE_S) or self.ready_at is None:
            self.stop()
            raise RuntimeError("branchline run did not get ready:\n" + "".join(self.tail))

    def wait_answered(self) -> float:
        deadline = time.monotonic() + FILL_DEADLINE_S
        while self.answered_at is None:
            if time.monotonic() > deadline or self.child.poll() is not None:
                raise RuntimeError("no call answered:\n" + "".join(self.tail))
            time.sleep(0.05)
        return self.answered_at

    def metric(self, name: str) -> float:
        import httpx

        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise RuntimeError(f"/metrics has no {name}")

    def wait_busy(self, calls: int) -> None:
        deadline = time.monotonic() + FILL_DEADLINE_S
        while self.metric("branchline_active_calls") < calls:
            if time.monotonic() > deadline:
                raise RuntimeError(f"fewer than {calls} calls up after {FILL_DEADLINE_S:.0f} s")
            time.sleep(0.5)

    def proc(self, name: str) -> str:
        return Path(f"/proc/{self.child.pid}/{name}").read_text()

    def cpu_s(self) -> float:
        fields = self.proc("stat").rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime

    def rss(self) -> dict[str, int]:
        rollup = dict(line.split(":", 1) for line in self.proc("smaps_rollup").splitlines()[1:])
        kib = {k: int(v.split()[0]) for k, v in rollup.items()}
        return {"rss": kib["Rss"] * 1024, "anon": kib["Anonymous"] * 1024,
                "file": (kib["Rss"] - kib["Anonymous"]) * 1024}

    def written(self) -> int:
        io = dict(line.split(": ") for line in self.proc("io").splitlines())
        return int(io["write_bytes"])

    def threads(self) -> list[str]:
        tasks = Path(f"/proc/{self.child.pid}/task")
        return sorted((t / "comm").read_text().strip() for t in tasks.iterdir())

    def fds(self) -> int:
        return len(os.listdir(f"/proc/{self.child.pid}/fd"))

    def window(self, seconds: float) -> dict:
        """RSS at the end, CPU share over `seconds` of real time."""
        cpu0, t0 = self.cpu_s(), time.monotonic()
        time.sleep(seconds)
        cpu1, t1 = self.cpu_s(), time.monotonic()
        return {**self.rss(), "cpu": (cpu1 - cpu0) / (t1 - t0), "threads": self.threads(),
                "fds": self.fds()}

    def stop(self) -> None:
        """SIGTERM drains; a second one ends the calls still up at once (records flushed)."""
        for wait_s in (2, 120):
            if self.child.poll() is not None:
                break
            self.child.send_signal(signal.SIGTERM)
            try:
                self.child.wait(timeout=wait_s)
            except subprocess.TimeoutExpired:
                continue
        if self.child.poll() is None:
            self.child.kill()
            self.child.wait()
        self._reader.join(timeout=10)


def mib(n: float) -> str:
    return f"{n / 2**20:.1f}"


def prompt_bytes(data: Path) -> tuple[int, int, int]:
    """(prompts loaded, bytes of their audio in memory, bytes of their slowed copies) for the
    data directory's document."""
    prompts = build_prompts(data, open_config_store(DataDir(data)))
    sizes, slowed = [], 0
    for name, lang in prompts.wanted():
        try:
            sizes.append(prompts.audio(name, lang).nbytes)
        except PromptMissing:
            continue
        for speed in prompts.slow_speeds:
            slowed += prompts.render_items([name], lang, speed)[0].nbytes
    return len(sizes), sum(sizes), slowed


def boot(work: Path) -> list[str]:
    data = work / "boot"
    path = prepare(data, scenario(8, per_hour=3600, handle_s=30, goals={"a": AGENT_CALL}))
    rows = []
    for label in ("first start (prompts synthesised)", "prompts already built"):
        run = Running(data, path)
        run.wait_ready()
        answered = run.wait_answered()
        run.stop()
        rows.append(f"| {label} | {run.ready_at:.2f} s | {run.ready_cpu:.2f} s | "
                    f"{answered:.2f} s |")
    return rows


def busy(work: Path) -> tuple[list[str], dict]:
    rows, seen = [], {}
    for trunks in (0, *BUSY):
        data = work / f"busy{trunks}"
        text = scenario(max(trunks, 4), per_hour=0 if trunks == 0 else trunks * 1800,
                        handle_s=3600, goals={"a": AGENT_CALL})
        path = prepare(data, text)
        build_prompts(data, open_config_store(DataDir(data)))
        run = Running(data, path)
        run.wait_ready()
        if trunks:
            run.wait_busy(trunks)
        got = run.window(WINDOW_S)
        seen[trunks] = got
        if trunks == 0:
            before = run.written()
            time.sleep(IDLE_S)
            got["idle_written"] = run.written() - before
            got["idle_log"] = run.log_bytes
        run.stop()
        cpu = f"{got['cpu'] * 100:.1f} %" if trunks == 0 or trunks in CPU_AT else "—"
        rows.append(f"| {trunks or 'idle'} | {mib(got['rss'])} | {mib(got['anon'])} | "
                    f"{mib(got['file'])} | {len(got['threads'])} | {got['fds']} | {cpu} |")
    return rows, seen


def imports_rss() -> int:
    """RSS of an interpreter that has imported what `branchline run --listen` imports."""
    code = ("import branchline.firmware.cli.main, branchline.firmware.appliance, "
            "branchline.firmware.web.serve, branchline.hw.sim, pathlib; "
            "print(next(l for l in pathlib.Path('/proc/self/status').read_text().splitlines() "
            "if l.startswith('VmRSS')).split()[1])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=tempfile.gettempdir())
    return int(out.stdout) * 1024


def no_web(work: Path) -> int:
    data = work / "busy0"
    run = Running(data, data.with_suffix(".yaml"), listen=False)
    run.wait_ready()
    got = run.window(5.0)
    run.stop()
    return got["rss"]


def per_call(work: Path) -> dict:
    data = work / "calls"
    path = prepare(data, scenario(8, per_hour=8 * 240, handle_s=10,
                                  goals={"self": SELF_SERVED, "agent": AGENT_CALL}))
    build_prompts(data, open_config_store(DataDir(data)))
    run = Running(data, path)
    run.wait_ready()
    before, logs0, ended0 = run.written(), run.log_bytes, run.ended
    time.sleep(CALLS_S)
    written, logs, ended = run.written() - before, run.log_bytes - logs0, run.ended - ended0
    run.stop()
    recordings = DataDir(data).recordings
    wavs = list(recordings.rglob("*.wav")) if recordings.exists() else []
    return {"calls": ended, "written": written, "logs": logs,
            "recorded": len(wavs), "recording_bytes": sum(p.stat().st_size for p in wavs)}


def run() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        boots = boot(work)
        rows, seen = busy(work)
        bare = no_web(work)
        count, audio, slowed = prompt_bytes(work / "busy0")
        imported = imports_rss()
        calls = per_call(work)
    idle = seen[0]
    per_channel = (seen[120]["rss"] - seen[8]["rss"]) / 112
    n = max(calls["calls"], 1)
    recorded_each = calls["recording_bytes"] / max(calls["recorded"], 1)
    return "\n".join([
        "## Device",
        "",
        "What `branchline run` costs a small board (bench/device.py): a real process on the "
        "simulated board in real time, with the web page served as the systemd unit runs it, "
        "measured from /proc. On a board the interpreter and libraries weigh the same; CPU "
        "shares scale with the core's speed (an arm64 board's core is 2 to 4 times slower "
        "than this machine's).",
        "",
        "**Boot** (process start to the ready line, and to the first call answered; the "
        "first caller rings at once, and the appliance answers once the caller ID that "
        "follows the first ring is in: China's 1 s ring, then the FSK burst in the silence "
        "after it, about 2.1 s of line time that every call takes, whatever the start-up; "
        "the modules byte-compiled, as a package installs them):",
        "",
        "| start | ready | CPU time to ready | first ring answered |",
        "|---|---|---|---|",
        *boots,
        "",
        f"**Memory and CPU** (busy: every trunk in a call, talking with an agent; read after "
        f"{WINDOW_S:.0f} s; CPU as a share of one core over that window):",
        "",
        "| busy channels | RSS MiB | anonymous | file-backed | threads | fds | CPU |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"What takes it: Python with every module `run --listen` imports (numpy, pydantic, "
        f"FastAPI, uvicorn, cryptography, the appliance) {mib(imported)} MiB before anything "
        f"runs; the web service "
        f"{mib(idle['rss'] - bare)} MiB (idle RSS with `--listen` minus without); prompts "
        f"{mib(audio)} MiB ({count} prompt audios held in memory as 16-bit PCM) and their "
        f"copies slowed for older callers {mib(slowed)} MiB; each busy "
        f"channel about {per_channel / 1024:.0f} KiB (8 to 120 channels: DSP state, "
        f"session, mix and recording buffers); the rest is the appliance's state (the "
        f"configuration's models, the engines, SQLite's page cache) and the threads' stacks "
        f"(docs/ARCHITECTURE.md lists the threads: {len(idle['threads'])} when idle). "
        f"Not loaded until used (tests/firmware/test_footprint.py): pypinyin (prompt "
        f"synthesis), zxcvbn (setting a password), psycopg (a branch with a centre), graphviz "
        f"(a menu diagram).",
        "",
        f"**Storage writes** (`write_bytes` of /proc/PID/io; logs are stdout bytes, which "
        f"journald stores): idle, {idle['idle_written']} bytes written in {IDLE_S:.0f} s "
        f"(about {idle['idle_written'] * 3600 / IDLE_S / 1024:.0f} KiB an hour) and "
        f"{idle['idle_log']} bytes of log since start. Per call ({calls['calls']} calls ended "
        f"in {CALLS_S:.0f} s on 8 trunks, half served by the IVR, half by an agent for 10 s "
        f"and recorded): {calls['written'] / n / 1024:.0f} KiB written to disk (records, WAL, "
        f"recordings), {calls['logs'] / n:.0f} bytes of log; a recording is "
        f"{recorded_each / 1024:.0f} KiB for its 10 s (8 kHz 16-bit WAV).",
    ])
