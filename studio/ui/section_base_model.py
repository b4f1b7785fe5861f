"""Train tab, base model: the memory a run needs before Start, and a switch where the operator allows several bases.

    section_base_model.build(ctx, form)    # in the Train tab's form column; `form` is section_train_form's widgets

The memory line follows the form's method and batch size; a switch refills the form's preset and budget
with the new base's quick preset.
"""
from __future__ import annotations

import gradio as gr

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import train as ht
from .section_train_form import TrainFormWidgets


def build(ctx: UiContext, form: TrainFormWidgets) -> None:
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
                    form.preset: gr.Radio(value="quick", info=ht.preset_info(studio)),
                    **{form.widgets()[field]: value for field, value in quick.items()}}

        def current_base():
            # A page opened after a switch names the base loaded now and its presets. Its form's numbers
            # follow once the page knows whose it is (tab_train's reattach: a running training's own
            # form, else the loaded base's quick preset).
            now = studio.base_choices()
            return {picked: gr.Dropdown(choices=now, value=now[0]), form.preset: gr.Radio(info=ht.preset_info(studio))}

        ctx.demo.load(current_base, None, [picked, form.preset], **QUIET)
        if ctx.presenter is not None:
            ctx.presenter.change(lambda on: gr.Row(visible=on is not True), ctx.presenter, switch_row, **QUIET)

    memory = gr.Markdown(_safe_memory(studio, form.method.value, form.batch_size.value), elem_id="train-memory")

    def on_form(method, batch_size):
        return {memory: _safe_memory(studio, method, batch_size)}

    for widget in (form.method, form.batch_size):
        # Raw values (memory_text parses them): Gradio's minimum check would toast a red Error on a 0.
        widget.change(on_form, [form.method, form.batch_size], [memory], preprocess=False, **QUIET)
    if switchable:
        switch.click(on_switch, [picked, form.method, ctx.runs_version],
                     [memory, ctx.runs_version, form.preset, form.steps, form.batch_size, form.train_size],
                     api_name="switch_base",
                     preprocess=False)


def _safe_memory(studio, method, batch_size) -> str:
    try:
        return ht.memory_text(studio, method, batch_size)
    except (ValueError, OSError):
        return ""  # no estimate for a model whose shape is unknown; the form still works
