"""Compare's "Can ROUGE be fooled?": one summary beside three bad ones that ROUGE may still like.

    view = fool_view(summaries, "Anna invites Ben.", dialogue, "lora")   # summaries: the four columns' texts
    view.visible            # False until a summary and a reference exist
    view.note               # markdown: which summary and reference were used (or why nothing is shown)
    view.columns[1].text    # the summary's words shuffled; .scores and .why are markdown

The numbers come from studio.measure.fooling (rouge_score and sacrebleu, against the reference
the overlap view highlights), the sentences too; here they are only put into words on screen.
"""
from __future__ import annotations

from dataclasses import dataclass

from studio.config.settings import MAX_DIALOGUE_CHARS, ORIGINAL
from studio.measure.fooling import CASES, LABELS, fool
from studio.model.methods import registry
from studio.ui.formatting import score_text

from .common import COLUMNS, one_of, plain, text
from .overlap import parse_references

SUMMARY_LABELS = {key: "Original" if key == ORIGINAL else registry.label(key) for key in COLUMNS}
FOOL_CHOICES = [(SUMMARY_LABELS[key], key) for key in COLUMNS]


@dataclass
class FoolColumn:
    title: str     # what this column holds
    text: str      # the text scored (shown as text, never as markup)
    scores: str    # markdown: ROUGE-1/2/L and BLEU, and ROUGE-1's precision and recall
    why: str       # markdown: one sentence on what the numbers show


@dataclass
class FoolView:
    visible: bool
    note: str
    columns: list[FoolColumn]   # always one per case (summary, shuffled, repeated, dialogue)


def _hidden(note: str = "") -> FoolView:
    return FoolView(False, note, [FoolColumn(LABELS[case], "", "", "") for case in CASES])


def _scores_line(case: dict) -> str:
    return ("ROUGE-1 **{}** · ROUGE-2 **{}** · ROUGE-L **{}** · BLEU **{}**  \n"
            "ROUGE-1 precision {} · recall {}").format(
        score_text(case["rouge1"]["fmeasure"]), score_text(case["rouge2"]["fmeasure"]),
        score_text(case["rougeL"]["fmeasure"]), score_text(case["bleu"]),
        score_text(case["rouge1"]["precision"]), score_text(case["rouge1"]["recall"]))


def fool_view(summaries: list, references, dialogue, which) -> FoolView:
    """The chosen column's summary (or, where that column is empty, the first that is not) and its three foils."""
    which = one_of("summary to fool", which, COLUMNS)
    references = parse_references(references) if not isinstance(references, list) else references
    dialogue = text("dialogue", dialogue, MAX_DIALOGUE_CHARS)
    texts = {key: value if isinstance(value, str) else "" for key, value in zip(COLUMNS, summaries or [])}
    filled = [key for key in COLUMNS if texts.get(key, "").strip()]
    if not filled:
        return _hidden()
    if not references:
        return _hidden("Give a reference summary above to see whether ROUGE can be fooled.")
    chosen = which if which in filled else filled[0]
    out = fool(texts[chosen], references, dialogue)
    note = f"Fooling the **{SUMMARY_LABELS[chosen]}** summary"
    if chosen != which:
        note += f" ({SUMMARY_LABELS[which]} has no summary yet)"
    note += f", scored against the reference {_which_reference(out, len(references))}."
    columns = {case: FoolColumn(LABELS[case], "", "", "") for case in CASES}
    for case in out["cases"]:
        columns[case["case"]] = FoolColumn(case["label"], case["text"], _scores_line(case), plain(case["why"]))
    if "dialogue" in out["missing"]:
        columns["dialogue"].why = "No dialogue to copy: paste or pick one above and summarize it."
    return FoolView(True, note, [columns[case] for case in CASES])


def _which_reference(out: dict, count: int) -> str:
    # The same reference the highlights above use: with several, the one closest to the summary (ROUGE-L).
    return f"no. {out['best_reference'] + 1} of {count} (the one the highlights use)" if count > 1 else "above"
