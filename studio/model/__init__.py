"""The models: base model, stand-in, method registry, memory, hardware, network, Hub. May import: store, data, config.

The layers, top to bottom: ui, cli -> service -> measure -> train | generate -> model -> store -> data
-> config (pyproject.toml's importlinter contract, checked by `lint-imports` in CI)."""
