"""Tuning Studio's entry point: `python app.py` (also what Hugging Face Spaces runs).

    GRADIO_SERVER_PORT=7860 GRADIO_SERVER_NAME=0.0.0.0 python app.py

Settings come from the environment (STUDIO_BASE_MODEL, STUDIO_DATA, STUDIO_RUNS_DIR,
HF_HUB_OFFLINE, ...; see studio/config/settings.py). `demo` is module-level so `gradio app.py`
and tests can import it.
"""
import os
import sys

from studio.config.settings import Settings
from studio.store.runs import RunsDirUnusable, RunStore

settings = Settings.from_env()
try:
    RunStore(settings.runs_dir)  # checked before gradio and torch load: a bad setting fails in a second
    from studio import freeze_startup_objects
    from studio.service.engine import Studio
    from studio.ui import build_app, launch_options

    engine = Studio(settings)  # imports torch and transformers; loads no model yet
    if __name__ == "__main__":  # a process of its own (not `gradio app.py`, not a test importing `demo`)
        freeze_startup_objects()   # each training's forced full collection then skips ~335,000 objects
    demo = build_app(engine)
except RunsDirUnusable as exc:  # an operator's setting: say which, without a traceback
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME") or None,
                server_port=int(os.environ.get("GRADIO_SERVER_PORT") or 7860),
                **launch_options(settings))
