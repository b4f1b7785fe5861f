"""ROUGE and BLEU with honest error bars: per-example F1 from rouge_score, corpus BLEU from sacrebleu,
means, bootstrap intervals.

    per_example = rouge_table(predictions, references)          # one row per example
    rouge_summary(per_example)   # {"rouge1": {"mean": .., "low": .., "high": ..}, ...}
    corpus_bleu(predictions, references)   # 0.183: sacrebleu's corpus BLEU / 100, several references
    stats = bleu_statistics(predictions, references); bleu_summary(stats)   # {"mean": .., "low": .., "high": ..}
    paired_difference(a_scores, b_scores)   # is model B really better than A?
    describe_difference("Full", "LoRA", "rougeL", diff)   # the same, as one plain sentence
    pairwise_differences(result)  # every pair of evaluated models: [{a, b, metric, difference, low, high}]
    result = evaluate_models(pool, data, ["original", run_id], limit=50)

Why not `evaluate.load("rouge")`: it downloads its script from the hub and fails
offline. rouge_score is what it wraps; with the stemmer, F1 per example, and the
plain mean, the numbers equal evaluate's `use_aggregator=False` averaged. With
several references, an example scores its best reference (rouge_score's
score_multi), as in the DialogSum paper's multi-reference test set.

BLEU is a corpus score, not a mean of sentence scores: sacrebleu sums each sentence's
n-gram matches and lengths over the corpus, then takes the geometric mean of the
precisions times the brevity penalty. Its interval therefore resamples the dialogues
(the same seeded resamples as ROUGE's) and recomputes corpus BLEU from the summed
per-sentence statistics sacrebleu itself extracted, which is how sacrebleu's own
bootstrap works. Reported as a fraction (0.183), like the ROUGE keys.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from rouge_score import rouge_scorer
from sacrebleu.metrics import BLEU as SacreBLEU

METRICS = ("rouge1", "rouge2", "rougeL", "rougeLsum")
BLEU = "bleu"   # the key of corpus BLEU beside the ROUGE keys
BOOTSTRAP_SAMPLES = 1000

_scorer = None


def scorer() -> rouge_scorer.RougeScorer:
    global _scorer  # one scorer: building it loads the stemmer; it is read-only afterwards
    if _scorer is None:
        _scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    return _scorer


def rouge_table(predictions: list[str], references: list[list[str]]) -> pd.DataFrame:
    """Per-example ROUGE F1, each example scored against its best-matching reference."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference sets.")
    rows = []
    for prediction, example_references in zip(predictions, references):
        example_references = [r for r in example_references if r and r.strip()]
        if not example_references:
            raise ValueError("Every example needs at least one non-empty reference.")
        scores = scorer().score_multi(example_references, prediction)
        rows.append({m: scores[m].fmeasure for m in METRICS})
    return pd.DataFrame(rows, columns=list(METRICS))


def resample_indices(count: int, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    """(samples, count) example indices drawn with replacement: the resamples every interval here uses,
    so a ROUGE interval and a BLEU interval with the same seed resample the same dialogues."""
    return np.random.default_rng(seed).integers(0, count, size=(samples, count))


def bootstrap(statistic, count: int, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> np.ndarray:
    """The statistic on each seeded resample of `count` examples (the one bootstrap every interval uses).

    `statistic` gets a (samples, count) array of example indices and returns one value per resample:
    a mean of per-example scores, corpus BLEU recomputed, or a paired difference of either."""
    return np.asarray(statistic(resample_indices(count, samples, seed)), dtype=float)


def percentile_interval(draws) -> tuple[float, float]:
    """The 95% percentile interval of a bootstrap's draws."""
    return float(np.percentile(draws, 2.5)), float(np.percentile(draws, 97.5))


def _resampled_mean(values: np.ndarray):
    return lambda indices: values[indices].mean(axis=1)


# Below this many dialogues no difference is called clear, whatever its interval says. A percentile bootstrap
# is too narrow on few examples: with one dialogue its "interval" has no width, and with no true difference
# at all it named a winner in 55% of pairs with 2 dialogues, 19% with 5 and 13% with 10 (8% with 16, 6% with
# 50, against the 5% a 95% interval promises; docs/insight.md). The same minimum as a topic's own score.
MIN_DIALOGUES_TO_JUDGE = 10


def _paired(difference: float, draws: np.ndarray, examples: int) -> dict:
    """A paired comparison as every caller reports it: b - a, its interval, how often b wins a resample,
    and over how many examples."""
    low, high = percentile_interval(draws)
    return {"difference": float(difference), "low": low, "high": high, "share_b_better": float((draws > 0).mean()),
            "examples": int(examples)}


def bootstrap_interval(values, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    """95% percentile interval of the mean, from a seeded resample of the examples."""
    values = np.asarray(values, dtype=float)
    if len(values) == 0:
        return (float("nan"), float("nan"))
    return percentile_interval(bootstrap(_resampled_mean(values), len(values), samples, seed))


def rouge_summary(table: pd.DataFrame, seed: int = 0) -> dict:
    out = {}
    for metric in METRICS:
        low, high = bootstrap_interval(table[metric], seed=seed)
        out[metric] = {"mean": float(table[metric].mean()), "low": low, "high": high}
    return out


def paired_difference(a, b, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """Mean of b - a over the same examples, its 95% interval, and how often b wins a resample."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.shape != b.shape:
        raise ValueError("A paired comparison needs scores on the same examples.")
    diff = b - a
    return _paired(diff.mean(), bootstrap(_resampled_mean(diff), len(diff), samples, seed), len(diff))


def _bleu() -> SacreBLEU:
    # sacrebleu's defaults: the 13a tokenizer, exponential smoothing, up to 4-grams, as corpus_bleu uses.
    return SacreBLEU()


def _reference_streams(references: list[list[str]]) -> list[list[str | None]]:
    """sacrebleu wants one stream per reference position; None where an example has fewer references."""
    cleaned = []
    for example_references in references:
        example_references = [r for r in example_references if isinstance(r, str) and r.strip()]
        if not example_references:
            raise ValueError("Every example needs at least one non-empty reference.")
        cleaned.append(example_references)
    width = max(len(r) for r in cleaned)
    return [[r[i] if i < len(r) else None for r in cleaned] for i in range(width)]


def bleu_statistics(predictions: list[str], references: list[list[str]]) -> np.ndarray:
    """Per example, sacrebleu's sufficient statistics for BLEU: hypothesis length, closest reference length,
    then matched and total n-grams for n = 1..4 (one row per example; a corpus sums the rows)."""
    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} reference sets.")
    if not predictions:
        raise ValueError("BLEU needs at least one prediction.")
    streams = _reference_streams(references)
    # The same extraction corpus_score runs, kept per sentence so that resamples need no re-tokenizing.
    stats = _bleu()._extract_corpus_statistics(list(predictions), streams)
    return np.asarray(stats, dtype=np.int64)


def bleu_from_statistics(summed) -> float:
    """Corpus BLEU as a fraction from summed statistics (a row of bleu_statistics' sums)."""
    return _bleu()._compute_score_from_stats([int(x) for x in summed]).score / 100


def corpus_bleu(predictions: list[str], references: list[list[str]]) -> float:
    """sacrebleu's corpus BLEU of the predictions against each example's references, as a fraction."""
    return bleu_from_statistics(bleu_statistics(predictions, references).sum(axis=0))


def _resampled_bleu(stats: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Corpus BLEU of each resample: a row of `indices` picks the examples whose statistics are summed."""
    return np.array([bleu_from_statistics(row) for row in stats[indices].sum(axis=1)])


def bleu_summary(stats: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """Corpus BLEU ("mean", the key ROUGE's summaries use) with its 95% bootstrap interval over examples."""
    low, high = percentile_interval(bootstrap(lambda indices: _resampled_bleu(stats, indices), len(stats),
                                              samples, seed))
    return {"mean": bleu_from_statistics(stats.sum(axis=0)), "low": low, "high": high}


def paired_bleu_difference(a: np.ndarray, b: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> dict:
    """Corpus BLEU of b minus a on the same examples, as paired_difference reports it: each resample
    draws the same dialogues for both models and recomputes both corpus scores."""
    if a.shape != b.shape:
        raise ValueError("A paired comparison needs scores on the same examples.")
    draws = bootstrap(lambda indices: _resampled_bleu(b, indices) - _resampled_bleu(a, indices), len(a),
                      samples, seed)
    return _paired(bleu_from_statistics(b.sum(axis=0)) - bleu_from_statistics(a.sum(axis=0)), draws, len(a))


@dataclass
class EvaluationResult:
    models: list[str]
    labels: dict[str, str]
    scores: dict[str, dict]                 # model -> rouge_summary()
    per_example: pd.DataFrame               # id, topic, reference, and per model: prediction + scores
    gains: pd.DataFrame                     # each model against the original
    per_topic: pd.DataFrame
    examples: int
    seconds: float                          # generation time, all models
    generation_seconds: dict = field(default_factory=dict)
    per_model: dict = field(default_factory=dict)   # model -> rouge_table() (unrounded per-example scores)
    bleu_stats: dict = field(default_factory=dict)  # model -> bleu_statistics() (per-example, for corpus BLEU)

    @property
    def examples_per_second(self) -> float:
        return self.examples * len(self.models) / self.seconds if self.seconds else 0.0

    def to_json(self) -> dict:
        return {"examples": self.examples, "seconds": round(self.seconds, 3),
                "examples_per_second": round(self.examples_per_second, 3),
                "models": {m: {"label": self.labels[m], **{k: v for k, v in self.scores[m].items()},
                               "generation_seconds": round(self.generation_seconds.get(m, 0.0), 3)}
                           for m in self.models}}


def evaluate_models(pool, data, models: list[str], split: str = "test", limit: int | None = 50,
                    settings=None, labels: dict | None = None, progress=None, seed: int = 0) -> EvaluationResult:
    """Generate with every model on the first `limit` dialogues of `split` and score them."""
    from studio.generate.inference import ORIGINAL

    if not models:
        raise ValueError("Choose at least one model to evaluate.")
    examples = data.split(split)[: limit or None]
    if not examples:
        raise ValueError(f"The {split} split has no examples.")
    labels = labels or {m: m for m in models}
    started = time.perf_counter()
    results = pool.summarize(models, [ex.dialogue for ex in examples], settings, progress=progress)
    seconds = time.perf_counter() - started
    references = [ex.references for ex in examples]
    # "reference" stays the first one (for whoever reads the CSV by that name); "references" has them all, as
    # ROUGE saw them: each summary is scored against whichever matches it best.
    per_example = pd.DataFrame({"id": [ex.id for ex in examples], "topic": [ex.topic for ex in examples],
                                "reference": [ex.references[0] for ex in examples],
                                "references": [ex.references_text for ex in examples]})
    scores, tables, bleu_stats = {}, {}, {}
    for model in models:
        table = rouge_table(results[model].summaries, references)
        tables[model] = table
        bleu_stats[model] = bleu_statistics(results[model].summaries, references)
        scores[model] = {**rouge_summary(table, seed=seed), BLEU: bleu_summary(bleu_stats[model], seed=seed)}
        per_example[f"{labels[model]}: summary"] = results[model].summaries
        for metric in METRICS:
            per_example[f"{labels[model]}: {metric}"] = table[metric].round(4)
    gain_rows = []
    baseline = ORIGINAL if ORIGINAL in models else models[0]
    for model in models:
        for metric in ("rouge1", "rouge2", "rougeL"):
            diff = paired_difference(tables[baseline][metric], tables[model][metric], seed=seed)
            gain_rows.append({"model": labels[model], "metric": metric, "score": scores[model][metric]["mean"],
                              "gain": diff["difference"], "gain_low": diff["low"], "gain_high": diff["high"]})
        diff = paired_bleu_difference(bleu_stats[baseline], bleu_stats[model], seed=seed)
        gain_rows.append({"model": labels[model], "metric": BLEU, "score": scores[model][BLEU]["mean"],
                          "gain": diff["difference"], "gain_low": diff["low"], "gain_high": diff["high"]})
    topic_rows = []
    for model in models:
        frame = pd.DataFrame({"topic": per_example["topic"], "rougeL": tables[model]["rougeL"]})
        for topic, group in frame.groupby("topic"):
            topic_rows.append({"model": labels[model], "topic": topic, "examples": len(group),
                               "rougeL": float(group["rougeL"].mean())})
    return EvaluationResult(models, labels, scores, per_example, pd.DataFrame(gain_rows),
                            pd.DataFrame(topic_rows), len(examples), seconds,
                            {m: results[m].seconds for m in models}, tables, bleu_stats)


METRIC_NAMES = {"rouge1": "ROUGE-1", "rouge2": "ROUGE-2", "rougeL": "ROUGE-L", "rougeLsum": "ROUGE-Lsum",
                BLEU: "BLEU"}
PAIRED_METRICS = ("rouge1", "rouge2", "rougeL")   # per-example metrics (BLEU pairs are corpus-level, added below)


def points(x: float) -> str:
    """ROUGE points (F1 x 100; BLEU points likewise), one decimal, with a typographic minus (it reads better than
    a hyphen on a slide); a value that rounds to zero is "0.0", never "−0.0" (an interval of −0.0 to 0.0 reads
    as two values where there is one)."""
    shown = round(100 * x, 1) + 0.0   # + 0.0 turns -0.0 into 0.0
    return f"{shown:.1f}".replace("-", "\u2212")


def too_few_to_judge(examples: int | None) -> bool:
    return examples is not None and examples < MIN_DIALOGUES_TO_JUDGE


def too_few_sentence(a: str, b: str, name: str, difference: float, low: float, examples: int) -> str:
    """b minus a is `difference`, and its interval excludes 0, but over too few dialogues to name a winner."""
    ahead, behind, sign = (b, a, 1) if low > 0 else (a, b, -1)
    over = "this one dialogue" if examples == 1 else f"these {examples} dialogues"
    return (f"{ahead} is ahead of {behind} on {name} by {points(sign * difference)} points over {over}, too few "
            f"to tell (at least {MIN_DIALOGUES_TO_JUDGE} are needed)")


def no_clear_difference(a: str, b: str, name: str, low: float, high: float) -> str:
    if points(low) == points(high):   # an interval of one printed value reads as certainty: say how close
        return f"No clear difference between {a} and {b} on {name} (less than 0.1 points apart)"
    return f"No clear difference between {a} and {b} on {name} ({points(low)} to {points(high)})"


def describe_difference(a: str, b: str, metric: str, diff: dict) -> str:
    """One sentence for a paired difference of b minus a (paired_difference's result), in ROUGE (or BLEU) points.

    A winner is named only when the whole 95% interval is on one side of zero, over at least
    MIN_DIALOGUES_TO_JUDGE dialogues.
    """
    name = METRIC_NAMES.get(metric, metric)
    difference, low, high, examples = diff["difference"], diff["low"], diff["high"], diff.get("examples")
    if (low > 0 or high < 0) and too_few_to_judge(examples):
        return too_few_sentence(a, b, name, difference, low, examples)
    if low > 0:
        return f"{b} beats {a} on {name} by {points(difference)} points ({points(low)} to {points(high)})"
    if high < 0:
        return f"{a} beats {b} on {name} by {points(-difference)} points ({points(-high)} to {points(-low)})"
    return no_clear_difference(a, b, name, low, high)


def pairwise_differences(result: EvaluationResult, metrics=(*PAIRED_METRICS, BLEU), seed: int = 0) -> list[dict]:
    """Every pair of evaluated models (a before b in result.models), b minus a, with its paired interval.

    Each entry: {a, b, metric, difference, low, high, sentence}; differences are fractions
    (0.021 = 2.1 ROUGE or BLEU points), the sentence uses the models' labels. BLEU pairs come
    from corpus BLEU on the same resamples, where the evaluation kept its BLEU statistics.
    """
    tables = result.per_model
    if not tables:
        raise ValueError("This evaluation kept no per-example scores to pair.")
    out = []
    for i, a in enumerate(result.models):
        for b in result.models[i + 1:]:
            for metric in metrics:
                if metric == BLEU:
                    if a not in result.bleu_stats or b not in result.bleu_stats:
                        continue
                    diff = paired_bleu_difference(result.bleu_stats[a], result.bleu_stats[b], seed=seed)
                else:
                    diff = paired_difference(tables[a][metric], tables[b][metric], seed=seed)
                out.append({"a": a, "b": b, "metric": metric, "difference": diff["difference"],
                            "low": diff["low"], "high": diff["high"],
                            "sentence": describe_difference(result.labels.get(a, a), result.labels.get(b, b),
                                                            metric, diff)})
    return out
