"""Train tab, base model: the memory a run needs before Start, and a switch where the operator allows several bases."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import base as hb


def build(ctx: UiContext, ui: SimpleNamespace) -> None:
    """`ui` holds the Train form's method and batch-size widgets."""
    studio = ctx.studio
    choices = studio.base_choices()
    if len(choices) > 1:
        with gr.Row(equal_height=True):
            picked = gr.Dropdown(choices, value=choices[0], label="Base model", scale=3, elem_id="base-model",
                                 info="One at a time; switching frees the current one")
            switch = gr.Button("Switch", scale=1, elem_id="base-switch")

        @guarded
        def on_switch(name, method, batch_size, version):
            message = hb.switch_base(studio, name)
            gr.Info(message)
            # A new runs version redraws the header (the base's name) and the run lists (runs of
            # another base do not load on this one).
            return {memory: hb.memory_text(studio, method, batch_size), ctx.runs_version: (version or 0) + 1}

        def current_base():  # a page opened after a switch shows the base loaded now
            now = studio.base_choices()
            return gr.Dropdown(choices=now, value=now[0])

        ctx.demo.load(current_base, None, picked, **QUIET)

    memory = gr.Markdown(_safe_memory(studio, ui.method.value, ui.batch_size.value), elem_id="train-memory")

    def on_form(method, batch_size):
        return {memory: _safe_memory(studio, method, batch_size)}

    for widget in (ui.method, ui.batch_size):
        # Raw values (memory_text parses them): Gradio's minimum check would toast a red Error on a 0.
        widget.change(on_form, [ui.method, ui.batch_size], [memory], preprocess=False, **QUIET)
    if len(choices) > 1:
        switch.click(on_switch, [picked, ui.method, ui.batch_size, ctx.runs_version], [memory, ctx.runs_version],
                     api_name="switch_base",
                     preprocess=False)


def _safe_memory(studio, method, batch_size) -> str:
    try:
        return hb.memory_text(studio, method, batch_size)
    except (ValueError, OSError):
        return ""  # no estimate for a model whose shape is unknown; the form still works
