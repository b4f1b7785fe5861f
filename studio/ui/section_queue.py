"""The shared training queue, shown to everyone on every tab: what trains now, how many wait, your place.

    section_queue.build(studio, demo, owner, runs_version)      # in app.py, above the tabs

The page's HTML is built once, when the app starts, so the board's first text claims nothing
("checking"): the page-load event fills it with the queue as it is, outside Gradio's queue,
so no waiting event delays it (behind a busy queue a fresh page said "free" for 7-18 s while a
training ran). Then a timer polls every few seconds. It also notices when the runs on disk changed (anyone's
run finished, was renamed or deleted) and bumps runs_version, so every open page
redraws its lists and charts without a reload.
"""
from __future__ import annotations

import gradio as gr

from studio.service.engine import Studio

from .handlers import queue as hq

POLL_SECONDS = 3.0


CHECKING = "**Training queue:** checking…"


def build(studio: Studio, demo: gr.Blocks, owner: gr.State, runs_version: gr.State) -> None:
    board = gr.Markdown(CHECKING, elem_id="queue-board", elem_classes=["queue-board"])
    # Who the person is comes later (the owner token's load event); the queue itself is known now.
    demo.load(lambda: hq.queue_view(studio, None), None, board, queue=False, api_visibility="private",
              show_progress="hidden")
    stamp = gr.State(studio.runs_stamp())
    timer = gr.Timer(POLL_SECONDS)

    def poll(token, seen, version):
        now = studio.runs_stamp()
        out = {board: hq.queue_view(studio, token), stamp: now}
        if now != seen:
            out[runs_version] = (version or 0) + 1
        return out

    timer.tick(poll, [owner, stamp, runs_version], [board, stamp, runs_version],
               api_visibility="private", show_progress="hidden", concurrency_limit=None)
    owner.change(lambda token: hq.queue_view(studio, token), owner, board, api_visibility="private",
                     show_progress="hidden")
