"""Settings and declarations: every setting and environment variable, declared once. Imports nothing of the studio.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
