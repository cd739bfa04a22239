"""`branchline config check|publish|rollback|show` on real files in a temporary data dir."""

import argparse
import contextlib
import io
import subprocess
import sys
from pathlib import Path

import pytest

from branchline.config.document.loading import default_document_text
from branchline.config.store.versioned import ConfigStore
from branchline.firmware import cli as branchline_cli
from branchline.firmware.cli.config import add_config_commands

BAD = default_document_text().replace('"3": branch_info', '"3": branch_inf')
RENAMED = default_document_text().replace("name: Demo Branch", "name: Futian Branch")


def parser():
    top = argparse.ArgumentParser(prog="branchline")
    add_config_commands(top.add_subparsers(dest="command", required=True))
    return top


@pytest.fixture
def run(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("BRANCHLINE_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("USER", "tester")

    def run(*argv):
        args = parser().parse_args(["config", *argv])
        status = args.func(args)
        out, err = capsys.readouterr()
        return status, out, err
    return run


# Where the bad target stands in BAD (the default document's length changes as it grows).
BAD_LINE = next(n for n, text in enumerate(BAD.splitlines(), 1) if "branch_inf" in text)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "bad.yaml").write_text(BAD, encoding="utf-8")
    (tmp_path / "renamed.yaml").write_text(RENAMED, encoding="utf-8")
    return tmp_path


def test_check_a_good_file_prints_the_routes_to_a_person(run, files):
    status, out, _ = run("check", str(files / "renamed.yaml"))
    assert status == 0
    assert "routes to a person in flow bank:" in out
    assert "  via main_menu: 1, 0; at worst 15.1 s" in out
    assert out.rstrip().endswith("0 error(s), 0 warning(s): publishable")


def test_check_a_bad_file_prints_each_error_with_path_line_and_fix(run, files):
    status, out, _ = run("check", str(files / "bad.yaml"))
    assert status == 1
    assert (f"error    flows.bank.nodes.main_menu.options.3 (line {BAD_LINE}): unknown target "
            "'branch_inf'\n         fix: did you mean 'branch_info'?") in out
    assert "3 error(s), 0 warning(s): not publishable" in out


def test_check_does_not_create_a_store_for_a_file(run, files, tmp_path):
    run("check", str(files / "renamed.yaml"))
    assert not (tmp_path / "data").exists()


def test_check_without_a_file_checks_the_version_in_force_on_first_use(run, tmp_path):
    status, out, _ = run("check")
    assert status == 0
    assert out.startswith("checking version 1 (in force)")
    assert (tmp_path / "data" / "config" / "versions" / "000001.yaml").read_text() == \
        default_document_text()


def test_check_without_a_file_checks_your_draft(run, tmp_path):
    run("show")
    store = ConfigStore(tmp_path / "data", lambda text: (None, None))
    store.save_draft("tester", BAD, base=1, revision=0)
    status, out, _ = run("check")
    assert status == 1
    assert out.startswith("checking the draft of tester (from version 1, revision 1)")


def test_publish_then_show_history_diff_and_versions(run, files):
    status, out, _ = run("publish", str(files / "renamed.yaml"), "--note", "our name",
                         "--who", "alice")
    assert status == 0
    assert out.startswith("published version 2 by alice at ")
    assert out.rstrip().endswith(": our name")

    status, out, _ = run("show", "--history")
    rows = out.splitlines()
    assert status == 0 and len(rows) == 3
    assert rows[1].split()[0] == "1"
    assert rows[1].endswith("branchline    first run: the bundled default")
    assert rows[2].startswith("*") and "alice" in rows[2] and rows[2].endswith("our name")

    status, out, _ = run("show", "--diff", "1", "2")
    assert "-  name: Demo Branch 示范支行\n+  name: Futian Branch 示范支行" in out

    assert run("show")[1] == RENAMED
    assert run("show", "1")[1] == default_document_text()


def test_publish_refuses_a_bad_file_and_keeps_the_running_version(run, files):
    status, out, _ = run("publish", str(files / "bad.yaml"), "--note", "typo")
    assert status == 1
    assert f"error    flows.bank.nodes.main_menu.options.3 (line {BAD_LINE})" in out
    assert out.rstrip().endswith(
        f"{files / 'bad.yaml'} was not published: 3 error(s); version 1 stays in force")
    history = run("show", "--history")[1].splitlines()
    assert len(history) == 2 and history[1].startswith("*")


def test_publish_shows_the_warnings_of_what_it_published(run, tmp_path):
    text = default_document_text().replace("codec: alaw ", "codec: ulaw ")
    (tmp_path / "ulaw.yaml").write_text(text, encoding="utf-8")
    status, out, _ = run("publish", str(tmp_path / "ulaw.yaml"), "--note", "test line")
    assert status == 0
    assert out.splitlines()[1:] == [
        "warning  site.codec (line 10): ulaw on cn lines; the cn network uses alaw",
        "         fix: use alaw unless the exchange says otherwise",
    ]


def test_publish_needs_a_note(run, files, capsys):
    with pytest.raises(SystemExit) as caught:
        parser().parse_args(["config", "publish", str(files / "renamed.yaml")])
    assert caught.value.code == 2
    assert "--note" in capsys.readouterr().err


def test_rollback_publishes_the_old_text_as_a_new_version(run, files):
    run("publish", str(files / "renamed.yaml"), "--note", "our name")
    status, out, _ = run("rollback", "1", "--note", "wrong name")
    assert status == 0
    assert "published version 3 by tester" in out and out.rstrip().endswith(
        "rollback to 1: wrong name")
    assert run("show")[1] == default_document_text()


def test_unknown_versions_and_missing_files_end_with_status_2_and_the_reason(run, files):
    status, out, err = run("rollback", "7")
    assert (status, out) == (2, "")
    assert "there is no version 7; published versions are 1 to 1" in err
    status, _, err = run("show", "9")
    assert status == 2 and "there is no version 9" in err
    status, _, err = run("check", str(files / "missing.yaml"))
    assert status == 2
    assert f"cannot read {files / 'missing.yaml'} (No such file or directory)" in err


def test_data_option_wins_over_the_environment(run, tmp_path):
    run("show", "--data", str(tmp_path / "elsewhere"))
    assert (tmp_path / "elsewhere" / "config" / "current").read_text() == "000001\n"
    assert not (tmp_path / "data").exists()


def _cli_has_config():
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            branchline_cli.build_parser().parse_args(["config", "show", "--history"])
    except SystemExit:
        return False
    return True


@pytest.mark.skipif(not _cli_has_config(),
                    reason="firmware/cli/main.py does not call add_config_commands yet (the "
                           "runtime engineer wires it)")
def test_the_installed_command_checks_a_file(files):
    command = Path(sys.executable).with_name("branchline")
    done = subprocess.run([str(command), "config", "check", str(files / "bad.yaml")],
                          capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 1
    assert "unknown target 'branch_inf'" in done.stdout


def test_check_and_publish_refuse_a_file_nested_past_the_limit(run, tmp_path):
    deep = tmp_path / "deep.yaml"
    deep.write_text("site: " + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    status, out, _ = run("check", str(deep))
    assert status == 1
    assert "the document nests lists and mappings more than 50 deep" in out
    status, out, _ = run("publish", str(deep), "--note", "deep")
    assert status == 1
    assert out.rstrip().endswith("was not published: 1 error(s); version 1 stays in force")
