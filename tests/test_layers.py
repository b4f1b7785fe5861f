"""The package's layers: imports flow one way, the UI handlers stay light, the app builds every tab,
and the environment is read in one place."""
from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"


def test_importing_the_handlers_loads_neither_gradio_nor_torch():
    # Every module of the package: it re-exports nothing, so importing the package alone proves little.
    code = ("import importlib, pkgutil, sys, studio.ui.handlers as package\n"
            "for module in pkgutil.iter_modules(package.__path__):\n"
            "    importlib.import_module(f'studio.ui.handlers.{module.name}')\n"
            "print('gradio' in sys.modules, 'torch' in sys.modules)")
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


def test_the_readme_map_names_every_module_below_the_entry_points():
    """README's "How it is built" is where a new engineer finds a module: each engine module has its line,
    under its own folder's heading. ui/ and cli/ are described by their patterns (tab_*, section_*, one
    module per command group); the metrics/ evaluate module by its folder."""
    readme = (STUDIO.parent / "README.md").read_text(encoding="utf-8")
    block = readme.split("## How it is built", 1)[1].split("```", 2)[1]
    sections: dict[str, str] = {}   # a layer's folder -> the text under its heading
    folder = None
    for line in block.splitlines():
        words = line.split()
        if line.startswith("  ") and not line.startswith("   ") and words and words[0].endswith("/"):
            folder = words[0].rstrip("/")
        if folder:
            sections[folder] = sections.get(folder, "") + line + "\n"
    missing = []
    for path in sorted(STUDIO.rglob("*.py")):
        relative = path.relative_to(STUDIO)
        if path.name == "__init__.py" or len(relative.parts) != 2 or relative.parts[0] in ("ui", "cli"):
            continue
        if path.name not in re.findall(r"\w+\.py", sections.get(relative.parts[0], "")):
            missing.append(relative.as_posix())
    assert not missing, f"README's 'How it is built' has no line for {missing}"


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


# Modules outside studio/config that may read the environment, and why. Writes anywhere are fine:
# they configure a library (HF_HUB_OFFLINE, TOKENIZERS_PARALLELISM, FORWARDED_ALLOW_IPS).
ENVIRONMENT_READERS = {
    "model/distributed.py": "torchrun's RANK / WORLD_SIZE / LOCAL_RANK describe this one process, not a setting",
    "train/trackers.py": "the trackers' own variables (MLFLOW_*, WANDB_*, ...): the operator's are kept, the "
                         "studio's are set around one run and put back",
    "service/workers.py": "a training's child process is handed this environment whole",
}
_WRITES = ("update", "setdefault")   # os.environ.update(...), os.environ.setdefault(...)


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines that read os.environ or os.getenv (a store into, or a delete from, os.environ is a write)."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "os" and \
                {a.name for a in node.names} & {"environ", "getenv"}:
            lines.append(node.lineno)
        if not (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "os"
                and node.attr in ("environ", "getenv")):
            continue
        parent = parents.get(node)
        written = (node.attr == "environ" and (
            (isinstance(parent, ast.Subscript) and isinstance(parent.ctx, (ast.Store, ast.Del)))
            or (isinstance(parent, ast.Attribute) and parent.attr in _WRITES)))
        if not written:
            lines.append(node.lineno)
    return lines


def test_only_the_config_layer_reads_the_environment():
    """Settings (and config's readers of the process switches) are the one place the environment is read."""
    readers = {}
    for path in STUDIO.rglob("*.py"):
        relative = path.relative_to(STUDIO).as_posix()
        if relative.startswith("config/") or relative in ENVIRONMENT_READERS:
            continue
        lines = _environment_reads(ast.parse(path.read_text(encoding="utf-8")))
        if lines:
            readers[relative] = lines
    assert not readers, f"read the environment outside studio/config (read it through Settings): {readers}"
    assert _environment_reads(ast.parse("import os\nos.environ['A'] = '1'\ndel os.environ['A']")) == []
    assert _environment_reads(ast.parse("import os\nx = os.environ.get('A') or os.getenv('B')")) == [2, 2]
