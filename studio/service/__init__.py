"""The Studio facade and what it runs: queue, workers, fair sharing, owners, limits. May import: the layers below.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
