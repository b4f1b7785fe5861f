"""The run store on disk: runs, records, processes, sharing, checkpoints. May import: data, config.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
