"""The versioned configuration store: published versions, drafts, atomic files.

- ``errors``: The exceptions of the versioned configuration store, and where OSErrors become ours.
- ``old_layout``: A store an older release left at ``config/config``: moved into ``config/`` once,
  or refused.
- ``files``: Crash-safe file primitives for the configuration store: atomic replace and the store
  lock.
- ``versioned``: The versioned configuration store: every published version kept, drafts per user.
"""

from branchline.config.store.errors import TwoConfigStores
from branchline.config.store.versioned import (
    BadUserName,
    ConfigConflict,
    ConfigRefused,
    ConfigStore,
    ConfigStoreCorrupt,
    ConfigStoreError,
    ConfigStoreUnavailable,
    Draft,
    NoSuchDraft,
    NoSuchVersion,
    Published,
    ValidationReport,
    Version,
    VersionInfo,
)

__all__ = [
    "BadUserName",
    "ConfigConflict",
    "ConfigRefused",
    "ConfigStore",
    "ConfigStoreCorrupt",
    "ConfigStoreError",
    "ConfigStoreUnavailable",
    "Draft",
    "NoSuchDraft",
    "NoSuchVersion",
    "Published",
    "TwoConfigStores",
    "ValidationReport",
    "Version",
    "VersionInfo",
]
