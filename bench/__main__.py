"""Run every benchmark and write docs/BENCHMARKS.md.

    make bench                 # all
    make bench ONLY=dtmf,g711  # some: only those sections are replaced, each saying when
                               # and how it was re-run; the others stay as they were
"""

import datetime
import importlib
import os
import platform
import re
import sys
from pathlib import Path

BENCHMARKS = Path("docs/BENCHMARKS.md")
# Each section is preceded by this marker, so a partial run can replace just its own.
MARKER = "<!-- bench:{} -->"
# The order the sections appear in docs/BENCHMARKS.md.
BENCHES = ["dtmf", "g711", "tones", "mix", "line", "resample", "ivr", "acd", "runtime", "board",
           "web", "rtp", "sip", "device", "soak", "funnel", "central"]


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


def kept_sections():
    """The sections of the current docs/BENCHMARKS.md by bench name ({} if it has none)."""
    if not BENCHMARKS.exists():
        return {}
    parts = re.split(r"^<!-- bench:(\w+) -->\n", BENCHMARKS.read_text(), flags=re.M)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def main():
    only = [b for b in os.environ.get("ONLY", "").split(",") if b]
    sections = kept_sections() if only else {}
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
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
        body = module.run().strip()
        if only:
            heading, _, rest = body.partition("\n")
            body = (f"{heading}\n\nRe-run alone: `make bench ONLY={name}`, {now}, "
                    f"{machine()}.\n{rest}")
        sections[name] = body
    if only and BENCHMARKS.exists():
        header = BENCHMARKS.read_text().split("<!-- bench:", 1)[0].strip()
    else:
        header = "\n\n".join([
            "# Benchmarks",
            f"Command: `make bench`  \nMachine: {machine()}  \nDate: {now}",
            "Figures are single-threaded unless a section says otherwise. Tests never time "
            "anything; these numbers come only from this command. A section re-run alone "
            "says so under its heading.",
        ])
    text = "\n\n".join([header, *(f"{MARKER.format(name)}\n{sections[name]}"
                                   for name in BENCHES if name in sections)])
    BENCHMARKS.write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
