"""The package's layers: imports flow one way, the UI handlers stay light, the app builds every tab."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"


def test_importing_the_handlers_loads_neither_gradio_nor_torch():
    code = "import studio.ui.handlers, sys; print('gradio' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=STUDIO.parent, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False False"


def test_the_layers_and_acyclic_contracts_hold():
    """pyproject.toml's import-linter contracts: each layer imports only from those below it, and no
    package's modules import each other in a circle (CI runs `lint-imports` too; this keeps it in the suite)."""
    out = subprocess.run([str(Path(sys.executable).parent / "lint-imports")], cwd=STUDIO.parent,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


def test_every_engine_module_lives_in_a_layer():
    """No module at studio/'s top level but the package's entry points: the rest is in a layer's folder."""
    top = sorted(p.name for p in STUDIO.glob("*.py"))
    assert top == ["__init__.py", "__main__.py"]
    layers = {"config", "data", "store", "model", "train", "generate", "measure", "service", "cli", "ui"}
    assert {p.name for p in STUDIO.iterdir() if p.is_dir() and p.name != "__pycache__"} == layers
    for layer in layers - {"cli", "ui"}:
        first_line = (STUDIO / layer / "__init__.py").read_text(encoding="utf-8").splitlines()[0]
        assert "May import" in first_line or "Imports nothing" in first_line, layer


def test_module_names_are_unique_across_the_layers():
    """Test modules are named after the module alone (tests/test_test_layout.py), so two layers may not
    share a module name. ui/ and cli/ name theirs apart (tests/ui/test_x.py, tests/test_cli_x.py), so
    their modules may be named like the engine's: cli/hub.py holds the commands over store/hub.py."""
    seen: dict[str, Path] = {}
    for path in STUDIO.rglob("*.py"):
        relative = path.relative_to(STUDIO)
        if path.name == "__init__.py" or relative.parts[0] in ("ui", "cli") or "metrics" in relative.parts:
            continue
        assert path.stem not in seen, f"{relative} and {seen[path.stem]}"
        seen[path.stem] = relative


def test_handlers_and_cli_use_the_studio_not_its_parts():
    """Handlers and the CLI never reach into the Studio's store, queue or pool (attributes; importing a
    lower layer's module, `from studio.store.runs import RunNotFound`, is the layers contract's business)."""
    files = [*(STUDIO / "ui" / "handlers").glob("*.py"), *(STUDIO / "ui").glob("tab_*.py"),
             *(STUDIO / "cli").glob("*.py")]
    for path in files:
        lines = path.read_text(encoding="utf-8").splitlines()
        text = "\n".join(line for line in lines if not line.lstrip().startswith(("from studio.", "import studio.")))
        for part in (".store.", ".jobs.", ".pool."):
            assert part not in text, f"{path.name} uses studio{part}"


def test_the_app_builds_every_tab_and_section_module():
    """The section modules have no test module of their own (test_test_layout.py): each must at least be
    reached from studio.ui.app, so the browser scenarios and test_app.py exercise it."""
    import grimp  # import-linter's own import graph

    graph = grimp.build_graph("studio")
    reached = graph.find_upstream_modules("studio.ui.app")  # every module the app imports, at any depth
    assert {"studio.ui.tab_train", "studio.ui.context"} <= reached  # the graph sees real edges
    layout = {name for name in graph.modules if name.startswith(("studio.ui.tab_", "studio.ui.section_"))}
    assert len(layout) >= 5 and layout <= reached, f"built by nothing: {sorted(layout - reached)}"
