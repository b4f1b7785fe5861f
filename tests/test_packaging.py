"""pyproject.toml, requirements*.txt and the package data agree, and a missing benchmark is explained."""
import fnmatch
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def _pins(path: Path) -> set[str]:
    lines = (line.split("#", 1)[0].strip() for line in path.read_text().splitlines())
    return {line for line in lines if line and not line.startswith("-")}


def test_requirements_list_exactly_the_pyproject_pins():
    """Spaces installs requirements.txt, pip install . reads pyproject.toml: one set of versions."""
    assert _pins(ROOT / "requirements.txt") == set(PYPROJECT["project"]["dependencies"])
    assert _pins(ROOT / "requirements-dev.txt") == set(PYPROJECT["project"]["optional-dependencies"]["dev"])
    assert all("==" in pin for pin in _pins(ROOT / "requirements.txt"))


def test_trackers_are_pinned_extras_that_the_app_does_not_install():
    """`--report-to` needs its tracker only where someone wants it: an extra each, none in requirements.txt."""
    from studio.config.settings import TRACKERS
    from studio.train.trackers import PACKAGES

    extras = PYPROJECT["project"]["optional-dependencies"]
    required = {pin.split("==")[0] for pin in _pins(ROOT / "requirements.txt")}
    for tracker in TRACKERS[1:]:
        [pin] = extras[tracker]
        assert pin.startswith(PACKAGES[tracker] + "==") and PACKAGES[tracker] not in required
    assert '".[tensorboard]"' in (ROOT / "scripts" / "dev-env.sh").read_text()   # so CI runs its test


def test_console_script_is_the_cli():
    from studio import cli

    module, function = PYPROJECT["project"]["scripts"]["tuning-studio"].split(":")
    assert (module, function) == ("studio.cli", "main") and callable(cli.main)


@pytest.mark.parametrize("package", ["studio.data.assets", "studio.measure.metrics"])
def test_every_bundled_file_is_declared_package_data(package):
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"][package]
    folder = ROOT.joinpath(*package.split("."))
    files = [p.relative_to(folder).as_posix() for p in folder.rglob("*")
             if p.is_file() and p.suffix != ".pyc" and p.name != "__init__.py"]
    assert files, f"nothing bundled under {folder}"
    for name in files:
        assert any(fnmatch.fnmatch(name, pattern) for pattern in patterns), f"{package}: {name} is not package data"


def test_bundled_files_are_read_through_the_package():
    from studio.data import assets
    from studio.data.dialogsum import load_bundled

    assert ".gradio-container" in assets.read_text(assets.STYLE_CSS)
    lines = [line for line in assets.read_text(assets.SAMPLE_DIALOGUES).splitlines() if line.strip()]
    assert sum(len(rows) for rows in load_bundled().splits.values()) == len(lines) > 0


def test_bench_outside_a_source_checkout_is_a_clear_error(monkeypatch, capsys):
    """An installed studio has no bench/ package: one error line, exit status 2, nothing run."""
    from studio import cli

    monkeypatch.setitem(sys.modules, "bench", None)  # what `import bench` meets in an installed copy
    assert cli.main(["bench", "--quick"]) == 2
    assert "error: the benchmark is not installed" in capsys.readouterr().err
