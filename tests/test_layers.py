"""The layer contract of DESIGN.md: which part may import which, checked on the source."""

import ast
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PARTS = ("dsp", "hw", "ivr", "acd", "config", "firmware", "central")

# What each part may import from branchline (besides itself).
ALLOWED = {
    "dsp": set(),
    "hw": {"dsp"},
    "ivr": set(),
    "acd": set(),
    "config": {"ivr", "acd", "hw"},
    "firmware": set(PARTS),
    # The head office's service runs off the device: models, checker and page look only.
    "central": {"acd", "config"},
}
# Sans-I/O parts: no clocks, sockets, files or event loops.
FORBIDDEN_STDLIB = {
    "dsp": {"asyncio", "socket", "os", "time", "threading", "subprocess", "serial"},
    "ivr": {"asyncio", "socket", "os", "time", "threading", "subprocess", "serial",
            "sounddevice", "httpx", "sqlite3"},
    "acd": {"asyncio", "socket", "os", "time", "threading", "subprocess", "serial",
            "sounddevice", "httpx", "sqlite3"},
}

# Parts whose third-party imports are checked: besides the stdlib and branchline, only these.
# dsp: numpy for the kernels; soxr and soundfile for the offline prompt transcoding in media.py.
THIRD_PARTY = {"dsp": {"numpy", "soxr", "soundfile"}}


def _sources(part):
    return sorted((ROOT / part).rglob("*.py")) + sorted((ROOT / part).rglob("*.pyx"))


def _imports(path):
    if path.suffix == ".pyx":
        lines = [
            line.strip()
            for line in path.read_text().splitlines()
            if line.strip().startswith(("import ", "from ")) and " cimport " not in line
        ]
        return [line.split()[1] for line in lines]
    names = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level > 0:
            names.append(f"<relative>{node.module or ''}")
    return names


@pytest.mark.parametrize("part", PARTS)
def test_part_imports_only_what_design_allows(part):
    wrong = []
    for path in _sources(part):
        for name in _imports(path):
            top = name.split(".")[0]
            rel = path.relative_to(ROOT)
            if top in PARTS:
                wrong.append(f"{rel}: bare import {name!r}; write branchline.{name}")
            elif top == "branchline" and name.count(".") >= 1:
                other = name.split(".")[1]
                if other != part and other not in ALLOWED[part]:
                    wrong.append(f"{rel}: {part} may not import branchline.{other}")
            elif top in FORBIDDEN_STDLIB.get(part, ()):
                wrong.append(f"{rel}: {part} is sans-I/O and may not import {name}")
            elif part in THIRD_PARTY and not _stdlib_or_own(top) and top not in THIRD_PARTY[part]:
                wrong.append(f"{rel}: {part} may import only {sorted(THIRD_PARTY[part])} "
                             f"besides the stdlib, not {name}")
    assert not wrong, "\n".join(wrong)


def _stdlib_or_own(top):
    return top in sys.stdlib_module_names or top == "branchline" or top.startswith("<relative>")


def test_dsp_third_party_and_io_rules_are_enforced():
    assert {"os", "time", "socket"} <= FORBIDDEN_STDLIB["dsp"]
    assert THIRD_PARTY["dsp"] == {"numpy", "soxr", "soundfile"}
    assert not _stdlib_or_own("scipy") and _stdlib_or_own("math")


def test_sources_exist_for_every_part():
    for part in PARTS:
        assert (ROOT / part / "__init__.py").is_file(), part


@pytest.mark.parametrize("part", PARTS)
def test_bare_part_names_are_not_importable(part):
    # Only branchline.<part> may resolve; a bare `dsp` would mean the repo root leaked into
    # sys.path and tests would run against the tree instead of the installed package.
    assert importlib.util.find_spec(part) is None


def test_package_comes_from_the_part_folders():
    import branchline.dsp

    assert Path(branchline.dsp.__file__).resolve().parent == ROOT / "dsp"


def _package_dirs(part):
    return [d for d in sorted((ROOT / part).rglob("*"))
            if d.is_dir() and any(d.glob("*.py")) and "__pycache__" not in d.parts]


@pytest.mark.parametrize("part", PARTS)
def test_every_sub_package_is_a_package(part):
    # setup.py finds sub-packages by their __init__.py: a folder without one would be left out
    # of a plain install while an editable one still imported it.
    missing = [str(d.relative_to(ROOT)) for d in _package_dirs(part)
               if not (d / "__init__.py").is_file()]
    assert not missing, f"folders of modules without __init__.py: {missing}"


@pytest.mark.parametrize("part", PARTS)
def test_sub_packages_keep_their_part_rules(part):
    nested = [p for p in _sources(part) if len(p.relative_to(ROOT / part).parts) > 1]
    if part in ("firmware", "hw", "config"):
        assert nested, f"{part} has sub-packages; the import check must walk them"
    assert all(p in _sources(part) for p in nested)


@pytest.mark.parametrize("part", PARTS)
def test_no_name_prefix_stands_in_for_a_sub_package(part):
    # Three or more public modules named <prefix>_* side by side are a sub-package waiting to
    # be made (docs/ARCHITECTURE.md, "Layout").
    crowded = []
    for folder in _package_dirs(part):
        prefixes = {}
        for module in folder.glob("*.py"):
            if not module.stem.startswith("_") and "_" in module.stem:
                prefixes.setdefault(module.stem.split("_")[0], []).append(module.name)
        crowded += [f"{folder.relative_to(ROOT)}: {sorted(names)}"
                    for names in prefixes.values() if len(names) >= 3]
    assert not crowded, "\n".join(crowded)
