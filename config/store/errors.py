"""The exceptions of the versioned configuration store, and where OSErrors become ours.

    ConfigStoreError               anything the store raises
    ├── ConfigConflict             someone published, or the draft was saved again, since you
    │                              loaded it; the message says who, what and when
    ├── ConfigRefused              validation found errors; ``report`` holds them all.
    │                              Nothing was published, the current version stays
    ├── NoSuchVersion              no published version has that number
    ├── NoSuchDraft                that user has no saved draft
    ├── BadUserName                a user name that cannot name a draft file
    ├── ConfigStoreCorrupt         a file of the store is damaged (hash mismatch, bad sidecar)
    ├── TwoConfigStores            an older release's store (config/config) and this one both
    │                              hold versions; the message names both and how to keep one
    └── ConfigStoreUnavailable     the file system refused (disk full, read-only, permissions)
"""

import errno


class ConfigStoreError(Exception):
    """Base of every error the configuration store raises."""


class ConfigConflict(ConfigStoreError):
    """The edit started from a version or draft revision that is no longer the latest."""


class ConfigRefused(ConfigStoreError):
    """The document did not validate; ``report`` is the validator's report."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


class NoSuchVersion(ConfigStoreError, LookupError):
    """No published version has that number."""


class NoSuchDraft(ConfigStoreError, LookupError):
    """That user has no saved draft."""


class BadUserName(ConfigStoreError, ValueError):
    """A user name that cannot safely name a draft file."""


class ConfigStoreCorrupt(ConfigStoreError):
    """A file of the store does not match what the store wrote."""


class TwoConfigStores(ConfigStoreError):
    """The data directory holds versions both in config/ and in an older release's
    config/config; nothing is moved until a person keeps one."""


class ConfigStoreUnavailable(ConfigStoreError):
    """The file system refused an operation; the message names the remedy."""


def map_os_error(exc, path, doing):
    """Translate an OSError met while ``doing`` something to ``path`` into ours."""
    where = f"config store: {doing} {path}"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return ConfigStoreUnavailable(
            f"{where}: the disk is full ({exc.strerror}); free space in the data directory "
            "and retry. Nothing was published; the current version stays"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return ConfigStoreUnavailable(
            f"{where}: not allowed ({exc.strerror}); the data directory must be writable by "
            "the branchline user and not mounted read-only"
        )
    return ConfigStoreUnavailable(f"{where}: {exc.strerror or exc}")
