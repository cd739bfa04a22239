"""Run every benchmark and write docs/BENCHMARKS.md.

    make bench                 # all
    make bench ONLY=dtmf,g711  # some (the file then keeps only those sections)
"""

import datetime
import importlib
import os
import platform
import sys
from pathlib import Path

# The order the sections appear in docs/BENCHMARKS.md.
BENCHES = ["dtmf", "g711", "tones", "line", "resample", "ivr", "acd", "runtime", "board", "web"]


def machine():
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.machine()}, " \
           f"Python {platform.python_version()}"


def main():
    only = [b for b in os.environ.get("ONLY", "").split(",") if b]
    sections = []
    for name in BENCHES:
        if only and name not in only:
            continue
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                continue
            raise
        print(f"== {name}", file=sys.stderr, flush=True)
        sections.append(module.run().strip())
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = "make bench" + (f" ONLY={','.join(only)}" if only else "")
    text = "\n\n".join(
        [
            "# Benchmarks",
            f"Command: `{command}`  \nMachine: {machine()}  \nDate: {now}",
            "Figures are single-threaded unless a section says otherwise. Tests never time "
            "anything; these numbers come only from this command.",
            *sections,
        ]
    )
    Path("docs/BENCHMARKS.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
