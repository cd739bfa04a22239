"""The runtime's small parts on their own: clocks, the timer heap, tick statistics, the WAV
recorder, and ACD log rows to the database and back."""

import datetime as dt
import wave
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from branchline.acd import QueueEvent, QueueEventKind
from branchline.firmware.clock import TimerHeap, VirtualClock
from branchline.firmware.media_loop import TickStats
from branchline.firmware.records.cdr import acd_row, queue_event
from branchline.firmware.records.recorder import Recorder, recording_path

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_virtual_clock_adds_up_exactly_and_maps_to_the_wall():
    clock = VirtualClock(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    for _ in range(180_000):  # an hour of 20 ms steps
        clock.advance(0.02)
    assert clock.now() == 3600.0
    assert clock.wall(clock.now()) == dt.datetime(2026, 11, 24, 10, 0, tzinfo=SHANGHAI)


def test_virtual_clock_refuses_a_naive_start_and_going_back():
    with pytest.raises(ValueError, match="no time zone"):
        VirtualClock(dt.datetime(2026, 11, 24, 9, 0))
    clock = VirtualClock(dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI))
    with pytest.raises(ValueError, match="only moves forward"):
        clock.advance(-0.02)


def test_timer_heap_fires_due_timers_in_order_replacing_and_cancelling():
    heap = TimerHeap()
    heap.schedule(5.0, "a", "digit")
    heap.schedule(3.0, "b", "digit")
    heap.schedule(4.0, "a", "host")
    heap.schedule(6.0, "a", "digit")  # replaces a/digit at 5.0
    heap.cancel("a", "host")
    assert heap.next_deadline() == 3.0
    assert heap.due(2.9) == []
    assert heap.due(5.5) == [("b", "digit")]
    assert heap.due(6.0) == [("a", "digit")]
    assert len(heap) == 0 and heap.next_deadline() is None


def test_timer_heap_ties_fire_in_scheduling_order():
    heap = TimerHeap()
    for owner in "xyz":
        heap.schedule(1.0, owner, "t")
    assert heap.due(1.0) == [("x", "t"), ("y", "t"), ("z", "t")]


def test_tick_stats_percentiles_and_late_ticks():
    stats = TickStats()
    for _ in range(98):
        stats.add(0.0002, late=False)
    stats.add(0.003, late=True)
    stats.add(0.030, late=True)  # beyond the histogram: its own overflow bin
    assert (stats.ticks, stats.late) == (100, 2)
    assert stats.percentile(50) == pytest.approx(0.00025)
    assert stats.percentile(99) == pytest.approx(0.00305)
    assert stats.percentile(100) == pytest.approx(0.030)
    assert TickStats().percentile(99) == 0.0


def test_recorder_writes_stereo_and_mono_wav(tmp_path):
    recorder = Recorder(tmp_path)
    recorder.start()
    started = dt.datetime(2026, 11, 24, 9, 30, tzinfo=SHANGHAI)
    path = recording_path("c1", started)
    assert path == "recordings/2026/11/24/c1.wav"
    rec = recorder.open(path, channels=2)
    left = np.arange(160, dtype=np.int16)
    for _ in range(120):  # more than one 50-frame handover to the thread
        recorder.write(rec, np.stack((left, -left), axis=1))
    recorder.close(rec)
    mono = recorder.open(recording_path("c1", started, "-message"), channels=1)
    recorder.write(mono, left)
    recorder.close(mono)
    assert recorder.stop(timeout=10)
    with wave.open(str(tmp_path / path), "rb") as wav:
        assert (wav.getnchannels(), wav.getframerate(), wav.getnframes()) == (2, 8000, 120 * 160)
        frames = np.frombuffer(wav.readframes(480), dtype="<i2").reshape(-1, 2)
    assert (frames[:160, 0] == left).all() and (frames[:160, 1] == -left).all()
    with wave.open(str(tmp_path / "recordings/2026/11/24/c1-message.wav"), "rb") as wav:
        assert (wav.getnchannels(), wav.getnframes()) == (1, 160)
    assert recorder.errors == 0


def test_acd_log_rows_round_trip_and_carry_no_float_noise():
    event = QueueEvent(time=60.02, kind=QueueEventKind.CONNECT, call_id="c1", queue="general",
                       agent_id="1001", priority_class="normal", orig_position=1,
                       wait_s=60.02 - 38.0, ring_s=4.34)
    row = acd_row(event, epoch0=1_795_482_000.0)
    assert (row.name, row.call_id, row.queue, row.agent) == ("CONNECT", "c1", "general", "1001")
    assert row.data == {"priority_class": "normal", "orig_position": 1, "wait_s": 22.02,
                        "ring_s": 4.34}
    back = queue_event(row, epoch0=1_795_482_000.0)
    assert back.time == pytest.approx(60.02, abs=1e-6)
    assert back.wait_s == 22.02 and back.kind is QueueEventKind.CONNECT
