"""Compare tab's "Can ROUGE be fooled?": a summary beside its words shuffled, a word repeated, the dialogue copied.

    section_fool.build(ctx, reference.text, texts)   # below the overlap section, in tab_compare

Like section_overlap it follows the summary boxes: whenever the summaries change, the
chosen one is scored against the reference box with the dialogue it was written from;
choosing another summary or editing the reference scores it again. Nothing here
changes shared state: it only scores texts already on the page.
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.measure.fooling import CASES, LABELS

from .context import QUIET, UiContext
from .errors import guarded
from .handlers.compare import FOOL_CHOICES, fool_view, summaries_source

INTRO = ("**Can ROUGE be fooled?** The lecture warns that a bad summary can get a good score. Here is the proof on "
         "this summary: the same words in a random order, the reference's most frequent word over and over, and "
         "the whole dialogue handed in as a summary, each scored with ROUGE and BLEU against the same reference.")


@dataclass
class FoolWidgets:
    """The section: which summary to fool, then a column per case (the summary and its three foils)."""
    section: gr.Accordion          # hidden until there is a summary
    which: gr.Radio                # the summary column to fool
    note: gr.Markdown              # which summary and reference were used, or why nothing is shown
    texts: list[gr.Textbox]
    scores: list[gr.Markdown]
    whys: list[gr.Markdown]
    source: gr.State               # {"texts": the summaries on screen, "dialogue": the one they were written from}

    def outputs(self) -> list:
        return [self.section, self.note, *self.texts, *self.scores, *self.whys, self.source]


def build(ctx: UiContext, reference: gr.Textbox, summaries: list[gr.Textbox]) -> None:
    ui = _layout()
    _wire(ctx, ui, reference, summaries)


def _layout() -> FoolWidgets:
    texts, scores, whys = [], [], []
    with gr.Accordion("Can ROUGE be fooled?", open=True, visible=False, elem_id="fool-section") as section:
        gr.Markdown(INTRO, elem_classes=["tab-intro"])
        which = gr.Radio(FOOL_CHOICES, value=FOOL_CHOICES[0][1], label="Summary to fool", elem_id="fool-which")
        note = gr.Markdown(elem_id="fool-note")
        with gr.Row(elem_classes=["summary-columns"]):
            for case in CASES:
                with gr.Column(scale=1, min_width=220, elem_classes=["summary-col", "fool-col"]):
                    texts.append(gr.Textbox(label=LABELS[case], lines=5, max_lines=5, interactive=False,
                                            elem_id=f"fool-text-{case}", elem_classes=["summary-text"]))
                    scores.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"fool-scores-{case}"))
                    whys.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"fool-why-{case}"))
    source = gr.State({})
    return FoolWidgets(section=section, which=which, note=note, texts=texts, scores=scores, whys=whys,
                       source=source)


def _wire(ctx: UiContext, ui: FoolWidgets, reference: gr.Textbox, summaries: list[gr.Textbox]) -> None:
    outputs = ui.outputs()

    @guarded
    def show(*values) -> dict:
        *texts, references, dialogue, seen, which = values
        source = summaries_source(texts, dialogue, seen)
        view = fool_view(list(texts), references, source["dialogue"], which)
        out = {ui.section: gr.Accordion(visible=view.visible), ui.note: view.note, ui.source: source}
        for column, box, scores, why in zip(view.columns, ui.texts, ui.scores, ui.whys):
            out[box], out[scores], out[why] = column.text, column.scores, column.why
        return out

    # One event for every trigger, as the ROUGE marks have (section_overlap.py says why).
    gr.on([*(box.change for box in summaries), reference.change, ui.which.change], show,
          [*summaries, reference, ctx.dialogue, ui.source, ui.which], outputs, trigger_mode="always_last", **QUIET)
