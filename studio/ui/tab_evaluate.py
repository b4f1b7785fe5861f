"""Evaluate tab: ROUGE of chosen models on test dialogues, with intervals, gains and every output."""
from __future__ import annotations

import gradio as gr

from ..config import MAX_EVAL_EXAMPLES, MAX_NEW_TOKENS
from ..inference import GenerationSettings
from ..plots import rouge_figure
from . import handlers as h
from .app import GENERATE, GENERATE_WORKERS, UiContext, guarded
from .turns import takes_turn

DEFAULT_COUNT = 20


def build(ctx: UiContext, tab: gr.Tab) -> None:
    studio = ctx.studio
    test_size = min(len(studio.data.split("test")), MAX_EVAL_EXAMPLES)
    gr.Markdown("Summarize the first test dialogues with each model and score them with ROUGE against the "
                "human references. Bars show 95% bootstrap intervals: with few dialogues they are wide, so "
                "small differences mean little.", elem_classes=["tab-intro"])
    with gr.Row():
        models = gr.CheckboxGroup(h.model_choices(studio), value=h.default_models(studio), label="Models",
                                  scale=3)
        with gr.Column(scale=2, min_width=300):
            count = gr.Slider(1, max(1, test_size), value=min(DEFAULT_COUNT, test_size), step=1,
                              label="Test dialogues", info=f"the test split has {test_size:,}")
            max_tokens = gr.Number(GenerationSettings().max_new_tokens, label="Max new tokens", precision=0,
                                   minimum=1, maximum=MAX_NEW_TOKENS)
            run_btn = gr.Button("Run evaluation", variant="primary", size="lg")
    summary = gr.Markdown()
    plot = gr.Plot(rouge_figure({}, {}), show_label=False, elem_id="rouge-plot")
    # Tables stay hidden until there is something to show: an empty Dataframe shows bare "1 2 3" headers.
    gains = gr.Dataframe(label="Scores and gain over the original (ROUGE points ×100, [95% interval])",
                         interactive=False, wrap=True, visible=False)
    with gr.Accordion("ROUGE-L per topic", open=False, visible=False) as topic_box:
        per_topic = gr.Dataframe(interactive=False, wrap=True, show_label=False)
    per_example = gr.Dataframe(label="Every dialogue: reference, each model's summary and its ROUGE-L",
                               interactive=False, wrap=True, max_height=480, visible=False)
    download = gr.DownloadButton("Download all outputs (CSV)", visible=False)

    @guarded(7)
    @takes_turn(studio)
    def run(refs, n, max_new_tokens, progress=gr.Progress()):
        progress((0, None), desc="Loading models")
        view = h.run_evaluation(studio, refs, n, max_new_tokens, ctx.scratch,
                                progress=lambda done, total: progress((done, total), desc="Summarizing",
                                                                      unit="summaries"))
        return (view.summary, view.figure, gr.Dataframe(view.gains, visible=True), view.per_topic,
                gr.Accordion(visible=len(view.per_topic) > 0), gr.Dataframe(view.per_example, visible=True, column_widths=_widths(view.per_example)),
                gr.DownloadButton(value=str(view.csv_path), visible=True))

    run_btn.click(run, [models, count, max_tokens],
                  [summary, plot, gains, per_topic, topic_box, per_example, download],
                  api_name="evaluate", concurrency_id=GENERATE, concurrency_limit=GENERATE_WORKERS,
                  preprocess=False)  # checked by the handler against the runs on disk now

    known = gr.State([])  # run ids already offered: a run new since then is ticked if it is a default

    def refresh(current, seen):
        choices = h.model_choices(studio)
        valid = [value for _, value in choices]
        kept = [ref for ref in (current or []) if ref in valid]
        fresh = [ref for ref in h.default_models(studio) if ref not in (seen or []) and ref not in kept]
        return gr.CheckboxGroup(choices=choices, value=kept + fresh), valid

    quiet = dict(api_visibility="private", show_progress="hidden")
    ctx.runs_version.change(refresh, [models, known], [models, known], **quiet)
    tab.select(refresh, [models, known], [models, known], **quiet)
    ctx.demo.load(lambda: refresh([], []), None, [models, known], **quiet)  # a new page starts from the defaults


def _widths(table) -> list[str]:
    """Room for text columns, narrow score columns: otherwise long headers wrap into a tall header row."""
    fixed = {"id": "130px", "topic": "130px", "reference": "320px"}
    return [fixed.get(c, "100px" if c.endswith("ROUGE-L") else "280px") for c in table.columns]
