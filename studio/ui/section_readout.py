"""Runs tab's "What prompt tuning learned": a prompt-tuning run's virtual tokens read as their nearest words.

    section_readout.build(ctx, tab)     # inside the Runs tab
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.measure.prompt_readout import MAX_TOP_K

from .context import GENERATE, GENERATE_WORKERS, UiContext
from .errors import guarded
from .handlers import runs as hr
from .turns import takes_turn
from .widgets import follow_runs

INTRO = ("A tuned prompt is a few learned vectors placed before every dialogue, not words. For each one, the table "
         "lists the vocabulary tokens whose vectors point the most similar way (cosine similarity, 1 = same "
         "direction). A prompt started from an instruction and barely trained reads back that instruction.")


@dataclass
class ReadoutWidgets:
    run: gr.Dropdown       # a prompt-tuning run
    top_k: gr.Number       # nearest tokens listed per virtual token
    read: gr.Button
    table: gr.Dataframe    # hidden until a prompt is read


def build(ctx: UiContext, tab: gr.Tab) -> None:
    ui = _layout(ctx)
    _wire(ctx, ui, tab)


def _layout(ctx: UiContext) -> ReadoutWidgets:
    with gr.Accordion("What prompt tuning learned", open=True, elem_id="readout-section"):
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        with gr.Row(equal_height=True):
            choices = hr.prompt_run_choices(ctx.studio)
            run = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Prompt-tuning run",
                              scale=3, elem_id="readout-run")
            top_k = gr.Number(hr.DEFAULT_TOP_K, label="Nearest tokens", minimum=1, maximum=MAX_TOP_K, precision=0,
                              scale=1, min_width=120)
            read = gr.Button("Read the prompt", variant="primary", scale=1, min_width=160)
        gr.Markdown(hr.CAVEAT_LINE, elem_id="readout-caveat")
        table = gr.Dataframe(interactive=False, wrap=True, max_height=520, visible=False, show_label=False,
                             elem_id="readout-table")
    return ReadoutWidgets(run=run, top_k=top_k, read=read, table=table)


def _wire(ctx: UiContext, ui: ReadoutWidgets, tab: gr.Tab) -> None:
    @guarded
    @takes_turn(ctx.studio)
    def read(run_id, top_k):
        return {ui.table: gr.Dataframe(hr.readout_table(ctx.studio, run_id, top_k), visible=True)}

    # The base model may need loading: queue it with the other model work.
    ui.read.click(read, [ui.run, ui.top_k], ui.table, api_name="prompt_tokens", concurrency_id=GENERATE,
                  concurrency_limit=GENERATE_WORKERS, preprocess=False)

    follow_runs(ctx, tab, ui.run, hr.prompt_run_choices)
