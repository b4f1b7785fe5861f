"""Evaluate tab's "What each method forgot": the forgetting probe on the models ticked above.

    section_forgetting.build(ctx, ui.models)     # inside the Evaluate tab, after the ROUGE results
"""
from __future__ import annotations

import gradio as gr

from studio.ui.plots import forgetting_figure

from .context import GENERATE, GENERATE_WORKERS, UiContext
from .errors import guarded
from .handlers import evaluate as he
from .turns import takes_turn

INTRO = ("**What each method forgot.** Before DialogSum, FLAN-T5 could translate, answer yes/no questions, do small "
         "sums, judge sentiment and recall facts. This asks the ticked models short questions from those tasks "
         "and shows what each kept and lost next to its DialogSum score. LoRA changes far fewer weights and is "
         "expected to forget less; check it on your own runs.")


def build(ctx: UiContext, models: gr.CheckboxGroup) -> None:
    with gr.Column(elem_id="forgetting-section"):
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        probe = gr.Button("Run the forgetting probe", elem_id="forgetting-run")
        summary = gr.Markdown(elem_id="forgetting-summary")
        plot = gr.Plot(forgetting_figure({}, {}), show_label=False, elem_id="forgetting-plot")
        table = gr.Dataframe(interactive=False, wrap=True, visible=False, show_label=False, elem_id="forgetting-table")

    @guarded
    @takes_turn(ctx.studio)
    def run(model_ids, progress=gr.Progress()):  # noqa: B008 (how Gradio asks for a progress bar)
        progress((0, None), desc="Loading models")
        view = he.forgetting_view(ctx.studio, model_ids,
                                  progress=lambda done, total: progress((done, total), desc="Answering",
                                                                        unit="answers"))
        widths = ["220px", "100px"] + ["170px"] * (len(view.table.columns) - 2)  # model names wrap, numbers don't
        return {summary: view.summary, plot: view.figure,
                table: gr.Dataframe(view.table, visible=True, column_widths=widths)}

    probe.click(run, models, [summary, plot, table], api_name="forgetting", concurrency_id=GENERATE,
                concurrency_limit=GENERATE_WORKERS, preprocess=False)
