"""The notice above the tabs: plain sentences, details behind a disclosure, a button that closes it.

    section_notice.build(studio, demo)      # in app.py, above the tabs; renders nothing when there is nothing to say

Closing it is remembered in the browser's sessionStorage, so a reload in the same tab
keeps it closed; a new browser session shows it again.
"""
from __future__ import annotations

import sys

import gradio as gr

from studio.service.engine import Studio

from .handlers.notices import console_line, notice_html

DISMISSED_KEY = "tuning-studio-notice-dismissed"
_HIDE = (f"() => {{ sessionStorage.setItem('{DISMISSED_KEY}', '1'); "
         "const el = document.getElementById('studio-notice'); if (el) el.style.display = 'none'; }")
_HIDE_IF_DISMISSED = (f"() => {{ if (sessionStorage.getItem('{DISMISSED_KEY}')) {{ "
                      "const el = document.getElementById('studio-notice'); if (el) el.style.display = 'none'; } }")


def build(studio: Studio, demo: gr.Blocks) -> None:
    line = console_line(studio)
    if line:  # built once, as the app starts: the operator's console hears it before anyone opens the page
        print(line, file=sys.stderr, flush=True)
    text = notice_html(studio)
    if not text:
        return
    with gr.Row(elem_id="studio-notice", elem_classes=["studio-notice"], equal_height=False):
        gr.HTML(text, elem_classes=["notice-body"])
        close = gr.Button("✕", size="sm", scale=0, min_width=44, elem_id="notice-close",
                          elem_classes=["notice-close"])
    close.click(None, None, None, js=_HIDE)
    demo.load(None, None, None, js=_HIDE_IF_DISMISSED)
