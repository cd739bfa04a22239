"""The `branchline` command: run, simulate, selftest, probe, selfcheck, config, call.

* ``run [--board sim] [--data DIR] [--listen HOST:PORT] [--scenario FILE] [--drain-s S]``:
  the appliance in real time. The loop runs on 20 ms boundaries of the monotonic clock
  (sleeping until the next one; a late tick is counted and the loop catches up block by
  block without drifting). SIGTERM / Ctrl-C drains: no new call is answered, calls up finish
  within the bound, records are flushed, exit 0. ``--listen`` serves /metrics and /healthz.
* ``simulate SCENARIO [--hours H] [--data DIR] [--seed N] [--report DIR]``: the same
  appliance on a virtual clock as fast as the machine allows; a progress bar on stderr, then
  the KPI report from the records, also written as CSV and HTML under the report directory.
* ``selftest``: every port of the board through the DSP chain (DTMF and a busy tone), a
  table per port; exit 1 on any failure. ``probe``: the board's ports.
* ``selfcheck``: the DSP kernels on N channels (firmware/selfcheck.py).
* ``config ...``: firmware/cli_config.py. ``call ...``: firmware/ops_call.py.

``--data`` defaults to ``$BRANCHLINE_DATA`` or ``./var``.
"""

import argparse
import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import branchline
from branchline.firmware.cli_config import add_config_commands
from branchline.firmware.ops_call import add_call_command

DEFAULT_DATA = "./var"


def _data_dir(args) -> Path:
    return Path(args.data or os.environ.get("BRANCHLINE_DATA") or DEFAULT_DATA)


def _selfcheck(args):
    from branchline.firmware.selfcheck import run_selfcheck

    result = run_selfcheck(channels=args.channels)
    print(f"branchline {branchline.__version__}")
    print(f"compiled DSP kernels: {', '.join(result.kernels)}")
    print(f"DSP self-check on {result.channels} channels: sent {result.sent}")
    for channel, heard in enumerate(result.heard):
        mark = "ok" if heard == result.sent else "FAIL"
        print(f"  channel {channel}: heard {heard or '(nothing)'}  {mark}")
    print("self-check passed" if result.ok else "self-check FAILED")
    return 0 if result.ok else 1


def _prompt_progress(done, total, what):
    if done == 1 or done == total or done % 50 == 0:
        print(f"prompts: built {done}/{total} ({what})", flush=True)


def _run(args):
    from branchline.firmware.appliance import open_sim
    from branchline.firmware.clock import MonotonicClock
    from branchline.firmware.ops_drain import Drain
    from branchline.firmware.ops_logging import configure_logging
    from branchline.firmware.ops_metrics import ApplianceMetrics, MetricsServer, parse_listen
    from branchline.firmware.ops_systemd import SystemdNotifier, WatchdogFeeder
    from branchline.hw.ports import BLOCK_SECONDS

    configure_logging(args.log_format, args.log_level, stream=sys.stdout)
    notifier = SystemdNotifier.from_environ()
    feeder = WatchdogFeeder.from_environ(notifier)
    app, bank = open_sim(_data_dir(args), MonotonicClock, scenario=args.scenario,
                         progress=_prompt_progress)
    metrics = ApplianceMetrics()
    metrics.attach(app)
    server = MetricsServer(parse_listen(args.listen), metrics.render,
                           metrics.health).start() if args.listen else None
    app.start()
    trunks = sum(p.is_trunk for p in app.board.ports)
    status = f"{trunks} trunks, {len(app.stations)} stations, config v{app.config.version}"
    with Drain(bound_s=args.drain_s, on_drain=notifier.stopping).installed() as drain:
        # Ready only once SIGTERM drains: a stop asked for from here on is never lost.
        print(f"branchline running: {status}; Ctrl-C drains and stops", flush=True)
        notifier.ready(status)
        due = app.clock.now()
        while True:
            now = app.clock.now()
            if now < due:
                time.sleep(due - now)
                now = app.clock.now()
            app.tick(now, due=due)
            feeder.tick_done(now)
            metrics.sample(app, now)
            if drain.should_stop(app, now):
                break
            due += BLOCK_SECONDS  # the next boundary: a late loop catches up, never drifts
    ok = app.close(app.clock.now())
    if server is not None:
        server.close()
    if bank is not None:
        bank.stop()
    stats = app.loop.stats
    print(f"branchline stopped ({drain.outcome}): {stats.ticks} ticks, {stats.late} late, "
          f"p99 tick {stats.percentile(99) * 1e3:.2f} ms; records "
          f"{'flushed' if ok else 'NOT all flushed'}", flush=True)
    return 0 if ok else 1


def _simulate(args):
    from branchline.firmware.ops_report import write_report
    from branchline.firmware.simulate import simulate

    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(levelname)s %(name)s %(message)s")
    started = time.perf_counter()

    def bar(done, total):
        width = 40
        filled = int(width * done / total) if total else width
        rate = done / max(time.perf_counter() - started, 1e-9)
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] "
                         f"{done / 3600:5.2f}/{total / 3600:.2f} h  {rate:6.0f}x real time")
        sys.stderr.flush()

    result = simulate(args.scenario, _data_dir(args), hours=args.hours, seed=args.seed,
                      progress=None if args.quiet else bar)
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"simulated {result.virtual_s / 3600:.2f} h in {result.wall_s:.1f} s "
          f"({result.speedup:.0f}x real time): {result.calls} calls recorded, "
          f"p99 tick {result.p99_tick_s * 1e3:.2f} ms")
    report = write_report(Path(args.report or _data_dir(args) / "reports"), result.events,
                          result.queues, result.virtual_s, result.epoch,
                          title=f"Branchline simulation: {result.scenario}")
    print(report.text)
    for path in report.paths:
        print(f"report: {path}")
    return 0


def _selftest(args):
    from branchline.firmware.appliance import current_document, open_store

    document = current_document(open_store(_data_dir(args)))
    ports = document.board.ports()
    results = run_selftest(len(ports))
    print(f"self-test of {len(ports)} ports (board driver {document.board.driver}): DTMF "
          "and busy tone through the receive chain")
    print("port   kind    DTMF sent         DTMF heard        busy tone  result")
    for spec, r in zip(ports, results, strict=True):
        print(f"{spec.name:<6} {'trunk' if spec.trunk else 'station':<7} {r.sent:<17} "
              f"{r.heard or '(nothing)':<17} {'heard' if r.busy else 'MISSED':<10} "
              f"{'ok' if r.ok else 'FAIL'}")
    ok = all(r.ok for r in results)
    print("self-test passed" if ok else "self-test FAILED")
    return 0 if ok else 1


@dataclass(frozen=True, slots=True)
class PortCheck:
    sent: str
    heard: str
    busy: bool

    @property
    def ok(self) -> bool:
        return self.heard == self.sent and self.busy


def run_selftest(channels: int) -> list[PortCheck]:
    """Each port's receive chain: its own DTMF string, then busy tone, on every channel at
    once through one DtmfRx and one CallProgressRx, as the media loop runs them. Each port
    gets a different rotation of the keys, so crossed channels would show."""
    from branchline.dsp import CALL_PROGRESS_TONES, CallProgressRx, DtmfRx, ToneTx, dtmf_samples

    keys = "0123456789*#"
    sent = [keys[i % len(keys):] + keys[:i % len(keys)] for i in range(channels)]
    tones = [dtmf_samples(s, level_dbm0=-10.0, on_ms=60, off_ms=60) for s in sent]
    length = max(len(t) for t in tones)
    busy_s = 3.0  # busy is reported after about 1.45 s (docs/dsp-tones.md)
    blocks = -(-(length + int(busy_s * 8000)) // 160)
    audio = np.zeros((channels, blocks * 160), dtype=np.int16)
    for row, tone in enumerate(tones):
        audio[row, : len(tone)] = tone
    busy = np.zeros((channels, blocks * 160 - length), dtype=np.int16)
    generator = ToneTx(channels)
    for channel in range(channels):
        generator.start(channel, CALL_PROGRESS_TONES["cn"]["busy"])
    generator.render(busy)
    audio[:, length:] = busy
    dtmf, progress = DtmfRx(channels), CallProgressRx(channels)
    heard = [""] * channels
    found_busy = [False] * channels
    for b in range(blocks):
        block = np.ascontiguousarray(audio[:, b * 160:(b + 1) * 160])
        for key in dtmf.process(block):
            if key.end is None:
                heard[key.channel] += key.digit
        for tone in progress.process(block):
            found_busy[tone.channel] |= tone.tone == "busy"
    return [PortCheck(sent[i], heard[i], found_busy[i]) for i in range(channels)]


def _probe(args):
    from branchline.firmware.appliance import current_document, open_store

    document = current_document(open_store(_data_dir(args)))
    board = document.board
    print(f"board: driver {board.driver}, {board.trunks} trunks, {board.stations} stations")
    for spec in board.ports():
        line = document.line_for(spec.name) if spec.trunk else None
        agent = None if spec.trunk else document.agent_at(spec.name)
        detail = (f"line {line.number} -> flow {line.flow}" if line is not None
                  else f"agent {agent.id} {agent.name}" if agent is not None else "(unused)")
        print(f"  {spec.index:>3} {spec.name:<6} {'FXO trunk' if spec.trunk else 'FXS station'}"
              f"  {detail}")
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="branchline", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=branchline.__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("selfcheck", help="DSP self-check: generate DTMF, detect it back")
    check.add_argument("--channels", type=int, default=4)
    check.set_defaults(func=_selfcheck)

    run = commands.add_parser("run", help="start the appliance (real time)")
    run.add_argument("--board", choices=["sim"], default="sim")
    run.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    run.add_argument("--listen", help="serve /metrics and /healthz on HOST:PORT")
    run.add_argument("--scenario", help="sim board: the callers and agents (a YAML file)")
    run.add_argument("--drain-s", type=float, default=60.0,
                     help="on SIGTERM, wait at most this long for calls to end")
    run.add_argument("--log-format", choices=["kv", "json"], default="kv")
    run.add_argument("--log-level", default="INFO")
    run.set_defaults(func=_run)

    sim = commands.add_parser("simulate", help="a scenario on a virtual clock, then the KPIs")
    sim.add_argument("scenario", help="scenario file (see docs/hw.md)")
    sim.add_argument("--hours", type=float, help="virtual hours (default: the scenario's day)")
    sim.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    sim.add_argument("--seed", type=int, help="override the scenario's seed")
    sim.add_argument("--report", help="directory for the CSV and HTML report")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.add_argument("--log-level", default="WARNING")
    sim.set_defaults(func=_simulate)

    test = commands.add_parser("selftest", help="every port through the DSP chain")
    test.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    test.set_defaults(func=_selftest)

    probe = commands.add_parser("probe", help="the boards and ports found")
    probe.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    probe.set_defaults(func=_probe)

    add_config_commands(commands)
    add_call_command(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
