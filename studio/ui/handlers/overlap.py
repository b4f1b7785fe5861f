"""Compare's "ROUGE you can see": each summary's words marked as ROUGE counted them, and copied vs new words.

    references = parse_references("Anna invites Ben.\nBen is invited by Anna.")
    cols = overlap_columns(studio, [s1, s2, s3, s4], references, dialogue, "unigram")
    cols[0].spans     # [(text, label or None), ...] for a highlighted-text view; None without a reference
    cols[0].copied    # the same summary with copied and new words marked, whenever a dialogue is known

The marks come from studio.measure.overlap (rouge_score's tokenizer and stemmer, clipped
like ROUGE), so the share of marked words is the score's precision.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from studio.config.settings import MAX_DIALOGUE_CHARS
from studio.measure.overlap import LEGEND, VIEWS, highlight_spans
from studio.ui.formatting import score_text

from .common import plain, text
from .compare import references_for, sent_change

if TYPE_CHECKING:
    from studio.service.engine import Studio

VIEW_CHOICES = [("Shared words (ROUGE-1)", "unigram"), ("Shared word pairs (ROUGE-2)", "bigram"),
                ("Longest common subsequence (ROUGE-L)", "lcs")]
OVERLAP_COLORS = {LEGEND["unigram"]: "#7bd389", LEGEND["bigram"]: "#f7c948", LEGEND["lcs"]: "#8ecae6",
          LEGEND["copied"]: "#d9d9d9", LEGEND["new"]: "#f4a261"}
MAX_REFERENCES = 10
COPIED_COLORS = {LEGEND[k]: OVERLAP_COLORS[LEGEND[k]] for k in ("copied", "new")}
_METRIC = {"unigram": ("rouge1", "ROUGE-1"), "bigram": ("rouge2", "ROUGE-2"), "lcs": ("rougeL", "ROUGE-L")}


@dataclass
class OverlapColumn:
    spans: list | None    # the summary marked against its best reference (None: no reference or no summary)
    score: str            # markdown: the three ROUGE F1 and what the marks add up to
    copied: list | None   # the summary with copied / new words marked (None: no summary or no dialogue)
    novelty: str          # markdown: the share of new words


def view_colors(view: str) -> dict[str, str]:
    """The legend for one highlight: only the label that view marks (a legend of five would mislead)."""
    label = LEGEND[_view(view)]
    return {label: OVERLAP_COLORS[label]}


def parse_references(value) -> list[str]:
    """The reference box: one reference summary per line, blank lines ignored."""
    value = text("reference summary", value, MAX_DIALOGUE_CHARS)
    references = [line.strip() for line in value.splitlines() if line.strip()]
    if len(references) > MAX_REFERENCES:
        raise ValueError(f"Give at most {MAX_REFERENCES} reference summaries (one per line), not {len(references)}.")
    return references


def reference_text(references: list[str] | None) -> str:
    return "\n".join(references or [])


def reference_after_dialogue_change(dialogue, sent, current) -> str | None:
    """What the reference box should hold once the dialogue or the sent example changed (None: leave it).

    The dataset's references fill it while the dialogue is the one sent from the Dataset tab;
    once the dialogue changes they no longer apply and are cleared, but a reference the
    person typed is theirs and stays.
    """
    change = sent_change(dialogue, sent)
    if change.state == "same":
        return reference_text(references_for(dialogue, sent)) or None
    if change.state == "edited":
        return None  # a small edit keeps the reference (reference_note says it may no longer match)
    if _holds_sent_reference(current, sent):
        return ""
    return None


def reference_note(dialogue, sent, current) -> str:
    """Markdown under the reference box: why a dataset reference was kept after an edit, or removed.

    Without it an edited dialogue lost its reference (and every highlight) with no word why.
    """
    change = sent_change(dialogue, sent)
    if change.state == "edited" and _holds_sent_reference(current, sent, empty=False):
        words = "word" if change.changed == 1 else "words"
        return (f"⚠ **The dialogue was edited** after it was sent from the Dataset tab ({change.changed} {words} "
                f"changed). The reference summary is kept, but it was written for the original dialogue and "
                f"**may no longer match**: read the scores with that in mind, or edit or clear the reference.")
    if change.state == "replaced" and _holds_sent_reference(current, sent):
        return ("The Dataset tab's reference summary was removed: the dialogue is no longer the one sent from "
                "there, so it would not match. Type your own reference above to score the summaries.")
    return ""


def _holds_sent_reference(current, sent, empty: bool = True) -> bool:
    """Whether the box still holds the dataset's references (or, with `empty`, is empty after their removal)."""
    sent_text = reference_text((sent or {}).get("references")) if isinstance(sent, dict) else ""
    held = ("", sent_text.strip()) if empty else (sent_text.strip(),)
    return bool(sent_text) and isinstance(current, str) and current.strip() in held


def _view(value) -> str:
    if value not in VIEWS:
        raise ValueError(f"The highlight must be one of {', '.join(VIEWS)}, not {value!r}.")
    return value


def overlap_columns(studio: Studio, summaries: list, references, dialogue, view) -> list[OverlapColumn]:
    """One column per summary: its ROUGE marks (when references are given) and its copied/new words."""
    view = _view(view)
    references = parse_references(references) if not isinstance(references, list) else references
    dialogue = text("dialogue", dialogue, MAX_DIALOGUE_CHARS)
    columns = []
    for summary in summaries:
        summary = summary if isinstance(summary, str) else ""
        if not summary.strip():
            columns.append(OverlapColumn(None, "", None, ""))
            continue
        spans, score = None, ""
        if references:
            result = studio.overlap(summary, references)
            spans = highlight_spans(summary, result["tokens"], view)
            score = _score_line(result, view, len(references))
        copied, novelty = None, ""
        if dialogue.strip():
            words = studio.copied_words(summary, dialogue)
            copied = copied_spans(summary, words["tokens"])
            novelty = _novelty_line(words)
        columns.append(OverlapColumn(spans, score, copied, novelty))
    return columns


def _novelty_line(words: dict) -> str:
    """The share of new words; for a summary that repeats itself, a warning first: "0% new" then means
    the same dialogue word over and over, not phrases lifted from the dialogue."""
    line = (f"**{100 * words['new_share']:.0f}% new words** ({words['new_words']} of "
            f"{len(words['tokens'])} not in the dialogue)")
    if not words.get("repeats"):
        return line
    return (f"⚠ **Repeats itself:** {words['distinct_words']} distinct of {len(words['tokens'])} words "
            f"(\"{plain(words['most_repeated'])}\" {words['most_repeated_times']} times), so the share of new words "
            f"says nothing about copying here. {line}")


def _score_line(result: dict, view: str, references: int) -> str:
    metric, name = _METRIC[view]
    counts = result["counts"]
    if view == "bigram":
        marked = (f"{counts['bigram_matches']} of {max(counts['summary_tokens'] - 1, 0)} word pairs shared "
                  f"= precision {score_text(result[metric]['precision'])}")
    else:
        marked = (f"{counts[view]} of {counts['summary_tokens']} words marked "
                  f"= precision {score_text(result[metric]['precision'])}")
    which = f" · best of {references} references: no. {result['best_reference'] + 1}" if references > 1 else ""
    return ("ROUGE-1 **{}** · ROUGE-2 **{}** · ROUGE-L **{}** (F1)  \n{}: {}{}".format(
        score_text(result["rouge1"]["fmeasure"]), score_text(result["rouge2"]["fmeasure"]),
        score_text(result["rougeL"]["fmeasure"]), name, marked, which))


def copied_spans(summary: str, tokens: list[dict]) -> list[tuple]:
    """The summary in pieces labelled copied or new; the text between two words of one kind shares its label."""
    pieces: list[list] = []
    position, previous = 0, None
    for token in tokens:
        label = LEGEND["new"] if token["new"] else LEGEND["copied"]
        gap = summary[position:token["start"]]
        _add(pieces, gap, label if previous == label and gap.isspace() else None)
        _add(pieces, summary[token["start"]:token["end"]], label)
        position, previous = token["end"], label
    _add(pieces, summary[position:], None)
    return [tuple(p) for p in pieces]


def _add(pieces: list[list], piece: str, label) -> None:
    if not piece:
        return
    if pieces and pieces[-1][1] == label:
        pieces[-1][0] += piece
    else:
        pieces.append([piece, label])
