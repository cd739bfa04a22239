"""Every path inside the data directory, named here and nowhere else.

    data = DataDir.from_option(args.data)     # --data, else $BRANCHLINE_DATA, else ./var
    store = open_config_store(data)           # config.document.loading
    Records(data.records_db)

Layout (docs/config-store.md keeps the same table for people)::

    config/          the versioned configuration store (config/store/versioned.py)
    prompts/         prompt audio: cache/, recorded/, manifest (firmware/prompts/store.py)
    recordings/      call recordings, recordings/YYYY/MM/DD/<call>.wav
    records.db       CDRs, queue events, agent states, the audit log (SQLite, WAL)
    web/accounts.db  web users, sessions, lockouts (config/web/accounts.py)
    web/integrations.db  CTI integrations: tokens' hashes, scopes, webhooks (integrations.py)
    web/tls/         the self-signed certificate and key for --tls
    reports/         simulate's CSV and HTML reports
    run/<boot>.lock  each running appliance's life lock (flock); run/reconcile.guard
                     serialises reconciliations (firmware/records/runs.py)
    rosters/         the versioned shift rosters (firmware/planning/roster.py)
    plan-check/      the scratch data directory `plan check` simulates in (its own records)
    plan-check/results/<day>-v<N>.json  the last check of roster version N on a day (the page)
    fleet/centre.json  how this branch reaches the centre, its login (0600; firmware/fleet/)
    fleet/ca.pem     the centre's certificate authority, for TLS
    fleet/templates.json  the centre's templates this branch applied or refused, and the
                     fingerprints of the parts they set (firmware/fleet/templates.py)
    sip/secrets.json  SIP passwords per trunk and phone account (0600; config/sip_secrets.py)

Logs are not here: ``run`` writes them to stdout (journald under systemd).

Every command (``run``, ``config``, ``simulate``, ``call``, ``selftest``, ``probe``) and the
web page reach these paths through a ``DataDir``. ``old_nested_config`` (``config/config``)
is where an older release let the running appliance keep its store while ``branchline config``
used ``config/``; opening the store moves it into place once (config/store/old_layout.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DATA_ENV", "DEFAULT_DATA", "RECORDINGS", "DataDir"]

DATA_ENV = "BRANCHLINE_DATA"
DEFAULT_DATA = "./var"
# Recording paths are stored in the records relative to the data directory, under this folder.
RECORDINGS = "recordings"


@dataclass(frozen=True, slots=True)
class DataDir:
    """The data directory at ``root``; each attribute is one path in it."""

    root: Path

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(self.root))

    @classmethod
    def from_option(cls, value: str | os.PathLike[str] | None) -> DataDir:
        """The directory a command's ``--data`` names, else ``$BRANCHLINE_DATA``, else ./var."""
        return cls(Path(value or os.environ.get(DATA_ENV) or DEFAULT_DATA))

    @classmethod
    def of(cls, where: DataDir | str | os.PathLike[str]) -> DataDir:
        """``where`` as a DataDir: itself, or the data directory at that path."""
        return where if isinstance(where, DataDir) else cls(Path(where))

    @property
    def config(self) -> Path:
        return self.root / "config"

    @property
    def old_nested_config(self) -> Path:
        return self.config / "config"

    @property
    def prompts(self) -> Path:
        return self.root / "prompts"

    @property
    def recordings(self) -> Path:
        return self.root / RECORDINGS

    @property
    def records_db(self) -> Path:
        return self.root / "records.db"

    @property
    def web(self) -> Path:
        return self.root / "web"

    @property
    def accounts_db(self) -> Path:
        return self.web / "accounts.db"

    @property
    def integrations_db(self) -> Path:
        return self.web / "integrations.db"

    @property
    def tls(self) -> Path:
        return self.web / "tls"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def runs(self) -> Path:
        return self.root / "run"

    def run_lock(self, boot: str) -> Path:
        return self.runs / f"{boot}.lock"

    @property
    def reconcile_lock(self) -> Path:
        return self.runs / "reconcile.guard"

    @property
    def rosters(self) -> Path:
        return self.root / "rosters"

    @property
    def plan_check(self) -> Path:
        return self.root / "plan-check"

    def plan_check_result(self, day: str, roster: int) -> Path:
        return self.plan_check / "results" / f"{day}-v{roster}.json"

    @property
    def fleet(self) -> Path:
        return self.root / "fleet"

    @property
    def fleet_settings(self) -> Path:
        return self.fleet / "centre.json"

    @property
    def fleet_ca(self) -> Path:
        return self.fleet / "ca.pem"

    @property
    def fleet_templates(self) -> Path:
        return self.fleet / "templates.json"

    @property
    def sip_secrets(self) -> Path:
        return self.root / "sip" / "secrets.json"
