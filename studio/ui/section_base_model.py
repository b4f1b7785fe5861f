"""Train tab, base model: the memory a run needs before Start, and a switch where the operator allows several bases."""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train as ht


def build(ctx: UiContext, ui: SimpleNamespace) -> None:
    """`ui` holds the Train form's method and batch-size widgets."""
    studio = ctx.studio
    choices = studio.base_choices()
    # The switch is an operator's tool: shown only where the operator allows it (the handler
    # refuses scripts too), and hidden on a presenter page.
    switchable = len(choices) > 1 and studio.settings.allow_base_switch
    if switchable:
        with gr.Row(equal_height=True, visible=not studio.settings.presenter) as switch_row:
            picked = gr.Dropdown(choices, value=choices[0], label="Base model", scale=3, elem_id="base-model",
                                 info="One at a time; switching frees the current one")
            switch = gr.Button("Switch", scale=1, elem_id="base-switch")

        @guarded
        def on_switch(name, method, version):
            message = ht.switch_base(studio, name)
            gr.Info(message)
            # The form takes the new base's quick preset (a smaller batch on a bigger model), and a
            # new runs version redraws the header and the run lists (other bases' runs do not load).
            quick = ht.preset_values(studio, "quick")
            return {memory: ht.memory_text(studio, method, quick["batch_size"]), ctx.runs_version: (version or 0) + 1,
                    ui.preset: gr.Radio(value="quick", info=ht.preset_info(studio)),
                    **{getattr(ui, field): value for field, value in quick.items()}}

        def current_base():
            # A page opened after a switch names the base loaded now and its presets. Its form's numbers
            # follow once the page knows whose it is (tab_train's reattach: a running training's own
            # form, else the loaded base's quick preset).
            now = studio.base_choices()
            return {picked: gr.Dropdown(choices=now, value=now[0]), ui.preset: gr.Radio(info=ht.preset_info(studio))}

        ctx.demo.load(current_base, None, [picked, ui.preset], **QUIET)
        if ctx.presenter is not None:
            ctx.presenter.change(lambda on: gr.Row(visible=on is not True), ctx.presenter, switch_row, **QUIET)

    memory = gr.Markdown(_safe_memory(studio, ui.method.value, ui.batch_size.value), elem_id="train-memory")

    def on_form(method, batch_size):
        return {memory: _safe_memory(studio, method, batch_size)}

    for widget in (ui.method, ui.batch_size):
        # Raw values (memory_text parses them): Gradio's minimum check would toast a red Error on a 0.
        widget.change(on_form, [ui.method, ui.batch_size], [memory], preprocess=False, **QUIET)
    if switchable:
        switch.click(on_switch, [picked, ui.method, ctx.runs_version],
                     [memory, ctx.runs_version, ui.preset, ui.steps, ui.batch_size, ui.train_size],
                     api_name="switch_base",
                     preprocess=False)


def _safe_memory(studio, method, batch_size) -> str:
    try:
        return ht.memory_text(studio, method, batch_size)
    except (ValueError, OSError):
        return ""  # no estimate for a model whose shape is unknown; the form still works
