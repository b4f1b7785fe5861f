"""Compare tab's "ROUGE you can see": each summary's shared words highlighted, and copied vs new words.

    ui.reference = section_overlap.reference_box()        # where the dataset reference used to be shown
    section_overlap.build(ctx, ui.reference, ui.texts)     # below the four summaries

The views follow the summary boxes: whenever the summaries change they are marked
against the reference box (one reference per line) and the dialogue they were
written from; switching the highlight or editing the reference re-marks them.
"""
from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from studio.config.settings import ORIGINAL
from studio.model.methods import registry

from .context import QUIET, UiContext
from .errors import guarded
from .handlers import compare as hc
from .handlers.common import COLUMNS

INTRO = ("**ROUGE you can see.** With a reference summary, the words each summary shares with it are highlighted "
         "exactly as ROUGE counts them (same tokens and word stems, repeats clipped), so the share of highlighted "
         "words is the score's precision. The second view marks which words were copied from the dialogue and "
         "which are new: more new words means the model rephrases rather than copies.")


def reference_box() -> gr.Textbox:
    """The reference box and, under it, a note (shown once the sent dialogue is edited or replaced)."""
    box = gr.Textbox(label="Reference summary (optional, one per line): filled when you send a dialogue from "
                            "the Dataset tab, or type your own",
                      lines=2, max_lines=6, interactive=True, elem_classes=["reference-text"],
                      elem_id="compare-reference")
    # Says why a dataset reference was kept after an edit (it may no longer match) or removed.
    box.note = gr.Markdown("", elem_id="compare-reference-note", elem_classes=["reference-note"])
    return box


def build(ctx: UiContext, reference: gr.Textbox, summaries: list[gr.Textbox]) -> None:
    ui = _layout()
    _wire(ctx, ui, reference, summaries)


def _layout() -> SimpleNamespace:
    ui = SimpleNamespace(marks=[], scores=[], copied=[], novelty=[])
    with gr.Column(visible=False, elem_id="overlap-section") as ui.section:
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        ui.view = gr.Radio(hc.VIEW_CHOICES, value="unigram", label="Highlight the words shared with the reference",
                           elem_id="overlap-view", visible=False)
        with gr.Row(elem_classes=["summary-columns"]):
            for key in COLUMNS:
                title = "Original" if key == ORIGINAL else registry.label(key)
                with gr.Column(scale=1, min_width=220, elem_classes=["summary-col", "overlap-col"]):
                    ui.marks.append(gr.HighlightedText(label=f"{title}: shared with the reference",
                                                       color_map=hc.view_colors("unigram"), show_legend=True,
                                                       visible=False, elem_id=f"overlap-{key}",
                                                       elem_classes=["overlap-text"]))
                    ui.scores.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"overlap-score-{key}"))
                    ui.copied.append(gr.HighlightedText(label=f"{title}: copied from the dialogue or new",
                                                        color_map=hc.COPIED_COLORS, show_legend=True,
                                                        visible=False, elem_id=f"copied-{key}",
                                                        elem_classes=["overlap-text"]))
                    ui.novelty.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"novelty-{key}"))
    ui.source = gr.State("")  # the dialogue the summaries on screen were written from
    return ui


def _wire(ctx: UiContext, ui: SimpleNamespace, reference: gr.Textbox, summaries: list[gr.Textbox]) -> None:
    studio = ctx.studio
    outputs = [ui.section, ui.view, *ui.marks, *ui.scores, *ui.copied, *ui.novelty, ui.source]

    def show(texts, references, dialogue, view) -> dict:
        columns = hc.overlap_columns(studio, list(texts), references, dialogue, view)
        any_summary = any(isinstance(t, str) and t.strip() for t in texts)
        has_reference = any(c.spans is not None for c in columns)
        out = {ui.section: gr.Column(visible=any_summary), ui.view: gr.Radio(visible=has_reference),
               ui.source: dialogue}
        for column, marks, score, copied, novelty in zip(columns, ui.marks, ui.scores, ui.copied, ui.novelty):
            out[marks] = gr.HighlightedText(column.spans, color_map=hc.view_colors(view),
                                            visible=column.spans is not None)
            out[score] = column.score
            out[copied] = gr.HighlightedText(column.copied, visible=column.copied is not None)
            out[novelty] = column.novelty
        return out

    @guarded
    def on_summaries(*values):
        *texts, references, dialogue, view = values
        return show(texts, references, dialogue, view)

    @guarded
    def on_switch(*values):
        *texts, references, source, view = values
        return show(texts, references, source, view)

    gr.on([box.change for box in summaries], on_summaries, [*summaries, reference, ctx.dialogue, ui.view], outputs,
          trigger_mode="always_last", **QUIET)
    gr.on([reference.change, ui.view.change], on_switch, [*summaries, reference, ui.source, ui.view], outputs,
          trigger_mode="always_last", **QUIET)

    def follow_dialogue(dialogue, sent, current):
        value = hc.reference_after_dialogue_change(dialogue, sent, current)
        return {reference: gr.skip() if value is None else value,
                reference.note: hc.reference_note(dialogue, sent, current)}

    follows = [ctx.dialogue, ctx.sent_example, reference]
    ctx.sent_example.change(follow_dialogue, follows, [reference, reference.note], **QUIET)
    # .change, not .input: picking a sample dialogue must clear a dataset reference that no longer applies.
    ctx.dialogue.change(follow_dialogue, follows, [reference, reference.note], trigger_mode="always_last", **QUIET)
    # The person's own reference needs no warning: the note follows what they type.
    reference.input(hc.reference_note, follows, reference.note, trigger_mode="always_last", **QUIET)
