"""``branchline fleet``: join this branch to a centre, and see how far its records are.

    echo "$PASSWORD" | branchline fleet join --centre db.hq:5432 --database branchline \\
        --role 'branchline:sz-futian' --ca centre-ca.pem
    branchline fleet status

``join`` reads the password from stdin (never argv), connects once with TLS to check the
login works and the centre knows this branch, and only then writes DATA/fleet/ (0600). The
running appliance starts shipping at its next start.
"""

from __future__ import annotations

import sys
from pathlib import Path

from branchline.central.errors import CentralError
from branchline.config.data_dir import DataDir
from branchline.firmware.fleet.outbox import TABLES, Outbox
from branchline.firmware.fleet.settings import FleetSettings, FleetSettingsError

__all__ = ["add_fleet_commands"]


def add_fleet_commands(subparsers) -> None:
    fleet = subparsers.add_parser("fleet", help="ship this branch's records to the centre")
    commands = fleet.add_subparsers(dest="fleet_command", required=True, metavar="COMMAND")
    join = commands.add_parser("join", help="give this branch its centre and login")
    join.add_argument("--centre", required=True, metavar="HOST:PORT")
    join.add_argument("--database", required=True)
    join.add_argument("--role", required=True, help="as 'branchline central branch add' said")
    join.add_argument("--ca", help="the centre's CA certificate (PEM); required unless the "
                                   "centre is on this machine")
    join.add_argument("--data")
    join.set_defaults(func=_join)
    status = commands.add_parser("status", help="the centre's marks and what is not there yet")
    status.add_argument("--data")
    status.set_defaults(func=_status)


def _fail(text) -> int:
    print(f"branchline fleet: {text}", file=sys.stderr)
    return 2


def _join(args) -> int:
    from branchline.central.db import connect  # psycopg: not for `run`
    from branchline.central.ingest import read_marks

    data = DataDir.from_option(args.data)
    host, _, port = args.centre.rpartition(":")
    if not host or not port.isdigit():
        return _fail(f"--centre {args.centre!r}: give HOST:PORT, like db.hq:5432")
    password = sys.stdin.readline().strip()
    ca_pem = Path(args.ca).read_bytes() if args.ca else None
    try:
        staged = FleetSettings(host, int(port), args.database, args.role, password,
                               ca_file=Path(args.ca).resolve() if args.ca else None)
        with connect(staged.conninfo(), doing="checking the login") as conn:
            read_marks(conn)
    except (FleetSettingsError, CentralError, OSError) as exc:
        return _fail(f"{exc}; nothing was saved")
    staged.save(data, ca_pem)
    print(f"joined the centre {host}:{port} as {args.role}; the appliance ships from its "
          "next start")
    return 0


def _status(args) -> int:
    from branchline.central.db import connect  # psycopg: not for `run`
    from branchline.central.ingest import read_marks

    data = DataDir.from_option(args.data)
    try:
        settings = FleetSettings.load(data)
    except FleetSettingsError as exc:
        return _fail(exc)
    if settings is None:
        return _fail(f"this branch has no centre ({data.fleet_settings} is missing); "
                     "run 'branchline fleet join'")
    try:
        with connect(settings.conninfo()) as conn:
            marks = read_marks(conn)
    except CentralError as exc:
        return _fail(exc)
    outbox = Outbox(data.records_db)
    try:
        for table in TABLES:
            if table not in marks:
                print(f"{table:13} not kept by this centre (its release is older)")
                continue
            print(f"{table:13} centre at {marks[table]:>9}  not yet there "
                  f"{outbox.unshipped(table, marks[table]):>7}")
    finally:
        outbox.close()
    return 0
