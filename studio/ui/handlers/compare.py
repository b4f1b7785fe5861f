"""The Compare tab: a column of summaries per model for one dialogue (the original, then a run of each method),
"ROUGE you can see" under them, and "Can ROUGE be fooled?".

    columns = compare(studio, dialogue, {"lora": run_id}, gen)   # per method: a run id, or None to skip it
    columns[1].text, columns[1].info                             # the summary, and which run wrote it

    references = parse_references("Anna invites Ben.\nBen is invited by Anna.")
    cols = overlap_columns(studio, [s1, s2, s3, s4], references, dialogue, "unigram")
    cols[0].spans     # [(text, label or None), ...] for a highlighted-text view; None without a reference
    cols[0].copied    # the same summary with copied and new words marked, whenever a dialogue is known

    view = fool_view(summaries, "Anna invites Ben.", dialogue, "lora")   # summaries: the four columns' texts
    view.visible            # False until a summary and a reference exist
    view.columns[1].text    # the summary's words shuffled; .scores and .why are markdown

The overlap marks come from studio.measure.overlap (rouge_score's tokenizer and stemmer, clipped
like ROUGE), so the share of marked words is the score's precision. The fooling numbers come from
studio.measure.fooling (rouge_score and sacrebleu, against the reference the overlap view
highlights), the sentences too; here they are only put into words on screen.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from studio.config.declare import parse
from studio.config.settings import MAX_DIALOGUE_CHARS, ORIGINAL, GenerationSettings
from studio.data.dialogsum import DialogData
from studio.measure.evaluation import rouge_table
from studio.measure.fooling import CASES, LABELS, fool
from studio.measure.overlap import LEGEND, VIEWS, add_piece, highlight_spans
from studio.model.methods import registry
from studio.store.runs import RunNotFound, is_run_id
from studio.ui.formatting import score_text

from .common import COLUMNS, fmt_seconds, missing_hint, no_run, one_of, plain, shown, text

if TYPE_CHECKING:
    from studio.service.engine import Studio


@dataclass
class Column:
    title: str
    text: str      # the summary, shown as plain text
    info: str      # markdown: which run, time taken, ROUGE-L, or how to get a run


def generation_settings(max_new_tokens, num_beams) -> GenerationSettings:
    return GenerationSettings(max_new_tokens=parse(GenerationSettings, "max_new_tokens", max_new_tokens),
                              num_beams=parse(GenerationSettings, "num_beams", num_beams)).validate()


# An edited dialogue keeps the dataset's references while it still shares this much of its words
# (in order) with the one sent: a fixed typo or a renamed speaker leaves the reference about right,
# a pasted or picked dialogue does not. One word in a short three-turn dialogue stays above it.
KEEPS_REFERENCE = 0.7


@dataclass
class SentChange:
    """How the dialogue in the box relates to the one last sent from the Dataset tab."""
    state: str        # "none" (nothing sent), "same", "edited" (mostly the same words) or "replaced"
    changed: int = 0  # words of the sent dialogue replaced or removed, plus words added
    words: int = 0    # words in the sent dialogue


def sent_change(dialogue, sent: dict | None) -> SentChange:
    """Whether the dialogue is still the one sent from the Dataset tab, an edit of it, or another one."""
    if not isinstance(sent, dict) or not isinstance(dialogue, str) or not str(sent.get("dialogue", "")).strip():
        return SentChange("none")
    before, after = str(sent["dialogue"]).split(), dialogue.split()
    if before == after:
        return SentChange("same", 0, len(before))
    matcher = SequenceMatcher(None, before, after, autojunk=False)
    changed = sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in matcher.get_opcodes() if op != "equal")
    state = "edited" if matcher.ratio() >= KEEPS_REFERENCE else "replaced"
    return SentChange(state, changed, len(before))


def references_for(dialogue: str, sent: dict | None) -> list[str] | None:
    """The dataset references while the dialogue is the one sent from the Dataset tab or a small edit of it.

    After an edit they are kept (the Compare tab says they may no longer match); once the
    dialogue is another one they no longer apply.
    """
    if sent_change(dialogue, sent).state not in ("same", "edited"):
        return None
    return list(sent.get("references") or []) or None


def compare(studio: Studio, dialogue: str, picks: dict[str, str | None], gen: GenerationSettings | None = None,
            references: list[str] | None = None) -> list[Column]:
    """A column for the original and for each method (COLUMNS), each with its summary or a hint how to get one."""
    model_ids, notes = [ORIGINAL], {}
    for method in registry.NAMES:
        note = _pick_problem(studio, method, picks.get(method))
        if note:
            notes[method] = note
        else:
            model_ids.append(picks[method])
    summaries = {s.model: s for s in studio.summarize(model_ids, dialogue, gen)}
    scores = {}
    if references:
        table = rouge_table([summaries[m].text for m in model_ids], [references] * len(model_ids))
        scores = dict(zip(model_ids, table["rougeL"]))
    columns = []
    for key, model_id in zip(COLUMNS, [ORIGINAL, *(picks.get(m) for m in registry.NAMES)]):
        title = "Original" if key == ORIGINAL else registry.label(key)
        if key in notes or model_id not in summaries:
            columns.append(Column(title, "", notes.get(key, "")))
            continue
        summary = summaries[model_id]
        info = f"{fmt_seconds(summary.seconds)}"
        if model_id in scores:
            info = f"**ROUGE-L {score_text(scores[model_id])}** · {info}"
        if model_id != ORIGINAL:  # which run wrote it, on its own line
            info += f"  \n{plain(studio.run_label(model_id, method=False))}"
        columns.append(Column(title, summary.text, info))
    return columns


def summaries_result(studio: Studio, dialogue: str, picks: dict[str, str | None],
                     gen: GenerationSettings | None = None, references: list[str] | None = None) -> dict:
    """What a script gets: {"original": {...}, and one key per method: ...} in plain values.

    Unlike the page, which notes a run it cannot use in that column, a picked run that cannot
    summarize raises ValueError (a script would otherwise read a hint as a summary); "none" or
    blank leaves a method out (null).
    """
    model_ids = [ORIGINAL]
    for method in registry.NAMES:
        run_id = picks.get(method)
        if no_run(run_id):
            continue
        problem = _pick_problem(studio, method, run_id, markup=str)
        if problem:  # the page's "Pick ... above" means nothing to a script
            raise ValueError(f"{method}_run: " + re.sub(r"\s*Pick (one|another one) above\.?", "", problem).strip())
        model_ids.append(run_id)
    summaries = {s.model: s for s in studio.summarize(model_ids, dialogue, gen)}
    scores = {}
    if references:
        table = rouge_table([summaries[m].text for m in model_ids], [references] * len(model_ids))
        scores = dict(zip(model_ids, table["rougeL"]))
    result = {}
    for key, model_id in zip(COLUMNS, [ORIGINAL, *(picks.get(m) for m in registry.NAMES)]):
        summary = summaries.get(model_id) if (key == ORIGINAL or not no_run(model_id)) else None
        result[key] = None if summary is None else {
            "run_id": None if key == ORIGINAL else model_id, "summary": summary.text,
            "seconds": round(summary.seconds, 3), "rouge_l": scores.get(model_id)}
    return result


def _pick_problem(studio: Studio, method: str, run_id, markup=plain) -> str:
    """Why the column for `method` shows no summary ("" when the picked run is fine)."""
    if no_run(run_id):
        return ("Skipped: pick a run above to include it." if studio.loadable_runs(method)
                else missing_hint(method))
    try:
        record = studio.loadable_run(run_id)
    except RunNotFound:
        return unusable_run_note(studio, run_id, markup)
    if record.method != method:
        return f"That run is not a {registry.label(method)} run."
    return ""


def unusable_run_note(studio: Studio, run_id, markup=plain) -> str:
    """Why a picked run cannot summarize: not a run, gone, or what happened to it.

    `markup` makes quoted text safe for where it is shown: Markdown on the page (plain), as is for scripts (str).
    """
    if run_id == ORIGINAL:
        return "The original model has a column of its own; pick a run of this method here, or none."
    if not is_run_id(run_id):
        return f"{markup(shown(run_id))} is not a run. Pick one above."
    try:
        record = studio.run(run_id)
    except RunNotFound:
        return "That run is gone: no run with that id is on disk (deleted?). Pick another one above."
    status = record.status
    error = " ".join((record.error or "").split()).rstrip(".")
    reason = f" ({markup(error[:200])})." if error else "."
    if status in ("interrupted", "failed"):
        return f"That run was {status} and has no saved model{reason} Pick another one above."
    if status == "running":
        return "That run is still training. Pick another one above, or wait for it to finish."
    return f"That run has no usable saved model (status: {markup(shown(status))}). Pick another one above."


def column_notes(studio: Studio, picks: dict[str, str | None]) -> list[str]:
    """Before any summary: what each column will use, or how to get a run for it."""
    notes = [""]
    for method in registry.NAMES:
        run_id = picks.get(method)
        if not no_run(run_id):
            notes.append("")
        elif studio.loadable_runs(method):
            notes.append("Skipped: pick a run above to include it.")
        else:
            notes.append(missing_hint(method))
    return notes


def example_dialogues(data: DialogData, count: int = 3) -> list[tuple[str, str]]:
    """(label, text) samples from the test split in the formats people paste: names, plain lines, tags."""
    rows = (data.splits.get("test") or data.splits.get("validation") or data.splits.get("train") or [])[:count]
    names = {"#Person1#": "Anna", "#Person2#": "Ben", "#Person3#": "Chris"}
    out = []
    for index, ex in enumerate(rows):
        if index == 0:
            text = re.sub(r"#Person\d+#", lambda m: names.get(m.group(0), "Dana"), ex.dialogue)
            style = "names"
        elif index == 1:
            text = "\n".join(re.sub(r"^#Person\d+#:\s*", "", line) for line in ex.dialogue.splitlines())
            style = "plain lines"
        else:
            text, style = ex.dialogue, "#Person#: tags"
        out.append((f"{ex.topic or ex.id} ({style})", text))
    return out


# ------------------------------------------------------------------ "ROUGE you can see": the overlap views

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


def summaries_source(texts: list, dialogue: str, seen) -> dict:
    """Which dialogue the summaries on screen were written from, kept as {"texts", "dialogue"} in a page State.

    New summaries were just written from the dialogue in the box; the same summaries again (the reference
    or the highlight changed) keep the dialogue they came from, even if the box has been edited since.
    Told apart by the summaries themselves, so one event can serve every trigger (Compare's views)."""
    texts = list(texts)
    if isinstance(seen, dict) and seen.get("texts") == texts:
        return {"texts": texts, "dialogue": seen.get("dialogue", "")}
    return {"texts": texts, "dialogue": dialogue}


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
        add_piece(pieces, gap, label if previous == label and gap.isspace() else None)
        add_piece(pieces, summary[token["start"]:token["end"]], label)
        position, previous = token["end"], label
    add_piece(pieces, summary[position:], None)
    return [tuple(p) for p in pieces]


# ------------------------------------------------------------------ "Can ROUGE be fooled?"

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
