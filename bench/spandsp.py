"""The spandsp reference programs the benchmarks compare with (bench/spandsp_*.c).

``SpandspProgram("spandsp_line")`` builds ``bench/spandsp_line.c`` against Debian's
libspandsp (pkg-config) into ``build/bench/`` on ``build()``, and ``run(*args)`` returns what
it printed. The C programs drive spandsp the way a C media engine does, so the comparison
is of the DSP, not of a Python binding.
"""

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class SpandspProgram:
    def __init__(self, name: str):
        self.name = name
        self.source = ROOT / "bench" / f"{name}.c"
        self.program = ROOT / "build" / "bench" / name

    def build(self) -> None:
        if shutil.which("pkg-config") is None or subprocess.run(
            ["pkg-config", "--exists", "spandsp"], check=False
        ).returncode:
            raise RuntimeError(f"bench {self.name}: spandsp not found; "
                               "apt-get install -y libspandsp-dev")
        flags = subprocess.run(["pkg-config", "--cflags", "--libs", "spandsp"], check=True,
                               capture_output=True, text=True).stdout.split()
        self.program.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["cc", "-O2", "-o", str(self.program), str(self.source), *flags],
                       check=True)

    def run(self, *args) -> str:
        return subprocess.run([str(self.program), *map(str, args)], check=True,
                              capture_output=True, text=True).stdout
