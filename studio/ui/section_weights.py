"""Runs tab's "Where each method changed the model": a layers x matrices map of a run's change, and one update's
singular values.

    section_weights.build(ctx, tab)     # inside the Runs tab, below "What prompt tuning learned"

"Show" reads the base's and the run's weights (the Studio's weight_change); picking another
matrix recomputes only its singular values, for the run whose map is on screen.
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from .context import GENERATE, GENERATE_WORKERS, UiContext
from .errors import guarded
from .handlers import runs as hr
from .turns import takes_turn
from .widgets import follow_runs

INTRO = ("How far did training move each weight matrix? Each cell is the size of the change to one matrix of one "
         "layer, as a share of the matrix's own size (||W_tuned − W_base|| / ||W_base||). Full fine-tuning moves "
         "every matrix a little; LoRA adds a low-rank update B A to its target modules only; prompt tuning "
         "changes no weight at all. Below the map, the singular values of one matrix's update count the "
         "directions it changed: LoRA's stop at its rank r.")


@dataclass
class WeightWidgets:
    run: gr.Dropdown
    show: gr.Button
    note: gr.Markdown
    map: gr.Plot              # layers x matrices, hidden for a run that changes no weight
    values_box: gr.Column     # the matrix pick and its singular values
    matrix: gr.Dropdown
    values_note: gr.Markdown
    values: gr.Plot
    shown: gr.State           # the run whose map is on screen: a new matrix pick belongs to it


def build(ctx: UiContext, tab: gr.Tab) -> None:
    ui = _layout(ctx)
    _wire(ctx, ui, tab)


def _layout(ctx: UiContext) -> WeightWidgets:
    with gr.Accordion("Where each method changed the model", open=False, elem_id="weights-section"):
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        with gr.Row(equal_height=True):
            choices = hr.weight_run_choices(ctx.studio)
            run = gr.Dropdown(choices, value=choices[0][1] if choices else None, label="Run", scale=3,
                              elem_id="weights-run")
            show = gr.Button("Show the change", variant="primary", scale=1, min_width=160)
        note = gr.Markdown(elem_id="weights-note")
        map_plot = gr.Plot(show_label=False, visible=False, elem_id="weights-map")
        with gr.Column(visible=False) as values_box:
            matrix = gr.Dropdown([], label="Weight matrix (its change in brackets)", elem_id="weights-matrix")
            values_note = gr.Markdown(elem_id="weights-values-note")
            values = gr.Plot(show_label=False, elem_id="weights-values")
    return WeightWidgets(run=run, show=show, note=note, map=map_plot, values_box=values_box, matrix=matrix,
                         values_note=values_note, values=values, shown=gr.State(None))


def _wire(ctx: UiContext, ui: WeightWidgets, tab: gr.Tab) -> None:
    @guarded
    @takes_turn(ctx.studio)
    def show(run_id):
        view = hr.weight_change_view(ctx.studio, run_id)
        return {ui.note: view.note, ui.map: gr.Plot(view.map_figure, visible=view.changes_weights),
                ui.values_box: gr.Column(visible=view.changes_weights),
                ui.matrix: gr.Dropdown(choices=view.matrix_choices, value=view.matrix),
                ui.values: view.values_figure, ui.values_note: view.values_note, ui.shown: run_id}

    # Reading two models' weights is model work: queued with summaries and evaluations.
    ui.show.click(show, ui.run, [ui.note, ui.map, ui.values_box, ui.matrix, ui.values, ui.values_note, ui.shown],
                  api_name="weight_change", concurrency_id=GENERATE, concurrency_limit=GENERATE_WORKERS,
                  preprocess=False)

    @guarded
    @takes_turn(ctx.studio)
    def pick(run_id, matrix):
        figure, note = hr.singular_values_view(ctx.studio, run_id, matrix)
        return {ui.values: figure, ui.values_note: note}

    # .input, not .change: filling the dropdown after "Show" must not compute the same values twice.
    ui.matrix.input(pick, [ui.shown, ui.matrix], [ui.values, ui.values_note], api_name="weight_singular_values",
                    concurrency_id=GENERATE, concurrency_limit=GENERATE_WORKERS, preprocess=False)

    follow_runs(ctx, tab, ui.run, hr.weight_run_choices)
