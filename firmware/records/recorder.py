"""Call recordings: WAV files written by one thread so the media loop never waits on a disk.

``Recorder(data_dir)``; ``start()`` the thread; then from the loop:

    rec = recorder.open(relative_path, channels=2)   # returns at once
    recorder.write(rec, frame)                        # int16[160] (mono) or [160, 2] (stereo)
    recorder.close(rec)                               # the file is complete after the thread
                                                      # has handled it (``flush()``)

Files are 8 kHz 16-bit PCM WAV (mono for messages; stereo for agent calls: caller left, agent
right), under ``data_dir/recordings/YYYY/MM/DD/``. The loop only appends frames' bytes to a
buffer, handed to the thread's queue a second (50 frames) at a time; the thread opens, writes
and closes the files in the order given, and ``close`` also rewrites the WAV header's sizes.
A recorded call queues 16-32 kB a second: a slow disk delays the files, never the loop.

``stop()`` writes what is queued and ends the thread. Errors (disk full, permissions) are
counted in ``errors`` and logged; the recording is lost, the call goes on.
"""

from __future__ import annotations

import datetime as dt
import logging
import queue
import threading
import wave
from pathlib import Path

import numpy as np

from branchline.config.data_dir import RECORDINGS, DataDir

__all__ = ["Recorder", "recording_path"]

log = logging.getLogger("branchline.recorder")
SAMPLE_RATE = 8000
FRAMES_PER_HANDOVER = 50  # one second of 20 ms frames per queue item


def recording_path(call_id: str, started: dt.datetime, suffix: str = "") -> str:
    """Where a call's recording goes, relative to the data directory."""
    return f"{RECORDINGS}/{started:%Y/%m/%d}/{call_id}{suffix}.wav"


class Recorder:
    """The writer thread and its queue (see the module docstring)."""

    def __init__(self, data_dir: DataDir | Path):
        self._data_dir = DataDir.of(data_dir).root
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="recorder", daemon=True)
        self._files: dict[int, wave.Wave_write | None] = {}  # the thread's
        self._buffers: dict[int, list[bytes]] = {}  # the loop's
        self._next = 0
        self.errors = 0
        self._done = threading.Condition()
        self._submitted = 0
        self._handled = 0

    def start(self) -> None:
        self._thread.start()

    def open(self, relative: str, *, channels: int) -> int:
        self._next += 1
        self._buffers[self._next] = []
        self._put(("open", self._next, relative, channels))
        return self._next

    def write(self, rec: int, frame: np.ndarray) -> None:
        buffer = self._buffers[rec]
        buffer.append(frame.astype("<i2", copy=False).tobytes())
        if len(buffer) >= FRAMES_PER_HANDOVER:
            self._put(("write", rec, b"".join(buffer)))
            buffer.clear()

    def close(self, rec: int) -> None:
        buffer = self._buffers.pop(rec)
        if buffer:
            self._put(("write", rec, b"".join(buffer)))
        self._put(("close", rec))

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far is on disk (or failed)."""
        with self._done:
            target = self._submitted
            return self._done.wait_for(lambda: self._handled >= target, timeout)

    def stop(self, timeout: float | None = None) -> bool:
        flushed = self.flush(timeout)
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout)
        return flushed

    def _put(self, item) -> None:
        with self._done:
            self._submitted += 1
        self._queue.put(item)

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                self._handle(item)
            except OSError as exc:
                self.errors += 1
                log.error("recording %s failed: %s", item[1], exc)
                self._files[item[1]] = None
            with self._done:
                self._handled += 1
                self._done.notify_all()

    def _handle(self, item) -> None:
        kind, rec = item[0], item[1]
        if kind == "open":
            path = self._data_dir / item[2]
            path.parent.mkdir(parents=True, exist_ok=True)
            out = wave.open(str(path), "wb")  # noqa: SIM115 - stays open across frames
            out.setnchannels(item[3])
            out.setsampwidth(2)
            out.setframerate(SAMPLE_RATE)
            self._files[rec] = out
        elif kind == "write":
            out = self._files.get(rec)
            if out is not None:
                out.writeframesraw(item[2])
        else:
            out = self._files.pop(rec, None)
            if out is not None:
                out.close()
