"""`branchline config ...`: check, publish, roll back and show the configuration document.

``add_config_commands(subparsers)`` adds the ``config`` command to the ``branchline`` parser
(firmware/cli/main.py calls it); each subcommand sets ``func(args) -> exit status``:

    branchline config check [FILE]                 validate FILE, or your draft, or the current
    branchline config publish FILE --note TEXT [--who NAME]
    branchline config rollback VERSION [--note TEXT] [--who NAME]
    branchline config show [VERSION] [--history] [--diff A B]

All take ``--data DIR`` (default: $BRANCHLINE_DATA, else ./var). The first command that needs
the store initialises it with the bundled default as version 1.

Exit status: 0 done; 1 the document has errors (check) or was refused (publish, rollback),
and the version in force stays; 2 the command could not be carried out (no such file or
version, the store refused or is damaged), with the reason on stderr.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from pathlib import Path

from branchline.config.data_dir import DATA_ENV, DEFAULT_DATA, DataDir
from branchline.config.document.loading import DocumentReport, check_document, open_config_store
from branchline.config.store.versioned import ConfigRefused, ConfigStore, ConfigStoreError

__all__ = ["add_config_commands"]



class _Failed(Exception):
    """The command could not be carried out; the message says why and what to do."""


def add_config_commands(subparsers) -> argparse.ArgumentParser:
    """Add ``config`` and its subcommands to the ``branchline`` command's subparsers."""
    config = subparsers.add_parser(
        "config", help="check, publish, roll back and show the configuration",
        description="The appliance's configuration document: see docs/configuration.md.")
    commands = config.add_subparsers(dest="config_command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a document without publishing it")
    check.add_argument("file", nargs="?", metavar="FILE",
                       help="the YAML to check (default: your draft, else the current version)")
    _common(check, who=True)
    check.set_defaults(func=_check)

    publish = commands.add_parser("publish", help="validate FILE and make it the version in "
                                  "force (refused, changing nothing, if it has errors)")
    publish.add_argument("file", metavar="FILE")
    publish.add_argument("--note", required=True, help="why (kept in the history)")
    _common(publish, who=True)
    publish.set_defaults(func=_publish)

    rollback = commands.add_parser("rollback", help="publish a copy of an earlier version")
    rollback.add_argument("version", type=int, metavar="VERSION")
    rollback.add_argument("--note", default="", help="why (kept in the history)")
    _common(rollback, who=True)
    rollback.set_defaults(func=_rollback)

    show = commands.add_parser("show", help="print a version, the history or a diff")
    show.add_argument("version", type=int, nargs="?", metavar="VERSION",
                      help="the version to print (default: the one in force)")
    show.add_argument("--history", action="store_true", help="list every published version")
    show.add_argument("--diff", type=int, nargs=2, metavar=("A", "B"),
                      help="what changed from version A to version B")
    _common(show, who=False)
    show.set_defaults(func=_show)
    return config


def _common(parser: argparse.ArgumentParser, *, who: bool) -> None:
    parser.add_argument("--data", metavar="DIR",
                        help=f"the data directory (default: ${DATA_ENV}, else {DEFAULT_DATA})")
    if who:
        parser.add_argument("--who", metavar="NAME",
                            help="who does it (default: $USER); names the draft to check")


# -- the commands --------------------------------------------------------------------------

def _command(func):
    """A _Failed or store error ends the command with its message and status 2."""
    @functools.wraps(func)
    def run(args) -> int:
        try:
            return func(args)
        except (_Failed, ConfigStoreError) as exc:
            print(exc, file=sys.stderr)
            return 2
    return run


@_command
def _check(args) -> int:
    if args.file is not None:
        text, what = _read(args.file), args.file
    else:
        draft = _store(args).draft(_who(args))
        text = draft.text
        what = (f"the draft of {draft.user} (from version {draft.base}, revision "
                f"{draft.revision})" if draft.revision else f"version {draft.base} (in force)")
    _, report = check_document(text)
    print(f"checking {what}")
    _print_report(report)
    print(_verdict(report))
    return 1 if report.errors else 0


@_command
def _publish(args) -> int:
    text = _read(args.file)
    store = _store(args)
    try:
        published = store.publish(text, who=_who(args), note=args.note,
                                  base=store.current_number())
    except ConfigRefused as exc:
        return _refused(store, exc, f"{args.file} was not published")
    return _report_published(published)


def _report_published(published) -> int:
    info = published.info
    print(f"published version {info.number} by {info.who} at {info.at}: {info.note}")
    _print_issues("warning", published.warnings)
    return 0


@_command
def _rollback(args) -> int:
    store = _store(args)
    try:
        published = store.rollback(args.version, who=_who(args), note=args.note)
    except ConfigRefused as exc:
        return _refused(store, exc, f"version {args.version} was not put back")
    return _report_published(published)


@_command
def _show(args) -> int:
    store = _store(args)
    if args.history:
        current = store.current_number()
        print(f"  {'version':>7}  {'published (UTC)':<20}  {'by':<12}  note")
        for info in store.history():
            mark = "*" if info.number == current else " "
            print(f"{mark} {info.number:>7}  {info.at:<20}  {info.who:<12}  {info.note}")
    elif args.diff:
        a, b = args.diff
        sys.stdout.write(store.diff(a, b) or f"versions {a} and {b} are the same\n")
    else:
        number = args.version if args.version is not None else store.current_number()
        sys.stdout.write(store.get(number).text)
    return 0


# -- plumbing ------------------------------------------------------------------------------

def _who(args) -> str:
    return args.who or os.environ.get("USER") or "admin"


def _store(args) -> ConfigStore:
    return open_config_store(DataDir.from_option(args.data))


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise _Failed(f"config: cannot read {path} ({exc.strerror}); give the path of a YAML "
                      "document") from None
    except UnicodeDecodeError:
        raise _Failed(f"config: {path} is not UTF-8 text; save it as UTF-8") from None


def _refused(store: ConfigStore, exc: ConfigRefused, what: str) -> int:
    report = exc.report
    _print_issues("error", report.errors)
    _print_issues("warning", report.warnings)
    print(f"{what}: {len(report.errors)} error(s); version {store.current_number()} stays "
          "in force")
    return 1


def _print_issues(label: str, issues) -> None:
    for issue in issues:
        where = issue.path or "<document>"
        if issue.line is not None:
            where += f" (line {issue.line})"
        print(f"{label:<8} {where}: {issue.message}")
        print(f"{'':<8} fix: {issue.fix}")


def _print_report(report: DocumentReport) -> None:
    _print_issues("error", report.errors)
    _print_issues("warning", report.warnings)
    for flow, routes in report.routes.items():
        print(f"routes to a person in flow {flow}:")
        for route in routes:
            print(f"  {route.describe()}")


def _verdict(report: DocumentReport) -> str:
    counts = f"{len(report.errors)} error(s), {len(report.warnings)} warning(s)"
    return f"{counts}: not publishable" if report.errors else f"{counts}: publishable"
