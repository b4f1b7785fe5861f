"""Train tab, "Copy as command": the `python -m studio train ...` line for the current form, and its torchrun form.

    section_command.build(form)      # in the Train tab's form column; `form` is section_train_form's widgets
"""
from __future__ import annotations

import gradio as gr

from .context import QUIET
from .errors import guarded
from .handlers.train import TrainForm, command_text
from .section_train_form import TrainFormWidgets


def build(form: TrainFormWidgets) -> None:
    with gr.Accordion("Copy as command", open=False, elem_id="train-command-section"):
        gr.Markdown("The same training from a terminal, e.g. on a bigger machine: run it in a clone of this "
                    "studio. The copy button is at the top right of the box.")
        show = gr.Button("Show the command", size="sm", elem_id="train-command-show")
        code = gr.Code(language="shell", interactive=False, show_label=False, elem_id="train-command")

    @guarded
    def as_command(**values):
        return {code: command_text(TrainForm(**values))}

    show.click(as_command, outputs=[code], inputs_kwargs=form.widgets(), preprocess=False, **QUIET)
