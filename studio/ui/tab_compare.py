"""Compare tab: one dialogue, its summaries side by side: the original's, then a run of each method's.

Summaries are shown in read-only textboxes, never as HTML: model output is text.
When the dialogue came from the Dataset tab unchanged, its references fill the
reference box and each summary gets its ROUGE-L against them; section_overlap
marks the words behind the scores.
"""
from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from studio.config.settings import ORIGINAL, GenerationSettings
from studio.model.methods import registry

from . import section_fool, section_overlap
from .context import GENERATE, GENERATE_WORKERS, QUIET, UiContext
from .errors import guarded
from .handlers import compare as hc
from .handlers.choices import compare_picks, keep_or_newest, run_choices
from .handlers.common import COLUMNS
from .section_overlap import ReferenceBox
from .turns import takes_turn
from .widgets import number, positional_names, refreshed_choices


@dataclass
class CompareTabWidgets:
    """The Compare tab: a run picker per method, the generation settings, and a column per model."""
    reference: ReferenceBox          # the reference summaries the columns are scored against
    pickers: dict[str, gr.Dropdown]  # method -> its run dropdown, in registry order
    max_tokens: gr.Number
    beams: gr.Number
    summarize: gr.Button
    texts: list[gr.Textbox]          # one summary per column (COLUMNS: the original, then each method)
    infos: list[gr.Markdown]         # under each: which run, its time and ROUGE-L, or how to get a run

    def picker_list(self) -> list[gr.Dropdown]:
        return [self.pickers[m] for m in registry.NAMES]


def build(ctx: UiContext, tab: gr.Tab) -> None:
    ui = _layout(ctx)
    _wire_summarize(ctx, ui)
    _wire_refresh(ctx, ui, tab)


def _layout(ctx: UiContext) -> CompareTabWidgets:
    studio, pickers = ctx.studio, {}
    with gr.Row():
        with gr.Column(scale=3):
            ctx.dialogue.render()
            examples = hc.example_dialogues(studio.data)
            if examples:
                gr.Examples([[text] for _, text in examples], inputs=[ctx.dialogue],
                            example_labels=[label for label, _ in examples], label="Sample dialogues")
            # Beside the run pickers, not under them: the summaries then start higher.
            reference = section_overlap.reference_box()
        with gr.Column(scale=2, min_width=300):
            # Two pickers a row (one on a phone): a method more adds half a row, and the summaries stay above a
            # projector's fold.
            for first in range(0, len(registry.NAMES), 2):
                with gr.Row(equal_height=True, elem_classes=["picker-row"]):
                    for method in registry.NAMES[first:first + 2]:
                        choices = run_choices(studio, method)
                        pickers[method] = gr.Dropdown(choices, value=keep_or_newest(choices, None),
                                                      label=f"{registry.label(method)} run", min_width=160)
            with gr.Row():
                max_tokens = number(GenerationSettings, "max_new_tokens")
                beams = number(GenerationSettings, "num_beams")
            summarize = gr.Button("Summarize", variant="primary", size="lg")
    texts, infos = [], []
    with gr.Row(elem_classes=["summary-columns"]):  # fixed-height boxes keep the columns level
        for key in COLUMNS:
            title = "Original" if key == ORIGINAL else registry.label(key)
            with gr.Column(scale=1, min_width=220, elem_classes=["summary-col", f"col-{key}"]):
                # A fixed height keeps the columns level; longer text scrolls.
                texts.append(gr.Textbox(label=title, lines=7, max_lines=7, interactive=False,
                                        elem_classes=["summary-text"], buttons=["copy"], elem_id=f"summary-{key}"))
                infos.append(gr.Markdown(elem_classes=["summary-info"], elem_id=f"info-{key}"))
    section_overlap.build(ctx, reference, texts)  # highlighted ROUGE and copied/new words
    section_fool.build(ctx, reference.text, texts)  # "Can ROUGE be fooled?": three bad summaries scored
    return CompareTabWidgets(reference=reference, pickers=pickers, max_tokens=max_tokens, beams=beams,
                             summarize=summarize, texts=texts, infos=infos)


def _wire_summarize(ctx: UiContext, ui: CompareTabWidgets) -> None:
    # The endpoint's positions: the default methods' pickers and columns where scripts have always found
    # them, an optional method's after everything else (registry.OPTIONAL_NAMES).
    default, optional = registry.DEFAULT_NAMES, registry.OPTIONAL_NAMES
    settings_count = 3   # max new tokens, beams, the example the dialogue came from

    @guarded
    @takes_turn(ctx.studio)
    @positional_names("dialogue", *(f"{m}_run" for m in default), "max_new_tokens", "num_beams", "sent",
                      *(f"{m}_run" for m in optional))
    def run(dialogue, *values):
        """The dialogue, a run pick per default method, max new tokens, beams, the example it came from, then a
        run pick per optional method."""
        picks = dict(zip(default, values)) | dict(zip(optional, values[len(default) + settings_count:]))
        max_new_tokens, num_beams, sent = values[len(default):len(default) + settings_count]
        gen = hc.generation_settings(max_new_tokens, num_beams)
        references = hc.references_for(dialogue, sent)
        columns = hc.compare(ctx.studio, dialogue, picks, gen, references)
        return {**{box: c.text for box, c in zip(ui.texts, columns)},
                **{box: c.info for box, c in zip(ui.infos, columns)},
                ui.reference.text: _reference_update(references)}

    text_of, info_of = dict(zip(COLUMNS, ui.texts)), dict(zip(COLUMNS, ui.infos))
    first = (COLUMNS[0], *default)
    inputs = [ctx.dialogue, *(ui.pickers[m] for m in default), ui.max_tokens, ui.beams, ctx.sent_example,
              *(ui.pickers[m] for m in optional)]
    outputs = [*(text_of[c] for c in first), *(info_of[c] for c in first), ui.reference.text,
               *(text_of[m] for m in optional), *(info_of[m] for m in optional)]
    ui.summarize.click(run, inputs, outputs, api_name="summarize", concurrency_id=GENERATE,
                       concurrency_limit=GENERATE_WORKERS,
                       # The handlers check raw values against the runs on disk now: the dropdowns'
                       # choices are fixed when a session starts, and scripts never refresh them.
                       preprocess=False)


def _wire_refresh(ctx: UiContext, ui: CompareTabWidgets, tab: gr.Tab) -> None:
    studio = ctx.studio

    def dropdowns(picks) -> dict:
        return {ui.pickers[m]: gr.Dropdown(choices=c, value=v) for m, (c, v) in picks.items()}

    def refresh(owner, *current):
        """Fresh choices (the person's own runs marked); a pick still there is kept."""
        picks = compare_picks(studio, owner, current)
        return {ui.pickers[m]: refreshed_choices(gr.Dropdown, c, now, v)
                for (m, (c, v)), now in zip(picks.items(), current)}

    def refresh_with_notes(owner):
        """A new page (or its token just restored): the person's own newest runs, else anyone's newest."""
        picks = compare_picks(studio, owner)
        notes = hc.column_notes(studio, {m: v for m, (_, v) in picks.items()})
        return {**dropdowns(picks), **dict(zip(ui.infos, notes))}

    # Raw values (preprocess=False): a refresh can carry the value the page held before the page
    # load's answer arrived ("none yet" from when the app started), while the session already has
    # the new choices; Gradio's own check then showed "Value: none is not in the list of choices"
    # in a red toast. The handlers check values against the runs on disk and replace stale ones.
    ctx.runs_version.change(refresh, [ctx.owner, *ui.picker_list()], ui.picker_list(), preprocess=False, **QUIET)
    tab.select(refresh, [ctx.owner, *ui.picker_list()], ui.picker_list(), preprocess=False, **QUIET)
    ctx.demo.load(refresh_with_notes, ctx.owner, [*ui.picker_list(), *ui.infos], **QUIET)
    ctx.owner.change(refresh_with_notes, ctx.owner, [*ui.picker_list(), *ui.infos], **QUIET)


def _reference_update(references: list[str] | None):
    """The dataset's references fill the (editable) reference box; without them it keeps what was typed."""
    return hc.reference_text(references) if references else gr.skip()
