"""One training run: the Trainer, its callback, the plan, trackers. May import: model, store, data, config.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
