"""DialogSum and the bundled sample: loading, browsing, pasted dialogues. May import: config.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
