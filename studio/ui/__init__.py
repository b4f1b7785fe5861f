"""The Gradio UI: the only package that imports gradio.

    from studio.ui import build_app, launch_options
    build_app(Settings.from_env()).launch(**launch_options())
"""
from .app import build_app, launch_options

__all__ = ["build_app", "launch_options"]
