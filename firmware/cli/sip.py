"""``branchline sip password ACCOUNT [--generate]``: a SIP account's password, from the shell.

ACCOUNT is ``trunk:<name>`` or ``phone:<station>`` of the configuration in force. Without
``--generate`` the password is read from stdin (one line; never from argv, which other users
see in ``ps``) and refused when weak or another account's, with ``config/passwords.py``'s
reason in English and Chinese (exit 1). ``--generate`` makes a strong one and prints it: the
only time it is shown. Either way the change is written to the audit log (who: ``cli:<user>``),
without the password. The running appliance reads a phone's password at its next REGISTER;
a trunk's within a second (firmware/sip_board.py ``TrunkPasswords``: it registers again).
"""

from __future__ import annotations

import getpass
import sys
import time

from branchline.config.data_dir import DataDir
from branchline.config.document.loading import load_document, open_config_store
from branchline.config.sip_secrets import SipSecrets, WeakSecret
from branchline.firmware.records.database import AuditEntry, Records

__all__ = ["add_sip_commands"]


def add_sip_commands(subparsers) -> None:
    sip = subparsers.add_parser("sip", help="SIP accounts' passwords")
    commands = sip.add_subparsers(dest="sip_command", required=True)
    password = commands.add_parser(
        "password", help="set a SIP account's password (from stdin) or generate one")
    password.add_argument("account", help="trunk:<name> or phone:<station>")
    password.add_argument("--generate", action="store_true",
                          help="make a strong password and print it (shown this once)")
    password.add_argument("--data", help="data directory (default $BRANCHLINE_DATA or ./var)")
    password.set_defaults(func=_password)


def _password(args) -> int:
    data = DataDir.from_option(args.data)
    current = open_config_store(data).current()
    document = None if current is None else load_document(current.text)
    sip = None if document is None else document.sip
    accounts = set() if sip is None else \
        {f"trunk:{name}" for name in sip.trunks} | {f"phone:{s}" for s in sip.phones}
    if args.account not in accounts:
        print(f"branchline sip password: no account {args.account!r} in the configuration in "
              f"force; accounts are {', '.join(sorted(accounts)) or 'none (no sip section)'}",
              file=sys.stderr)
        return 2
    secrets = SipSecrets(data.sip_secrets)
    if args.generate:
        shown_once = secrets.generate(args.account)
        what = f"SIP password generated for {args.account}"
    else:
        typed = sys.stdin.readline().rstrip("\r\n")
        try:
            secrets.set(args.account, typed, site_words=[document.site.name])
        except WeakSecret as exc:
            print(f"branchline sip password: refused: {exc}", file=sys.stderr)
            return 1
        shown_once = None
        what = f"SIP password set for {args.account}"
    with Records(data.records_db) as records:
        records.add_audit(AuditEntry(time.time(), f"cli:{getpass.getuser()}", what, ""))
    if shown_once is not None:
        print(shown_once)
    print(f"{what}; a phone uses it at its next registration, a running appliance's trunk "
          "within a second (it registers again)", file=sys.stderr)
    return 0
