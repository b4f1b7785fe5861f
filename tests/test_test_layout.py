"""The tests mirror the package: each module of studio/ has its test module, named after it.

    studio/<layer>/x.py      -> tests/test_x.py            (or test_x_<aspect>.py when one file would be too long)
    studio/ui/x.py           -> tests/ui/test_x.py
    studio/ui/handlers/x.py  -> tests/ui/test_handlers_x.py
    studio/cli/x.py          -> tests/test_cli_x.py        (a command group; studio/cli/__init__.py -> test_cli.py)
    bench/x.py               -> tests/test_bench_x.py      (the benchmark's own stages run when it runs)

tests/scenarios/ holds the batteries that cross modules on purpose: a real browser, a real
`python app.py` under several clients, killed processes and full disks, the GPU checks.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

# Modules without a test module of their own, and why. Each section builder (a view hooked into a
# tab: the queue board, the experiment, the overlap highlight, ...) lays out a few components and
# wires them to handlers that are tested one by one in tests/ui/test_handlers_*.py; the browser
# scenarios click through every section, and test_layers.py checks the app builds each one.
# The five tab builders, which hold real wiring logic, have tests/ui/test_tab_*.py.
LAYOUT_PREFIXES = ("ui/section_",)
UNTESTED_ON_PURPOSE = {
    "ui/context.py": "declarations only: the UiContext dataclass and two constants",
}
# Test modules about the project rather than one module.
PROJECT_TESTS = {"test_layers.py", "test_packaging.py", "test_test_layout.py"}
# Packages whose code lives in __init__.py, and the entry point.
PACKAGE_MODULES = {"data/assets/__init__.py": "assets", "measure/metrics/__init__.py": "metrics",
                   "cli/__init__.py": "cli", "__main__.py": "main"}


def _expected_test(relative: str) -> tuple[Path, str]:
    """(folder, stem prefix) the tests of studio/<relative> live under."""
    if relative in PACKAGE_MODULES:
        return TESTS, "test_" + PACKAGE_MODULES[relative]
    parts = Path(relative).with_suffix("").parts
    if parts[:2] == ("measure", "metrics"):
        return TESTS, "test_metrics"
    if parts[:2] == ("ui", "handlers"):
        return TESTS / "ui", "test_handlers_" + parts[2]
    if parts[0] == "ui":
        return TESTS / "ui", "test_" + parts[1]
    if parts[0] == "cli":
        return TESTS, "test_cli_" + parts[1]
    return TESTS, "test_" + parts[-1]  # module names are unique across the layers


def _has_test(folder: Path, prefix: str) -> bool:
    return (folder / f"{prefix}.py").is_file() or any(folder.glob(f"{prefix}_*.py"))


def _modules() -> list[str]:
    found = []
    for path in sorted((ROOT / "studio").rglob("*.py")):
        relative = path.relative_to(ROOT / "studio").as_posix()
        if path.name == "__init__.py" and relative not in PACKAGE_MODULES:
            continue  # re-exports only
        if relative.startswith("measure/metrics/") and relative != "measure/metrics/__init__.py":
            continue  # the evaluate module under metrics/ is tested through the package (test_metrics.py)
        found.append(relative)
    return found


def test_every_module_has_its_test_module():
    missing = []
    for relative in _modules():
        if relative.startswith(LAYOUT_PREFIXES) or relative in UNTESTED_ON_PURPOSE:
            continue
        folder, prefix = _expected_test(relative)
        if not _has_test(folder, prefix):
            missing.append(f"studio/{relative} -> {folder.relative_to(ROOT)}/{prefix}.py")
    assert not missing, "modules without a test module:\n" + "\n".join(missing)


def test_every_test_module_names_the_module_it_tests():
    stems = {}
    for relative in _modules():
        folder, prefix = _expected_test(relative)
        stems.setdefault(folder, set()).add(prefix)
    stems.setdefault(TESTS, set()).update("test_bench_" + p.stem for p in (ROOT / "bench").glob("*.py"))
    strays = []
    for folder, prefixes in stems.items():
        for test in sorted(folder.glob("test_*.py")):
            if folder == TESTS and test.name in PROJECT_TESTS:
                continue
            if not any(test.stem == p or test.stem.startswith(p + "_") for p in prefixes):
                strays.append(test.relative_to(ROOT).as_posix())
    assert not strays, "test modules named after no module (move them, or to tests/scenarios/):\n" + "\n".join(strays)
