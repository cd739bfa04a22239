"""Crash and race tests of the configuration store, with real child processes.

The child is this file run as a script. To crash at an exact point it makes its own
``os.replace`` kill the process (SIGKILL) just before the Nth rename, which is where a power
cut hurts most: after the temporary file was written and synced, before it took the real name.
Other children publish in a loop and print each version number once publish returned, and are
killed after some acknowledgements; two children publish at once to exercise the lock.
"""

import os
import signal
import subprocess
import sys
from dataclasses import dataclass

import pytest

from branchline.config.store.versioned import ConfigConflict, ConfigStore

DEFAULT = "queues: [cards]\n"


@dataclass(frozen=True, slots=True)
class Report:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def accept(text):
    return text, Report()


def text_for(tag, n):
    return f"# {tag} {n}\nqueues: [cards]\ngreeting: {'x' * (n * 37 % 5000)}\n"


def open_store(data_dir):
    return ConfigStore(data_dir, accept)


def spawn(*args):
    return subprocess.Popen([sys.executable, __file__, *map(str, args)],
                            stdout=subprocess.PIPE, text=True)


def visible_files(data_dir):
    return sorted(p.name for p in (data_dir / "config" / "versions").iterdir()
                  if not p.name.startswith("."))


# -- children ----------------------------------------------------------------------------------

def child_die_before_rename(data_dir, nth):
    real_replace, calls = os.replace, [0]

    def replace_then_maybe_die(src, dst):
        calls[0] += 1
        if calls[0] == nth:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)

    os.replace = replace_then_maybe_die
    open_store(data_dir).publish(text_for("crash", 2), who="alice", note="dies", base=1)


def child_publish_forever(data_dir):
    store = open_store(data_dir)
    n = store.current_number()
    while True:
        store.publish(text_for("loop", n + 1), who="loop", note="loop", base=n)
        n += 1
        print(n, flush=True)


def child_race(data_dir, tag, count):
    store = open_store(data_dir)
    for j in range(count):
        while True:
            try:
                number = store.publish(text_for(tag, j), who=tag, note=f"{tag} {j}",
                                       base=store.current_number()).info.number
                break
            except ConfigConflict:
                continue  # the other publisher got in first: start again from its version
        print(f"{tag} {j} {number}", flush=True)


# -- tests -------------------------------------------------------------------------------------

@pytest.fixture
def data_dir(tmp_path):
    open_store(tmp_path).initialise(DEFAULT)
    return tmp_path


@pytest.mark.parametrize(("nth", "visible", "history"), [
    (1, ["000001.json", "000001.yaml"], [1]),                   # before the YAML's rename
    (2, ["000001.json", "000001.yaml", "000002.yaml"], [1]),    # before the sidecar's rename
    (3, ["000001.json", "000001.yaml", "000002.json", "000002.yaml"], [1, 2]),  # before current
])
def test_a_publish_killed_before_a_rename(data_dir, nth, visible, history):
    child = spawn("die", data_dir, nth)
    child.communicate()
    assert child.returncode == -signal.SIGKILL

    assert visible_files(data_dir) == visible
    assert (data_dir / "config" / "current").read_text() == "000001\n"  # never torn
    store = open_store(data_dir)
    assert [v.number for v in store.history()] == history
    assert store.current().text == DEFAULT

    store.recover()
    # A committed sidecar is rolled forward; anything short of it stays invisible.
    assert store.current_number() == history[-1]
    assert not [p for p in (data_dir / "config").rglob(".*.tmp")]
    for number in history:
        store.get(number)  # sha256 verified
    after = store.publish(text_for("after", 0), who="bob", note="after the crash",
                          base=history[-1])
    assert after.info.number == history[-1] + 1
    assert store.current().text == text_for("after", 0)


@pytest.mark.parametrize("acknowledged", [1, 7, 30])
def test_a_publisher_killed_mid_stream_loses_no_acknowledged_version(data_dir, acknowledged):
    child = spawn("loop", data_dir)
    acks = []
    try:
        while len(acks) < acknowledged:
            line = child.stdout.readline()
            assert line, f"the publisher died after {len(acks)} acknowledgements"
            acks.append(int(line))
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
        child.stdout.close()

    store = open_store(data_dir)
    store.recover()
    numbers = [v.number for v in store.history()]
    assert numbers == list(range(1, len(numbers) + 1))
    assert set(acks) <= set(numbers)
    assert store.current_number() == numbers[-1]
    for number in numbers[1:]:
        version = store.get(number)
        assert version.text == text_for("loop", number)
        assert version.info.parent == number - 1


def test_two_processes_publishing_at_once_never_share_a_version(data_dir):
    per_child = 12
    children = [spawn("race", data_dir, tag, per_child) for tag in ("east", "west")]
    outputs = [child.communicate()[0] for child in children]
    assert [child.returncode for child in children] == [0, 0]

    acks = [line.split() for out in outputs for line in out.splitlines()]
    assert len(acks) == 2 * per_child
    store = open_store(data_dir)
    numbers = [v.number for v in store.history()]
    assert numbers == list(range(1, 2 * per_child + 2))
    assert sorted(int(number) for _, _, number in acks) == numbers[1:]
    for tag, j, number in acks:
        assert store.get(int(number)).text == text_for(tag, int(j))
    assert [v.parent for v in store.history()] == [None, *numbers[:-1]]


if __name__ == "__main__":
    mode, target = sys.argv[1], sys.argv[2]
    if mode == "die":
        child_die_before_rename(target, int(sys.argv[3]))
    elif mode == "loop":
        child_publish_forever(target)
    else:
        child_race(target, sys.argv[3], int(sys.argv[4]))
