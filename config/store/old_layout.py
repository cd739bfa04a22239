"""A store an older release left at ``config/config``: moved into ``config/`` once, or refused.

An older release opened the running appliance's store (``run``, ``simulate``, the web page)
at ``DATA/config/config`` while ``branchline config`` used ``DATA/config``.
``adopt_old_nested_store(data)`` runs before every open of the store
(``config.document.loading.open_config_store``):

* no committed version under ``config/config``: nothing to do (empty leftovers are removed);
* versions there and none in ``config/``: its ``drafts``, ``current`` and ``versions`` are
  renamed into ``config/``, ``versions`` last. Each rename is atomic and the last one is the
  commit: a crash before it leaves the old store whole (the next open moves the rest), a crash
  after it leaves the new store whole (``ConfigStore.recover`` fixes ``current``). Logged;
* versions in both: ``TwoConfigStores``, naming both paths and the commands that keep one.
  Nothing is touched.

Two processes opening at once are serialised by the old store's own lock file.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
from pathlib import Path

from branchline.config.data_dir import DataDir
from branchline.config.store.errors import (
    ConfigStoreUnavailable,
    TwoConfigStores,
    map_os_error,
)
from branchline.config.store.files import fsync_dir, locked, remove_stale_temporaries

__all__ = ["adopt_old_nested_store"]

log = logging.getLogger("branchline.config.store")

_MOVED_IN_ORDER = ("drafts", "current", "versions")  # versions last: its rename commits


def adopt_old_nested_store(data: DataDir) -> int:
    """Move an older release's nested store into place; the number of versions moved."""
    old, new = data.old_nested_config, data.config
    if not old.is_dir():
        return 0
    with locked(old / ".lock"):
        moving = _committed(old)
        if moving:
            present = _committed(new)
            if present:
                raise TwoConfigStores(_both_message(data, present, moving))
            for name in _MOVED_IN_ORDER:
                _move(old / name, new / name)
            fsync_dir(new)
    _remove_leftovers(old)
    if moving:
        log.warning("config store: moved %d version(s) (%d to %d) an older release kept in %s "
                    "to %s, where every command now opens it", len(moving), moving[0],
                    moving[-1], old, new)
    return len(moving)


def _committed(root: Path) -> list[int]:
    # A version exists exactly when its sidecar does (config/store/versioned.py).
    try:
        names = [p.name[:-5] for p in (root / "versions").glob("*.json")]
    except OSError as exc:
        raise map_os_error(exc, root / "versions", "listing") from exc
    return sorted(int(n) for n in names if n.isdigit())


def _move(source: Path, target: Path) -> None:
    if not source.exists():
        return  # moved by an earlier, interrupted open
    if target.is_dir():
        remove_stale_temporaries(target)
    try:
        os.rename(source, target)  # replaces an empty directory or a stray file atomically
    except OSError as exc:
        if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
            raise ConfigStoreUnavailable(
                f"config store: cannot move {source} to {target}: {target} is in the way and "
                f"holds files that are no published version; move {target} out of the data "
                "directory and start again") from exc
        raise map_os_error(exc, source, f"moving to {target}") from exc


def _remove_leftovers(old: Path) -> None:
    """Remove what an emptied old store still holds (its lock, empty folders, temporaries)."""
    for name in ("versions", "drafts"):
        with contextlib.suppress(OSError):
            remove_stale_temporaries(old / name)
            (old / name).rmdir()
    with contextlib.suppress(OSError):
        remove_stale_temporaries(old)
        (old / ".lock").unlink()
        old.rmdir()
        fsync_dir(old.parent)


def _both_message(data: DataDir, present: list[int], old: list[int]) -> str:
    new_path, old_path, root = data.config, data.old_nested_config, data.root
    return (
        f"two configuration stores in {root}: {new_path} ({_span(present)}, written by "
        f"`branchline config`) and {old_path} ({_span(old)}, written by an older release's "
        f"`branchline run`, `simulate` and web page). Every command now uses {new_path}; "
        "keep one and start again. To keep the appliance's history: "
        f"`mv {new_path} {root}/config.cli-old && mv {root}/config.cli-old/config {new_path}`; "
        f"to keep the command line's: `mv {old_path} {root}/config.appliance-old`"
    )


def _span(numbers: list[int]) -> str:
    return f"version {numbers[0]}" if len(numbers) == 1 else \
        f"versions {numbers[0]} to {numbers[-1]}"
