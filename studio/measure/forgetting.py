"""What each method forgot: score models on short instructions from tasks FLAN-T5 already knew.

    probe = load_probe()                                      # bundled: studio/data/assets/forgetting_probe.jsonl
    result = run_probe(pool_generator(pool), ["original", lora_id, full_id], probe)
    result["scores"][lora_id]["overall"]      # {"exact_match": .., "f1": ..}
    result["change"][lora_id]["overall"]      # the run's overall minus the original's
    result["measurable"]                      # False: the original scores (near) zero, so nothing to forget

FLAN-T5 was instruction-tuned on many tasks (translation, yes/no questions,
arithmetic, sentiment, facts). Fine-tuning it on dialogue summaries can erode
them; the claim to check is that LoRA "learns less and forgets less" (Biderman
et al. 2024). The probe's instructions were written for this project; each goes
to the model as it is, never wrapped in the summarization prompt.

Scoring is the usual short-answer pair: normalised exact match (lower-case, no
punctuation, no English articles, single spaces) and token F1, each the best over
an item's accepted answers, averaged per task and over all items.
"""
from __future__ import annotations

import re
import string
import time
from collections import Counter
from importlib import resources

from studio.data.dialogsum import json_lines

ORIGINAL = "original"  # same reference as studio.inference.ORIGINAL, without importing torch here
PROBE_FILE = "forgetting_probe.jsonl"
MAX_NEW_TOKENS = 24   # every expected answer is a few words; more only lets a model ramble
# Below this share of exact answers the original knows too little to lose any: a run's "no change"
# would then say nothing about forgetting (the offline stand-in answers none of the 51 right).
MEASURABLE_FLOOR = 0.1
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation + "¿¡«»„“”‘’")


def load_probe(path=None) -> list[dict]:
    """The probe items: {id, task, instruction, answers}; the bundled file unless `path` is given."""
    if path is None:
        text = (resources.files("studio.data.assets") / PROBE_FILE).read_text(encoding="utf-8")
    else:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    items = []
    for number, row in enumerate(json_lines(text, "Probe"), 1):
        answers = row.get("answers")
        if (not all(isinstance(row.get(k), str) and row[k].strip() for k in ("id", "task", "instruction"))
                or not isinstance(answers, list) or not answers
                or not all(isinstance(a, str) and normalize(a) for a in answers)):
            raise ValueError(f"Probe item {number} needs id, task, instruction and a list of non-empty answers.")
        items.append({"id": row["id"], "task": row["task"], "instruction": row["instruction"],
                      "answers": list(answers)})
    if not items:
        raise ValueError("The probe has no items.")
    return items


def normalize(text: str) -> str:
    """Lower-case, drop punctuation and English articles, collapse whitespace."""
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, answers: list[str]) -> float:
    return float(any(normalize(prediction) == normalize(a) for a in answers))


def token_f1(prediction: str, answers: list[str]) -> float:
    """Best token-overlap F1 of the prediction against any accepted answer."""
    predicted = normalize(prediction).split()
    best = 0.0
    for answer in answers:
        expected = normalize(answer).split()
        if not predicted or not expected:
            best = max(best, float(predicted == expected))
            continue
        common = sum((Counter(predicted) & Counter(expected)).values())
        if common:
            precision, recall = common / len(predicted), common / len(expected)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def score_predictions(items: list[dict], predictions: list[str]) -> dict:
    """{overall: {exact_match, f1}, per_task: {task: {exact_match, f1, examples}}} for one model."""
    if len(items) != len(predictions):
        raise ValueError(f"{len(items)} probe items but {len(predictions)} answers.")
    per_task: dict[str, dict] = {}
    em_all, f1_all = [], []
    for item, prediction in zip(items, predictions, strict=True):
        em, f1 = exact_match(prediction, item["answers"]), token_f1(prediction, item["answers"])
        em_all.append(em)
        f1_all.append(f1)
        bucket = per_task.setdefault(item["task"], {"em": [], "f1": []})
        bucket["em"].append(em)
        bucket["f1"].append(f1)
    return {"overall": {"exact_match": sum(em_all) / len(em_all), "f1": sum(f1_all) / len(f1_all)},
            "per_task": {task: {"exact_match": sum(b["em"]) / len(b["em"]), "f1": sum(b["f1"]) / len(b["f1"]),
                                "examples": len(b["em"])} for task, b in per_task.items()}}


def forgetting_measurable(scores: dict) -> bool | None:
    """Whether the original knows enough of the probe for a run to forget any (None: not probed)."""
    base = scores.get(ORIGINAL)
    if base is None:
        return None
    return base["overall"]["exact_match"] >= MEASURABLE_FLOOR


def pool_generator(pool, settings=None):
    """A generate(models, prompts) -> {model: [answers]} callable over the studio's ModelPool.

    Sends each instruction as it is (template=False), greedy, MAX_NEW_TOKENS unless `settings` says otherwise.
    """
    from studio.generate.inference import GenerationSettings

    settings = settings or GenerationSettings(max_new_tokens=MAX_NEW_TOKENS)

    def generate(models: list[str], prompts: list[str], progress=None) -> dict[str, list[str]]:
        results = pool.summarize(models, prompts, settings, progress=progress, template=False)
        return {model: results[model].summaries for model in models}

    return generate


def run_probe(generate, models: list[str], items: list[dict] | None = None, progress=None) -> dict:
    """Every model's answers to the probe, scored; shaped for `python -m studio forgetting --json`.

    `generate(models, prompts, progress=None)` returns {model: [answer per prompt]}. `change`
    holds, for every model but the original, its scores minus the original's (overall and
    per task); it is empty when the original is not among `models`.
    """
    if not models:
        raise ValueError("Choose at least one model to probe.")
    if len(set(models)) != len(models):
        raise ValueError("Each model may be probed once.")
    items = items if items is not None else load_probe()
    started = time.perf_counter()
    answers = generate(list(models), [item["instruction"] for item in items], progress=progress)
    seconds = time.perf_counter() - started
    scores = {model: score_predictions(items, answers[model]) for model in models}
    change = {}
    if ORIGINAL in scores:
        base = scores[ORIGINAL]
        for model in models:
            if model == ORIGINAL:
                continue
            mine = scores[model]
            change[model] = {
                "overall": {k: mine["overall"][k] - base["overall"][k] for k in ("exact_match", "f1")},
                "per_task": {task: {k: mine["per_task"][task][k] - base["per_task"][task][k]
                                    for k in ("exact_match", "f1")} for task in base["per_task"]}}
    return {"examples": len(items), "tasks": dict(Counter(item["task"] for item in items)),
            "scores": scores, "change": change, "measurable": forgetting_measurable(scores),
            "predictions": {model: list(answers[model]) for model in models}, "seconds": round(seconds, 3)}
