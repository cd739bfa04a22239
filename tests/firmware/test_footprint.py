"""What the running appliance carries in memory: libraries it needs only now and then are
imported when used (docs/operations.md, the device bench's figures)."""

import json
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


def test_starting_with_prompts_built_reads_no_pinyin_dictionary(tmp_path):
    """Every start checks the prompts are built; for Mandarin text that must not mean
    turning it into pinyin again (pypinyin's dictionaries are most of its cost)."""
    texts = {"main.short": {"zh": "余额按1，人工按0。", "en": "Balance 1, a person 0."}}
    units = {"zh": {"num/2": "二"}, "en": {"num/2": "two"}}
    setup = ("import sys\n"
             "from branchline.firmware.prompts.store import PromptStore\n"
             f"store = PromptStore({str(tmp_path)!r}, {texts!r}, ('zh', 'en'), units={units!r})\n"
             "report = store.build()\n"
             "print(len(report.synthesised), report.unchanged, 'pypinyin' in sys.modules)\n")
    def start() -> list[str]:
        return subprocess.run([sys.executable, "-c", setup], capture_output=True, text=True,
                              check=True, timeout=300).stdout.split()

    assert start() == ["4", "0", "True"]
    assert start() == ["0", "4", "False"]
    # A manifest written before the text digests were kept: checked the long way once.
    path = tmp_path / "prompts" / "cache" / "manifest.json"
    manifest = json.loads(path.read_text())
    for entry in manifest["prompts"].values():
        del entry["text"]
    path.write_text(json.dumps(manifest))
    assert start() == ["0", "4", "True"]
    assert start() == ["0", "4", "False"]
