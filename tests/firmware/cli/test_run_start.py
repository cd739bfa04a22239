"""`branchline run` settles where the page listens before it opens the board: a taken port or
a bad proxy is refused at once, with the remedy, and no line is ever answered."""

import socket
import subprocess
import sys
from pathlib import Path

from branchline.config.data_dir import DataDir

BRANCHLINE = Path(sys.executable).with_name("branchline")


def _run(tmp_path, *extra):
    data = tmp_path / "d"
    done = subprocess.run([str(BRANCHLINE), "run", "--data", str(data), *extra],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path)
    return done, DataDir(data).records_db


def test_a_taken_web_port_is_refused_before_the_board_opens(tmp_path):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        done, records = _run(tmp_path, "--listen", f"127.0.0.1:{port}")
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"web service on 127.0.0.1:{port}" in done.stderr
    assert "choose another --listen address" in done.stderr
    assert "branchline running" not in done.stdout
    assert not records.exists()


def test_an_untrustworthy_proxy_name_is_refused_before_the_board_opens(tmp_path):
    done, records = _run(tmp_path, "--listen", "127.0.0.1:0", "--trusted-proxy", "proxy.local")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "trusted proxy 'proxy.local' is not an IP address or network" in done.stderr
    assert not records.exists()
