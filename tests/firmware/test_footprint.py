"""What the running appliance carries in memory: libraries it needs only now and then are
imported when used (docs/operations.md, the device bench's figures)."""

import subprocess
import sys

# pypinyin's dictionaries are ~55 MiB (synthesis only); zxcvbn's lists ~13 MiB (setting a
# password only); psycopg ~9 MiB (a branch with a centre, the centre's commands); graphviz
# (a page drawing a menu diagram).
ON_DEMAND = ("pypinyin", "zxcvbn", "psycopg", "graphviz")


def test_the_appliance_and_its_page_import_no_on_demand_library():
    code = ("import sys\n"
            "import branchline.firmware.cli.main, branchline.firmware.appliance\n"
            "import branchline.firmware.web.serve, branchline.config.web\n"
            f"print(sorted(m for m in {ON_DEMAND!r} if m in sys.modules))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120).stdout
    assert out.strip() == "[]"
