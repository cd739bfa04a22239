"""The shipped systemd unit: hardened as a bank's review expects, and pointing where the Debian
package installs the appliance (deploy/debian/rules)."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[3]
UNIT = ROOT / "deploy" / "branchline.service"
# systemd-analyze's exposure, out of 100 (printed out of 10): the unit scores 16 (1.6 OK);
# what keeps it there is in docs/operations.md. A loosened setting must show up here.
EXPOSURE_LIMIT = 19


def test_systemd_analyze_rates_the_unit_at_most_the_limit():
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=yes", f"--threshold={EXPOSURE_LIMIT}",
         str(UNIT)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout[-1500:] + result.stderr[-500:]
    assert re.search(r"Overall exposure level for branchline\.service: 1\.\d", result.stdout)


def test_unit_runs_the_packaged_venv_as_its_own_user_with_only_the_data_writable():
    unit = dict(line.split("=", 1) for line in UNIT.read_text().splitlines()
                if "=" in line and not line.startswith("#"))
    rules = (ROOT / "deploy" / "debian" / "rules").read_text()
    venv = re.search(r"^VENV := (\S+)$", rules, re.M).group(1)
    assert unit["ExecStart"].startswith(f"{venv}/bin/branchline run --data /var/lib/branchline")
    assert unit["User"] == "branchline" and unit["NoNewPrivileges"] == "yes"
    assert unit["ProtectSystem"] == "strict" and unit["ReadWritePaths"] == "/var/lib/branchline"
    assert unit["CapabilityBoundingSet"] == "" and unit["UMask"] == "0077"
