"""The Compare tab: a column of summaries per model for one dialogue: the original, then a run of each method."""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import TYPE_CHECKING

from studio.config.declare import parse
from studio.config.settings import ORIGINAL, GenerationSettings
from studio.data.dialogsum import DialogData
from studio.measure.evaluation import rouge_table
from studio.model.methods import registry
from studio.store.runs import RunNotFound, is_run_id
from studio.ui.formatting import score_text

from .common import COLUMNS, fmt_seconds, missing_hint, no_run, plain, shown

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
    if record.get("method") != method:
        return f"That run is not a {registry.label(method)} run."
    return ""


def unusable_run_note(studio: Studio, run_id, markup=plain) -> str:
    """Why a picked run cannot summarize: not a run, gone, or what happened to it.

    `markup` makes quoted text safe for where it is shown: Markdown on the page (plain), as is for scripts (str).
    """
    if not is_run_id(run_id):
        return f"{markup(shown(run_id))} is not a run. Pick one above."
    try:
        record = studio.run(run_id)
    except RunNotFound:
        return "That run is gone: no run with that id is on disk (deleted?). Pick another one above."
    status = record.get("status")
    error = " ".join(str(record.get("error") or "").split()).rstrip(".")
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
