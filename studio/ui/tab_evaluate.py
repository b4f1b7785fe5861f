"""Evaluate tab: ROUGE and BLEU of chosen models on test dialogues, with intervals, gains and every output."""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.config.declare import spec
from studio.config.settings import EvaluationSettings, GenerationSettings
from studio.ui.plots import rouge_figure

from . import section_forgetting
from .context import GENERATE, GENERATE_WORKERS, QUIET, UiContext
from .errors import guarded
from .handlers import evaluate as he
from .handlers.choices import default_models, evaluate_selection, model_choices
from .turns import takes_turn
from .widgets import number, refreshed_choices, widget_args

DEFAULT_COUNT = 20


@dataclass
class EvaluateWidgets:
    models: gr.CheckboxGroup     # "original" and run ids; `refs` in the API
    count: gr.Slider             # test dialogues scored
    max_tokens: gr.Number
    run: gr.Button
    summary: gr.Markdown
    plot: gr.Plot                # ROUGE and BLEU with intervals
    gains: gr.Dataframe
    topic_box: gr.Accordion      # hidden until an evaluation has topic groups
    per_topic: gr.Dataframe
    per_example: gr.Dataframe
    download: gr.DownloadButton  # every output as CSV
    known: gr.State              # run ids already offered: a run new since then is ticked if it is a default


def build(ctx: UiContext, tab: gr.Tab) -> None:
    ui = _layout(ctx)
    _wire_run(ctx, ui)
    _wire_refresh(ctx, ui, tab)


def _layout(ctx: UiContext) -> EvaluateWidgets:
    studio = ctx.studio
    test_size = min(len(studio.data.split("test")), spec(EvaluationSettings, "limit").high)
    gr.Markdown("Summarize the first test dialogues with each model and score them with ROUGE and BLEU against "
                "the human references. Bars show 95% bootstrap intervals: with few dialogues they are wide, so "
                "small differences mean little.", elem_classes=["tab-intro"])
    with gr.Row():
        models = gr.CheckboxGroup(model_choices(studio), value=default_models(studio), label="Models", scale=3)
        with gr.Column(scale=2, min_width=300):
            count = gr.Slider(value=min(DEFAULT_COUNT, test_size), step=1,
                              **{**widget_args(EvaluationSettings, "limit"), "maximum": max(1, test_size),
                                 "info": f"the test split has {test_size:,}"})
            max_tokens = number(GenerationSettings, "max_new_tokens")
            run = gr.Button("Run evaluation", variant="primary", size="lg")
    summary = gr.Markdown()
    plot = gr.Plot(rouge_figure({}, {}), show_label=False, elem_id="rouge-plot")
    # Tables stay hidden until there is something to show: an empty Dataframe shows bare "1 2 3" headers.
    gains = gr.Dataframe(label="Scores and gain over the original (ROUGE and BLEU points ×100, [95% interval])",
                         interactive=False, wrap=True, visible=False)
    with gr.Accordion("ROUGE-L per topic group", open=False, visible=False, elem_id="topic-groups") as topic_box:
        gr.Markdown("DialogSum's topics are folded into a few named groups by keyword (see docs/insight.md). "
                    "Grey rows have fewer than 10 dialogues: too few to say anything.")
        per_topic = gr.Dataframe(interactive=False, wrap=True, show_label=False)
    per_example = gr.Dataframe(label="Every dialogue: reference, each model's summary and its ROUGE-L",
                               interactive=False, wrap=True, max_height=480, visible=False)
    download = gr.DownloadButton("Download all outputs (CSV)", visible=False)
    section_forgetting.build(ctx, models)  # the probe on the same ticked models
    return EvaluateWidgets(models=models, count=count, max_tokens=max_tokens, run=run, summary=summary, plot=plot,
                           gains=gains, topic_box=topic_box, per_topic=per_topic, per_example=per_example,
                           download=download, known=gr.State([]))


def _wire_run(ctx: UiContext, ui: EvaluateWidgets) -> None:
    # `refs` is the API's parameter name for the chosen model ids; scripts already send it.
    @guarded
    @takes_turn(ctx.studio)
    def run(refs, n, max_new_tokens, progress=gr.Progress()):
        progress((0, None), desc="Loading models")
        view = he.run_evaluation(ctx.studio, refs, n, max_new_tokens, ctx.scratch,
                                 progress=lambda done, total: progress((done, total), desc="Summarizing",
                                                                       unit="summaries"))
        return {ui.summary: view.summary, ui.plot: view.figure,
                ui.gains: gr.Dataframe(he.one_decimal(view.gains), visible=True),
                ui.per_topic: he.styled(view.per_topic, view.per_topic_too_few),
                ui.topic_box: gr.Accordion(visible=len(view.per_topic) > 0),
                ui.per_example: gr.Dataframe(he.one_decimal(view.per_example), visible=True,
                                             column_widths=_widths(view.per_example)),
                ui.download: gr.DownloadButton(value=str(view.csv_path), visible=True)}

    ui.run.click(run, [ui.models, ui.count, ui.max_tokens],
                 [ui.summary, ui.plot, ui.gains, ui.per_topic, ui.topic_box, ui.per_example, ui.download],
                 api_name="evaluate", concurrency_id=GENERATE, concurrency_limit=GENERATE_WORKERS,
                 preprocess=False)  # checked by the handler against the runs on disk now


def _wire_refresh(ctx: UiContext, ui: EvaluateWidgets, tab: gr.Tab) -> None:
    def refresh(owner, current, seen):
        """Runs changed: offer them all, keep the ticks, tick only the person's own new newest runs."""
        choices, ticked, valid = evaluate_selection(ctx.studio, owner, current, seen)
        return {ui.models: refreshed_choices(gr.CheckboxGroup, choices, current, ticked), ui.known: valid}

    def start(owner):
        """A new page (or its token just restored): Original and the person's own newest runs."""
        choices = model_choices(ctx.studio, owner)
        return {ui.models: gr.CheckboxGroup(choices=choices, value=default_models(ctx.studio, owner)),
                ui.known: [value for _, value in choices]}

    inputs, outputs = [ctx.owner, ui.models, ui.known], [ui.models, ui.known]
    # Raw values, as in tab_compare: ticks the page held before its latest choices arrived are
    # filtered by the handler, never refused by Gradio with a red toast.
    ctx.runs_version.change(refresh, inputs, outputs, preprocess=False, **QUIET)
    tab.select(refresh, inputs, outputs, preprocess=False, **QUIET)
    ctx.demo.load(start, ctx.owner, outputs, **QUIET)
    ctx.owner.change(start, ctx.owner, outputs, **QUIET)


def _widths(table) -> list[str]:
    """Room for text columns, narrow score columns: otherwise long headers wrap into a tall header row."""
    fixed = {"id": "130px", "topic": "130px", "references": "320px"}
    return [fixed.get(c, "100px" if c.endswith("ROUGE-L") else "280px") for c in table.columns]
