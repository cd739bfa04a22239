"""Crash-safe file primitives for the configuration store: atomic replace and the store lock.

``write_atomic`` is the classic sequence that survives a power cut at any instant: write a
temporary file in the same directory, fsync it, rename it over the target (rename is atomic
within one file system, POSIX rename(2)), then fsync the directory so the rename itself is on
disk. A reader sees the old file or the new one, never a mixture. Temporary names start with
a dot and end in ``.tmp`` so the store never mistakes one for a version or a draft.
"""

import contextlib
import fcntl
import os
from pathlib import Path

from branchline.config.store.errors import map_os_error

TMP_SUFFIX = ".tmp"


def write_atomic(path: Path, data: bytes):
    """Replace ``path`` with ``data`` so that a crash leaves either the old or the new file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}{TMP_SUFFIX}")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise map_os_error(exc, path, "writing") from exc


def remove_durably(path: Path):
    """Unlink ``path`` (if present) and make the removal durable."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise map_os_error(exc, path, "removing") from exc
    fsync_dir(path.parent)


def fsync_dir(directory: Path):
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(directory: Path):
    """Delete temporary files a crashed writer left behind; call only under the store lock."""
    for stale in directory.glob(f".*{TMP_SUFFIX}"):
        with contextlib.suppress(FileNotFoundError):
            stale.unlink()


@contextlib.contextmanager
def locked(lock_path: Path):
    """Hold an exclusive flock on ``lock_path`` (blocking) for the duration of the block.

    flock locks belong to the open file description, so this excludes other processes and
    other threads of this one alike; the kernel drops the lock if the holder dies.
    """
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise map_os_error(exc, lock_path, "opening the lock file") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
