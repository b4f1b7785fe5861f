"""The Gradio UI: the only package that imports gradio.

    from studio.ui import build_app, launch_options
    build_app(Settings.from_env()).launch(**launch_options())

Layers, each importing only the ones after it: app (assembles) -> tab_* (layout and
wiring) -> context, errors, widgets, launch (shared UI pieces) -> handlers (plain
Python) -> studio.engine. Importing this package, or its handlers, loads no gradio:
`build_app` and `launch_options` are looked up on first use.
"""
from __future__ import annotations

__all__ = ["build_app", "launch_options"]


def __getattr__(name: str):
    if name == "build_app":
        from .app import build_app

        return build_app
    if name == "launch_options":
        from .launch import launch_options

        return launch_options
    raise AttributeError(f"module 'studio.ui' has no attribute {name!r}")
