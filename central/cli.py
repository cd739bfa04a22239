"""``branchline central``: the centre's service and its administration (wired in firmware/cli).

    export BRANCHLINE_CENTRAL_DSN='host=db.hq port=5432 dbname=branchline user=central'
    branchline central migrate                       # create or upgrade the schema
    branchline central branch add sz-futian --name Futian --region south
    branchline central branch rotate sz-futian       # new password, the old one stops
    branchline central serve --listen 0.0.0.0:8443 --tls-cert C --tls-key K [--data DIR]
    branchline central template publish menus.yaml --name bank-menus --note "new hours"
    branchline central template assign bank-menus sz-futian sz-nanshan
    branchline central template unassign bank-menus sz-nanshan   # it keeps the parts

The connection string comes from the environment, never from the command line (which
other users of the machine can read); its password may instead live in ~/.pgpass. A new
branch's password is printed once, on stdout, for the branch's ``branchline fleet join``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from branchline.central.errors import CentralError
from branchline.config.data_dir import DataDir

__all__ = ["DSN_ENV", "add_central_commands"]

DSN_ENV = "BRANCHLINE_CENTRAL_DSN"
# Each command imports the centre's database modules (psycopg) itself: every `branchline`
# command, `run` on the appliance too, builds this parser.


def add_central_commands(subparsers) -> None:
    central = subparsers.add_parser(
        "central", help="the head office's service: reports and records of every branch",
        description=f"The centre (docs/fleet.md). PostgreSQL is named by ${DSN_ENV}.")
    commands = central.add_subparsers(dest="central_command", required=True, metavar="COMMAND")
    commands.add_parser("migrate", help="create or upgrade the centre's schema").set_defaults(
        func=_migrate)
    serve = commands.add_parser("serve", help="the centre's page and API")
    serve.add_argument("--listen", default="127.0.0.1:8090", metavar="HOST:PORT")
    serve.add_argument("--data", help="where the centre's web accounts live (default: "
                                      "$BRANCHLINE_DATA or ./var)")
    serve.add_argument("--tls-cert", help="PEM certificate to serve HTTPS with")
    serve.add_argument("--tls-key", help="its PEM private key")
    serve.set_defaults(func=_serve)
    branch = commands.add_parser("branch", help="register branches, issue their credentials")
    what = branch.add_subparsers(dest="branch_command", required=True, metavar="COMMAND")
    add = what.add_parser("add", help="register a branch; prints its login once")
    add.add_argument("id", help="1-40 of a-z, 0-9 and '-' (like sz-futian)")
    add.add_argument("--name", required=True)
    add.add_argument("--region", required=True)
    add.set_defaults(func=_branch_add)
    rotate = what.add_parser("rotate", help="new credentials for a branch")
    rotate.add_argument("id")
    rotate.set_defaults(func=_branch_rotate)
    template = commands.add_parser("template", help="configuration templates for branches")
    verb = template.add_subparsers(dest="template_command", required=True, metavar="COMMAND")
    publish = verb.add_parser("publish", help="store FILE as the template's next version")
    publish.add_argument("file", help="YAML of shared parts: flows, prompts, queues, calendar")
    publish.add_argument("--name", required=True)
    publish.add_argument("--note", required=True, help="what changed, shown to the branches")
    publish.set_defaults(func=_template_publish)
    assign = verb.add_parser("assign", help="give a template to branches")
    assign.add_argument("name")
    assign.add_argument("branches", nargs="+", metavar="BRANCH")
    assign.set_defaults(func=_template_assign)
    unassign = verb.add_parser("unassign", help="take a template back from branches (they "
                                                "keep its parts as their own)")
    unassign.add_argument("name")
    unassign.add_argument("branches", nargs="+", metavar="BRANCH")
    unassign.set_defaults(func=_template_unassign)


def _dsn() -> str:
    dsn = os.environ.get(DSN_ENV)
    if not dsn:
        raise CentralError(f"centre: ${DSN_ENV} is not set; export the PostgreSQL connection "
                           "string, like 'host=db.hq dbname=branchline user=central'")
    return dsn


def _fail(exc: Exception) -> int:
    print(f"branchline central: {exc}", file=sys.stderr)
    return 2


def _migrate(args) -> int:
    from branchline.central.db import connect, migrate

    try:
        with connect(_dsn()) as conn:
            version = migrate(conn)
    except CentralError as exc:
        return _fail(exc)
    print(f"centre schema at version {version}")
    return 0


def _issued(login, dsn: str) -> None:
    print(f"branch {login.branch}: role {login.role}")
    print(f"password (shown once): {login.password}")
    print(f"on the branch: branchline fleet join --centre HOST:PORT --database "
          f"{connect_db(dsn)} --role '{login.role}' --ca CA.pem  (password on stdin)")


def connect_db(dsn: str) -> str:
    from psycopg.conninfo import conninfo_to_dict

    return str(conninfo_to_dict(dsn).get("dbname", "branchline"))


def _branch_add(args) -> int:
    from branchline.central.db import add_branch, connect

    try:
        dsn = _dsn()
        with connect(dsn) as conn:
            login = add_branch(conn, args.id, name=args.name, region=args.region)
            conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, '')",
                         (os.environ.get("USER", "cli"), f"added branch {args.id} "
                          f"({args.name}, {args.region}) and issued its credentials"))
    except (CentralError, ValueError) as exc:
        return _fail(exc)
    _issued(login, dsn)
    return 0


def _branch_rotate(args) -> int:
    from branchline.central.db import connect, rotate_branch_password

    try:
        dsn = _dsn()
        with connect(dsn) as conn:
            login = rotate_branch_password(conn, args.id)
            conn.execute("INSERT INTO centre_audit (who, what, diff) VALUES (%s, %s, '')",
                         (os.environ.get("USER", "cli"),
                          f"issued new credentials to branch {args.id}"))
    except (CentralError, ValueError) as exc:
        return _fail(exc)
    _issued(login, dsn)
    return 0


def _template_publish(args) -> int:
    from branchline.central.db import connect
    from branchline.central.templates import publish_template

    try:
        text = Path(args.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"template file {args.file}: {exc}")
    try:
        with connect(_dsn()) as conn:
            version = publish_template(conn, args.name, text, note=args.note, who=_who())
    except CentralError as exc:
        return _fail(exc)
    print(f"template {args.name} version {version} published")
    return 0


def _template_assign(args) -> int:
    from branchline.central.db import connect
    from branchline.central.templates import assign_template

    try:
        with connect(_dsn()) as conn:
            added = assign_template(conn, args.name, args.branches, who=_who())
    except CentralError as exc:
        return _fail(exc)
    print(f"template {args.name} assigned to {', '.join(added) or 'no new branch'}")
    return 0


def _template_unassign(args) -> int:
    from branchline.central.db import connect
    from branchline.central.templates import unassign_template

    try:
        with connect(_dsn()) as conn:
            removed = unassign_template(conn, args.name, args.branches, who=_who())
    except CentralError as exc:
        return _fail(exc)
    kept = sorted(set(args.branches) - set(removed))
    print(f"template {args.name} unassigned from {', '.join(removed) or 'no branch'}"
          + (f"; {', '.join(kept)} did not have it" if kept else ""))
    return 0


def _who() -> str:
    return os.environ.get("USER", "cli")


def _serve(args) -> int:
    import uvicorn

    from branchline.central.db import connect, migrate
    from branchline.central.web import create_central_app

    host, _, port = args.listen.rpartition(":")
    if not host or not port.isdigit():
        return _fail(f"--listen {args.listen!r}: give HOST:PORT, like 127.0.0.1:8090")
    if bool(args.tls_cert) != bool(args.tls_key):
        return _fail("--tls-cert and --tls-key go together")
    scheme = "https" if args.tls_cert else "http"
    try:
        dsn = _dsn()
        with connect(dsn) as conn:
            migrate(conn)
        app = create_central_app(dsn, data=DataDir.from_option(args.data),
                                 secure_cookies=bool(args.tls_cert),
                                 base_url=f"{scheme}://{args.listen}",
                                 announce=lambda line: print(line, flush=True))
    except CentralError as exc:
        return _fail(exc)
    print(f"branchline central: serving {scheme}://{args.listen}/", flush=True)
    uvicorn.run(app, host=host, port=int(port), log_level="warning",
                ssl_certfile=args.tls_cert, ssl_keyfile=args.tls_key)
    return 0
