"""What every tab builder receives: the Studio and the few components tabs share."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from studio.service.engine import Studio

# A 2-core machine: generation runs one request at a time (the model pool serialises it
# anyway). Gradio's queue is first come, first served, so it lets this many generation
# events in at once; they then wait at the studio's gate, which serves the client that used
# least first (a running summary steps aside for it between decoding steps) and refuses a
# client's requests beyond its share at once (studio/service/fairshare.py, studio/ui/turns.py).
GENERATE = "generate"
GENERATE_WORKERS = 16
# Events that only refresh what is shown: no API endpoint, no spinner.
QUIET = {"api_visibility": "private", "show_progress": "hidden"}


@dataclass
class UiContext:
    studio: Studio
    demo: gr.Blocks
    owner: gr.State            # this session's token: who may stop / delete / rename what
    tabs: gr.Tabs
    runs_version: gr.State     # bumped when a run appears, ends, is renamed or deleted
    dialogue: gr.Textbox       # Compare's "Dialogue" box, filled from the Dataset tab
    sent_example: gr.State     # {"dialogue", "references"} last sent from the Dataset tab
    scratch: Path              # temporary downloads (CSV, zips)
    presenter: gr.State | None = None  # True: hide training, rename and delete, so a demo cannot be derailed
