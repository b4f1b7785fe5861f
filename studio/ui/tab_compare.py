"""Compare tab: one dialogue, four summaries side by side (Original, Full fine-tuning, LoRA, Prompt tuning).

Summaries are shown in read-only textboxes, never as HTML: model output is text.
When the dialogue came from the Dataset tab unchanged, its reference is shown and
each summary gets its ROUGE-L against it.
"""
from __future__ import annotations

import gradio as gr

from ..config import METHOD_LABELS, METHODS, MAX_NEW_TOKENS
from ..inference import GenerationSettings
from . import handlers as h
from .app import GENERATE, GENERATE_WORKERS, UiContext, guarded
from .turns import takes_turn


def build(ctx: UiContext, tab: gr.Tab) -> None:
    studio = ctx.studio
    defaults = GenerationSettings()
    with gr.Row():
        with gr.Column(scale=3):
            ctx.dialogue.render()
            examples = h.example_dialogues(studio.data)
            if examples:
                gr.Examples([[text] for _, text in examples], inputs=[ctx.dialogue],
                            example_labels=[label for label, _ in examples], label="Sample dialogues")
        with gr.Column(scale=2, min_width=300):
            pickers = {}
            for method in METHODS:
                choices = h.run_choices(studio, method)
                pickers[method] = gr.Dropdown(choices, value=h.keep_or_newest(choices, None),
                                              label=f"{METHOD_LABELS[method]} run")
            with gr.Row():
                max_tokens = gr.Number(defaults.max_new_tokens, label="Max new tokens", precision=0, minimum=1,
                                       maximum=MAX_NEW_TOKENS)
                beams = gr.Number(defaults.num_beams, label="Beams", precision=0, minimum=1, maximum=8,
                                  info="1 = greedy, fastest")
            summarize = gr.Button("Summarize", variant="primary", size="lg")
    reference = gr.Textbox(label="Reference summary from the dataset (ROUGE-L below is measured against it)",
                           visible=False, interactive=False, lines=2, elem_classes=["reference-text"])
    texts, infos = [], []
    with gr.Row(elem_classes=["summary-columns"]):  # fixed-height boxes keep the columns level
        for key in h.COLUMNS:
            title = "Original" if key == "original" else METHOD_LABELS[key]
            with gr.Column(scale=1, min_width=220, elem_classes=["summary-col", f"col-{key}"]):
                # A fixed height keeps the four columns level; longer text scrolls.
                texts.append(gr.Textbox(label=title, lines=7, max_lines=7, interactive=False,
                                        elem_classes=["summary-text"], buttons=["copy"],
                                        elem_id=f"summary-{key}"))
                infos.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"info-{key}"))

    picker_list = [pickers[m] for m in METHODS]

    @guarded(9)
    @takes_turn(studio)
    def run(dialogue, full_run, lora_run, prompt_run, max_new_tokens, num_beams, sent):
        gen = h.generation_settings(max_new_tokens, num_beams)
        refs = h.references_for(dialogue, sent)
        columns = h.compare(studio, dialogue, {"full": full_run, "lora": lora_run, "prompt": prompt_run},
                            gen, refs)
        return (*[c.text for c in columns], *[c.info for c in columns], _reference_update(refs))

    summarize.click(run, [ctx.dialogue, *picker_list, max_tokens, beams, ctx.sent_example],
                    [*texts, *infos, reference], api_name="summarize", concurrency_id=GENERATE,
                    concurrency_limit=GENERATE_WORKERS,
                    # The handlers check raw values against the runs on disk now: the dropdowns'
                    # choices are fixed when a session starts, and scripts never refresh them.
                    preprocess=False)

    def show_reference(dialogue, sent):
        return _reference_update(h.references_for(dialogue, sent))

    ctx.sent_example.change(show_reference, [ctx.dialogue, ctx.sent_example], reference,
                            api_visibility="private", show_progress="hidden")
    # .change, not .input: picking a sample dialogue must hide a reference that no longer applies.
    ctx.dialogue.change(show_reference, [ctx.dialogue, ctx.sent_example], reference, api_visibility="private",
                        show_progress="hidden", trigger_mode="always_last")

    def picks_now(current) -> dict[str, tuple[list, str]]:
        """Per method: fresh choices, and the current pick if still there, else the newest run."""
        out = {}
        for method, value in zip(METHODS, current):
            choices = h.run_choices(studio, method)
            out[method] = (choices, h.keep_or_newest(choices, value))
        return out

    def refresh(*current):
        return tuple(gr.Dropdown(choices=c, value=v) for c, v in picks_now(current).values())

    def refresh_with_notes(*current):
        picks = picks_now(current)
        notes = h.column_notes(studio, {m: v for m, (_, v) in picks.items()})
        return (*[gr.Dropdown(choices=c, value=v) for c, v in picks.values()], *notes)

    quiet = dict(api_visibility="private", show_progress="hidden")
    ctx.runs_version.change(refresh, picker_list, picker_list, **quiet)
    tab.select(refresh, picker_list, picker_list, **quiet)
    # A new page starts from the newest runs, whatever was newest when the app was built.
    ctx.demo.load(lambda: refresh_with_notes(*[None] * len(METHODS)), None, [*picker_list, *infos], **quiet)


def _reference_update(refs: list[str] | None):
    if not refs:
        return gr.Textbox(visible=False)
    text = refs[0] if len(refs) == 1 else "\n".join(f"{i}. {r}" for i, r in enumerate(refs, 1))
    return gr.Textbox(value=text, visible=True)
