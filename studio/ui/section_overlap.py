"""Compare tab's "ROUGE you can see": each summary's shared words highlighted, and copied vs new words.

    reference = section_overlap.reference_box()        # beside the run pickers, in tab_compare
    section_overlap.build(ctx, reference, texts)        # below the four summary boxes

The views follow the summary boxes: whenever the summaries change they are marked
against the reference box (one reference per line) and the dialogue they were
written from; switching the highlight or editing the reference re-marks them.
"""
from __future__ import annotations

from dataclasses import dataclass

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


@dataclass
class ReferenceBox:
    """The reference box (one reference summary per line) and the note under it."""
    text: gr.Textbox
    note: gr.Markdown    # says why a dataset reference was kept after an edit (it may no longer match) or removed


@dataclass
class OverlapWidgets:
    """The overlap section: per summary column, its ROUGE marks and score, its copied/new words and their share."""
    section: gr.Column             # hidden until there is a summary
    view: gr.Radio                 # which ROUGE to highlight; shown once there is a reference
    marks: list[gr.HighlightedText]
    scores: list[gr.Markdown]
    copied: list[gr.HighlightedText]
    novelty: list[gr.Markdown]
    source: gr.State               # {"texts": the summaries on screen, "dialogue": the one they were written from}

    def outputs(self) -> list:
        return [self.section, self.view, *self.marks, *self.scores, *self.copied, *self.novelty, self.source]


def reference_box() -> ReferenceBox:
    """The reference box and, under it, a note (shown once the sent dialogue is edited or replaced)."""
    box = gr.Textbox(label="Reference summary (optional, one per line): filled when you send a dialogue from "
                            "the Dataset tab, or type your own",
                      lines=2, max_lines=6, interactive=True, elem_classes=["reference-text"],
                      elem_id="compare-reference")
    note = gr.Markdown("", elem_id="compare-reference-note", elem_classes=["reference-note"])
    return ReferenceBox(box, note)


def build(ctx: UiContext, reference: ReferenceBox, summaries: list[gr.Textbox]) -> None:
    ui = _layout()
    _wire(ctx, ui, reference, summaries)


def _layout() -> OverlapWidgets:
    marks, scores, copied, novelty = [], [], [], []
    with gr.Column(visible=False, elem_id="overlap-section") as section:
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        view = gr.Radio(hc.VIEW_CHOICES, value="unigram", label="Highlight the words shared with the reference",
                           elem_id="overlap-view", visible=False)
        with gr.Row(elem_classes=["summary-columns"]):
            for key in COLUMNS:
                title = "Original" if key == ORIGINAL else registry.label(key)
                with gr.Column(scale=1, min_width=220, elem_classes=["summary-col", "overlap-col"]):
                    marks.append(gr.HighlightedText(label=f"{title}: shared with the reference",
                                                    color_map=hc.view_colors("unigram"), show_legend=True,
                                                    visible=False, elem_id=f"overlap-{key}",
                                                    elem_classes=["overlap-text"]))
                    scores.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"overlap-score-{key}"))
                    copied.append(gr.HighlightedText(label=f"{title}: copied from the dialogue or new",
                                                     color_map=hc.COPIED_COLORS, show_legend=True,
                                                     visible=False, elem_id=f"copied-{key}",
                                                     elem_classes=["overlap-text"]))
                    novelty.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"novelty-{key}"))
    source = gr.State({})
    return OverlapWidgets(section=section, view=view, marks=marks, scores=scores, copied=copied, novelty=novelty,
                          source=source)


def _wire(ctx: UiContext, ui: OverlapWidgets, reference: ReferenceBox, summaries: list[gr.Textbox]) -> None:
    studio = ctx.studio
    outputs = ui.outputs()

    @guarded
    def show(*values) -> dict:
        *texts, references, dialogue, seen, view = values
        source = hc.summaries_source(texts, dialogue, seen)
        columns = hc.overlap_columns(studio, list(texts), references, source["dialogue"], view)
        any_summary = any(isinstance(t, str) and t.strip() for t in texts)
        has_reference = any(c.spans is not None for c in columns)
        out = {ui.section: gr.Column(visible=any_summary), ui.view: gr.Radio(visible=has_reference),
               ui.source: source}
        for column, marks, score, copied, novelty in zip(columns, ui.marks, ui.scores, ui.copied, ui.novelty):
            out[marks] = gr.HighlightedText(column.spans, color_map=hc.view_colors(view),
                                            visible=column.spans is not None)
            out[score] = column.score
            out[copied] = gr.HighlightedText(column.copied, visible=column.copied is not None)
            out[novelty] = column.novelty
        return out

    # One event for every trigger: two events writing these outputs could finish out of order, and the
    # marks of a reference the person had already replaced would then stay on screen (seen in a browser
    # test under load). always_last runs it once more, with the latest values, after a run in flight.
    box = reference.text
    gr.on([*(summary.change for summary in summaries), box.change, ui.view.change], show,
          [*summaries, box, ctx.dialogue, ui.source, ui.view], outputs, trigger_mode="always_last", **QUIET)

    def follow_dialogue(dialogue, sent, current):
        value = hc.reference_after_dialogue_change(dialogue, sent, current)
        return {box: gr.skip() if value is None else value,
                reference.note: hc.reference_note(dialogue, sent, current)}

    follows = [ctx.dialogue, ctx.sent_example, box]
    ctx.sent_example.change(follow_dialogue, follows, [box, reference.note], **QUIET)
    # .change, not .input: picking a sample dialogue must clear a dataset reference that no longer applies.
    ctx.dialogue.change(follow_dialogue, follows, [box, reference.note], trigger_mode="always_last", **QUIET)
    # The person's own reference needs no warning: the note follows what they type.
    box.input(hc.reference_note, follows, reference.note, trigger_mode="always_last", **QUIET)
