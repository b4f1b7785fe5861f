"""The header's extras for a demo: progress of the start-up preparation, and "Duplicate this Space" on Spaces."""
from __future__ import annotations

import gradio as gr

from .context import QUIET, UiContext
from .handlers.notices import preparation_text

POLL_SECONDS = 3


def build(ctx: UiContext) -> None:
    studio = ctx.studio
    if studio.settings.on_space:  # only a Space can be duplicated
        gr.DuplicateButton("Duplicate this Space (private copy, your own hardware and token)", size="sm",
                           elem_id="duplicate-space")
    status = studio.preparation_status()
    if not status["running"] and not status["lines"]:
        return
    note = gr.Markdown(preparation_text(status), elem_id="prepare-status", elem_classes=["studio-notice"])
    timer = gr.Timer(POLL_SECONDS, active=status["running"])

    def poll(version):
        status = studio.preparation_status()
        out = {note: preparation_text(status)}
        if not status["running"]:  # done: stop polling and let the tabs list the new runs
            out.update({timer: gr.Timer(active=False), ctx.runs_version: (version or 0) + 1})
        return out

    timer.tick(poll, ctx.runs_version, [note, timer, ctx.runs_version], **QUIET)
