"""The package's layers: imports flow one way, the UI handlers stay light, the app builds every tab."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[1] / "studio"


def test_importing_the_handlers_loads_neither_gradio_nor_torch():
    code = "import studio.ui.handlers, sys; print('gradio' in sys.modules, 'torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=STUDIO.parent, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False False"


def _module_name(path: Path) -> str:
    parts = path.relative_to(STUDIO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _top_level_imports(path: Path) -> set[str]:
    """Modules of `studio` this one imports when it is imported (imports inside functions are lazy: skipped)."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    found = set()
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:  # module level only; `if TYPE_CHECKING:` blocks never run
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            candidates = [target] + [f"{target}.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            candidates = [alias.name for alias in node.names]
        else:
            continue
        found |= {c for c in candidates if c.startswith("studio") and c in MODULES}
    return found - {name}


MODULES = {_module_name(p): p for p in STUDIO.rglob("*.py")}


def test_no_import_cycle_in_studio():
    graph = {name: _top_level_imports(path) for name, path in MODULES.items()}
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = "open"
        for child in sorted(graph[node]):
            assert state.get(child) != "open", f"import cycle: {' -> '.join(trail + [node, child])}"
            if child not in state:
                visit(child, trail + [node])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])
    assert graph["studio.ui.app"] >= {"studio.ui.tab_train", "studio.ui.context"}  # the walk sees real edges


def test_handlers_and_cli_use_the_studio_not_its_parts():
    """Handlers and the CLI never reach into the Studio's store, queue or pool."""
    files = [*(STUDIO / "ui" / "handlers").glob("*.py"), *(STUDIO / "ui").glob("tab_*.py"), STUDIO / "cli.py"]
    for path in files:
        text = path.read_text(encoding="utf-8")
        for part in (".store.", ".jobs.", ".pool."):
            assert part not in text, f"{path.name} uses studio{part}"


def test_the_app_builds_every_tab_and_section_module():
    """The section modules have no test module of their own (test_test_layout.py): each must at least be
    reached from studio.ui.app, so the browser scenarios and test_app.py exercise it."""
    graph = {name: _top_level_imports(path) for name, path in MODULES.items()}
    reached, todo = set(), ["studio.ui.app"]
    while todo:
        name = todo.pop()
        if name not in reached:
            reached.add(name)
            todo.extend(graph[name])
    layout = {name for name in MODULES if name.startswith(("studio.ui.tab_", "studio.ui.section_"))}
    assert len(layout) >= 5 and layout <= reached, f"built by nothing: {sorted(layout - reached)}"

