"""The `branchline` command: run, simulate, selftest, probe, selfcheck, config, call.

* ``run [--board URL] [--data DIR] [--listen HOST:PORT [--tls]] [--scenario FILE] [--drain-s S]``:
  the appliance in real time, on the board a URL names (hw/boards.py: ``sim``,
  ``boardemu://...``, ``serial:///dev/ttyACM0``, any pyserial URL; default the configuration's
  ``board.driver``, ``sim`` out of the box).
  The loop runs on 20 ms boundaries of the monotonic clock
  (sleeping until the next one; a late tick is counted and the loop catches up block by
  block without drifting). SIGTERM / Ctrl-C drains: no new call is answered, calls up finish
  within the bound, records are flushed, exit 0. ``--listen HOST:PORT`` serves the web page and
  API (firmware/web/serve.py; ``--tls`` for HTTPS with a self-signed certificate), /metrics and
  /healthz.
* ``simulate SCENARIO [--hours H] [--data DIR] [--seed N] [--report DIR] [--media M]``: the
  same appliance on a virtual clock as fast as the machine allows; a progress bar on stderr,
  then the KPI report from the records, also written as CSV and HTML under the report
  directory. ``--media events``: keys, prompts and hang-ups as events, no DSP.
* ``selftest [--board URL]``: without a board, every port of the configured board through the
  DSP chain (DTMF and a busy tone); with one, every port of that board looped back at the
  codec, DTMF and a 300-3400 Hz tone sweep with levels in dBm0 (hw/selftest.py). A table per
  port; exit 1 on any failure. ``probe [URL ...]``: the configured board's ports, then every
  board found on USB and every URL given: firmware, serial number, ports and line state
  (hw/probe.py); ``--json`` prints the same as JSON.
* ``selfcheck``: the DSP kernels on N channels (firmware/cli/selfcheck.py).
* ``config ...``: firmware/cli/config.py. ``call ...``: firmware/cli/call.py.
  ``plan ...``: firmware/cli/plan.py.

``--data`` defaults to ``$BRANCHLINE_DATA`` or ``./var``.
"""

import argparse
import gc
import importlib
import json
import logging
import shlex
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import branchline
from branchline.central.cli import add_central_commands
from branchline.config.data_dir import DataDir
from branchline.config.document.loading import open_config_store
from branchline.config.store.errors import ConfigStoreError
from branchline.firmware.cli.call import add_call_command
from branchline.firmware.cli.config import add_config_commands
from branchline.firmware.cli.fleet import add_fleet_commands
from branchline.firmware.cli.plan import add_plan_commands
from branchline.firmware.cli.sip import add_sip_commands


def _data_dir(args) -> DataDir:
    return DataDir.from_option(args.data)


def _selfcheck(args):
    from branchline.firmware.cli.selfcheck import run_selfcheck

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
    from branchline.firmware.board_open import close_board, open_with_board
    from branchline.firmware.clock import MonotonicClock
    from branchline.firmware.ops.drain import Drain
    from branchline.firmware.ops.logs import configure_logging
    from branchline.firmware.ops.metrics import ApplianceMetrics, parse_listen
    from branchline.firmware.ops.systemd import SystemdNotifier, WatchdogFeeder
    from branchline.firmware.sip_board import console_lines
    from branchline.firmware.web.address import bind_web, check_proxies
    from branchline.hw.ports import BLOCK_SECONDS, BoardError

    configure_logging(args.log_format, args.log_level, stream=sys.stdout)
    notifier = SystemdNotifier.from_environ()
    feeder = WatchdogFeeder.from_environ(notifier)
    web_sock = None
    if args.listen:
        try:
            check_proxies(args.trusted_proxy)
            web_sock = bind_web(parse_listen(args.listen))
        except (OSError, ValueError) as exc:
            print(f"branchline run: {exc}", file=sys.stderr)
            return 2
    try:
        app, bank = open_with_board(_data_dir(args), MonotonicClock, args.board,
                                    scenario=args.scenario, progress=_prompt_progress)
    except (BoardError, ValueError) as exc:
        print(f"branchline run: board {args.board or '(from the configuration)'}: {exc}",
              file=sys.stderr)
        if web_sock is not None:
            web_sock.close()
        return 2
    metrics = ApplianceMetrics()
    metrics.attach(app)
    # Calls first: the lines are answered while the web service's modules are imported on a
    # thread; the page is served from the first tick after that import ends.
    web_import = None
    if web_sock is not None:
        web_import = threading.Thread(target=importlib.import_module, name="web-import",
                                      args=("branchline.firmware.web.serve",), daemon=True)
    app.start()
    # Everything built so far lives as long as the process: keep it out of the collector's
    # full passes, which otherwise walk it all while holding the GIL (a 20 ms tick lost
    # whenever a web request's garbage set one off). Frozen without a collection first:
    # that would cost the start a tenth of a second for the little garbage it would find.
    gc.freeze()
    if web_import is not None:
        web_import.start()
    trunks = sum(p.is_trunk for p in app.board.ports)
    status = f"{trunks} trunks, {len(app.stations)} stations, config v{app.config.version}"
    web = None
    failed = False
    setup_links: list[str] = []

    def announce() -> None:
        print(f"branchline running: {status}; Ctrl-C drains and stops", flush=True)
        for line in _where_to_look(args, web, setup_links) + console_lines(app.board):
            print(f"  {line}", flush=True)
        notifier.ready(status)

    with Drain(bound_s=args.drain_s, on_drain=notifier.stopping).installed() as drain:
        # Ready only once SIGTERM drains and the page is up: a stop asked for from here on is
        # never lost.
        if web_import is None:
            announce()
        due = app.clock.now()
        while True:
            now = app.clock.now()
            if now < due:
                time.sleep(due - now)
                now = app.clock.now()
            app.tick(now, due=due)
            feeder.tick_done(now)
            metrics.sample(app, now)
            if web is not None:
                web.link.pump(now)
            elif web_import is not None and not web_import.is_alive():
                web_import = None
                try:
                    web = _serve(args, app, bank, web_sock, metrics, setup_links.append)
                except (ImportError, OSError, ValueError) as exc:
                    print(f"branchline run: web service: {exc}", file=sys.stderr)
                    failed = True
                    break
                gc.freeze()  # the page's modules and routes, as above
                announce()
            if drain.should_stop(app, now):
                break
            due += BLOCK_SECONDS  # the next boundary: a late loop catches up, never drifts
    ok = app.close(app.clock.now())
    close_board(app.board)
    if web is not None:
        web.close()
    elif web_sock is not None:
        web_sock.close()
    if bank is not None:
        bank.stop()
    stats = app.loop.stats
    print(f"branchline stopped ({'web service failed' if failed else drain.outcome}): "
          f"{stats.ticks} ticks, {stats.late} late, "
          f"p99 tick {stats.percentile(99) * 1e3:.2f} ms; records "
          f"{'flushed' if ok else 'NOT all flushed'}", flush=True)
    return 2 if failed else 0 if ok else 1


def _serve(args, app, bank, sock, metrics, announce):
    from branchline.firmware.web.serve import serve_web

    return serve_web(app, app.store, sock, metrics, tls=args.tls,
                     host_url=bank.base_url if bank is not None else None,
                     announce=announce, trusted_proxies=args.trusted_proxy)


def _where_to_look(args, web, setup_links: list[str]) -> list[str]:
    """What a newcomer watching the console needs next: the page, the first-run link, a call."""
    if web is None:
        lines = ["web page: not served; add --listen 127.0.0.1:8080 to serve it"]
    else:
        lines = [f"web page: {web.url}/"]
        lines += [f"first run: {link.removeprefix('branchline: first run: ')}"
                  for link in setup_links]
    data = f" --data {shlex.quote(args.data)}" if args.data else ""
    lines.append(f"call it: branchline call{data} (in another terminal; your keys are the "
                 "caller's, q hangs up)")
    return lines


def _simulate(args):
    from branchline.firmware.cli.simulate import simulate, warning_lines
    from branchline.firmware.ops.report import write_report
    from branchline.hw import ScenarioError, load_scenario

    try:
        scenario = load_scenario(args.scenario)
    except (OSError, ScenarioError) as exc:
        print(f"branchline simulate: {exc}", file=sys.stderr)
        return 2
    for line in warning_lines(scenario):
        print(line, file=sys.stderr)

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

    try:
        result = simulate(scenario, _data_dir(args), hours=args.hours, seed=args.seed,
                          progress=None if args.quiet else bar, media=args.media)
    except ScenarioError as exc:  # what the event mode cannot play
        print(f"branchline simulate: {exc}", file=sys.stderr)
        return 2
    if not args.quiet:
        sys.stderr.write("\n")
    print(f"simulated {result.virtual_s / 3600:.2f} h in {result.wall_s:.1f} s "
          f"({result.speedup:.0f}x real time): {result.calls} calls recorded, "
          f"p99 tick {result.p99_tick_s * 1e3:.2f} ms")
    report = write_report(Path(args.report or _data_dir(args).reports), result.events,
                          result.queues, result.virtual_s, result.epoch,
                          title=f"Branchline simulation: {result.scenario}")
    print(report.text)
    for path in report.paths:
        print(f"report: {path}")
    return 0


def _selftest(args):
    if args.board:
        return _loopback_selftest(args)
    from branchline.firmware.appliance import current_document

    document = current_document(open_config_store(_data_dir(args)))
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


def _loopback_selftest(args):
    from branchline.firmware.appliance import scenario_file
    from branchline.firmware.board_open import close_board
    from branchline.hw.boards import open_board
    from branchline.hw.selftest import SWEEP_DBM0, run_loopback_selftest

    board = open_board(args.board, find_scenario=scenario_file)
    try:
        pace = None if args.board.startswith("boardemu:") else _wall_pace()
        report = run_loopback_selftest(board, pace=pace)
    finally:
        close_board(board)
    if args.json:
        print(json.dumps(report.as_dict(), indent=2))
        return 0 if report.ok else 1
    print(f"loopback self-test of {args.board}: DTMF and a tone sweep at "
          f"{SWEEP_DBM0:g} dBm0 through each port's codec")
    if not report.connected:
        print("the board did not answer the handshake; check the cable and the URL")
        print("self-test FAILED")
        return 1
    print("port   kind  DTMF sent      DTMF heard     levels (dBm0) at "
          + " ".join(f"{t.frequency_hz:g}" for t in report.ports[0].levels) + " Hz  result")
    for r in report.ports:
        levels = " ".join(f"{t.level_dbm0:6.1f}" for t in r.levels)
        print(f"{r.name:<6} {r.kind:<5} {r.dtmf_sent:<14} {r.dtmf_heard or '(nothing)':<14} "
              f"{levels}  {'ok' if r.ok else 'FAIL'}")
    print("self-test passed" if report.ok else "self-test FAILED")
    return 0 if report.ok else 1


def _wall_pace():
    started = time.monotonic()

    def pace(t):
        wait = started + t - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    return pace


def _probe(args):
    from branchline.firmware.appliance import current_document
    from branchline.hw.probe import probe

    found = probe(args.urls, usb=not args.no_usb, timeout_s=args.timeout)
    if args.json:
        print(json.dumps(found, indent=2))
        return 0 if all(b["connected"] for b in found) else 1
    document = current_document(open_config_store(_data_dir(args)))
    board = document.board
    print(f"configured board: driver {board.driver}, {board.trunks} trunks, "
          f"{board.stations} stations")
    for spec in board.ports():
        line = document.line_for(spec.name) if spec.trunk else None
        agent = None if spec.trunk else document.agent_at(spec.name)
        detail = (f"line {line.number} -> flow {line.flow}" if line is not None
                  else f"agent {agent.id} {agent.name}" if agent is not None else "(unused)")
        print(f"  {spec.index:>3} {spec.name:<6} {'FXO trunk' if spec.trunk else 'FXS station'}"
              f"  {detail}")
    if not found:
        print("boards found: none on USB" + ("" if not args.no_usb else " (not searched)")
              + "; give a URL to probe one, e.g. branchline probe serial:///dev/ttyACM0")
    for b in found:
        where = f" (USB {b['usb']['vid']}:{b['usb']['pid']} {b['usb']['what']})" \
            if b["usb"] else ""
        if not b["connected"]:
            print(f"board {b['url']}{where}: NOT CONNECTED: {b['error']}")
            continue
        print(f"board {b['url']}{where}: firmware {b['firmware']}, serial number "
              f"{b['serial_number']}, {len(b['ports'])} ports")
        for port in b["ports"]:
            print(f"  {port['index']:>3} {port['name']:<6} {port['kind']:<4} "
                  f"{'in service' if port['in_service'] else 'OUT OF SERVICE'}  "
                  f"{_line_text(port.get('line'))}")
    return 0 if all(b["connected"] for b in found) else 1


def _line_text(line):
    if not line:
        return ""
    if not line.get("present", True):
        return "line: none (cut or not connected)"
    return f"line: {line['voltage_v']:.1f} V, {line['loop_current_ma']:.1f} mA"


def build_parser():
    parser = argparse.ArgumentParser(prog="branchline", description=__doc__.split("\n")[0])
    parser.add_argument("--version", action="version", version=branchline.__version__)
    commands = parser.add_subparsers(dest="command", required=True)

    check = commands.add_parser("selfcheck", help="DSP self-check: generate DTMF, detect it back")
    check.add_argument("--channels", type=int, default=4)
    check.set_defaults(func=_selfcheck)

    run = commands.add_parser("run", help="start the appliance (real time)")
    run.add_argument("--board",
                     help="sim, boardemu://?trunks=8&stations=4&..., "
                          "serial:///dev/ttyACM0?baud=921600 or a pyserial URL (default: the "
                          "configuration's board.driver, sim out of the box)")
    run.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    run.add_argument("--listen", metavar="HOST:PORT",
                     help="serve the web page and API, /metrics and /healthz on HOST:PORT "
                          "(the first run prints a one-time setup link)")
    run.add_argument("--tls", action="store_true",
                     help="with --listen: HTTPS with a self-signed certificate made on first "
                          "use")
    run.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                     help="with --listen: a reverse proxy (address or network) whose "
                          "X-Forwarded-For names the client; repeat for more (default: none, "
                          "every client is the address it connects from)")
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
    sim.add_argument("--media", choices=["audio", "events"], default="audio",
                     help="audio: every block through the DSP; events: keys, prompts and "
                          "hang-ups as events, much faster (docs/runtime.md)")
    sim.add_argument("--quiet", action="store_true", help="no progress bar")
    sim.add_argument("--log-level", default="WARNING")
    sim.set_defaults(func=_simulate)

    test = commands.add_parser("selftest", help="every port through the DSP chain, or a "
                               "board's ports looped back")
    test.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    test.add_argument("--board", help="loop back every port of this board URL: DTMF and a "
                      "tone sweep (e.g. boardemu://, serial:///dev/ttyACM0)")
    test.add_argument("--json", action="store_true", help="print the report as JSON")
    test.set_defaults(func=_selftest)

    probe = commands.add_parser("probe", help="the configured board, and the boards found")
    probe.add_argument("urls", nargs="*", metavar="URL", help="board URLs to probe as well")
    probe.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    probe.add_argument("--no-usb", action="store_true", help="do not search USB devices")
    probe.add_argument("--timeout", type=float, default=3.0,
                       help="seconds to wait for each board's handshake")
    probe.add_argument("--json", action="store_true", help="print what was found as JSON")
    probe.set_defaults(func=_probe)

    add_config_commands(commands)
    add_call_command(commands)
    add_plan_commands(commands)
    add_fleet_commands(commands)
    add_central_commands(commands)
    add_sip_commands(commands)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigStoreError as exc:  # e.g. two stores in the data directory: say which
        print(f"branchline {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
