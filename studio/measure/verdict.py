"""An experiment's verdict: one headline sentence, then every pair, honest about what an interval covers.

    verdict = experiment_verdict(tables, labels, seeds=[42, 43], examples=16)
    verdict["headline"]  # "On ROUGE-L over 16 test dialogues and 2 seeds, LoRA is clearly better than Original; ..."
    verdict["pairs"]     # [{a, b, metric, difference, low, high, per_seed, winner, sentence}, ...] (b minus a)
    verdict["note"]      # said once: the interval covers the test sample, not another training seed
    verdict["methods"]   # per method and metric: mean over seeds, its test-sample interval, each seed's mean

`tables` maps a method to its per-example ROUGE tables (evaluation.rouge_table) by training
seed; the original model, trained on no seed, has one table under None. `bleu` maps them the
same way to their per-sentence BLEU statistics (evaluation.bleu_statistics): BLEU is a corpus
score, so a method's BLEU is the mean over seeds of each seed's corpus BLEU, and each bootstrap
resample recomputes those corpus scores on the same dialogues for both models. A method's score on a
dialogue is its mean over the seeds; the paired bootstrap resamples the test dialogues. A pair
is "clearly better" only when that interval excludes 0 *and* it wins with every seed: the
interval alone says nothing about what another seed would have given.
"""
from __future__ import annotations

import numpy as np

from studio.config.settings import ORIGINAL
from studio.measure.evaluation import (
    BLEU,
    BOOTSTRAP_SAMPLES,
    METRIC_NAMES,
    MIN_DIALOGUES_TO_JUDGE,
    PAIRED_METRICS,
    _resampled_bleu,
    bleu_from_statistics,
    bootstrap,
    bootstrap_interval,
    no_clear_difference,
    paired_difference,
    percentile_interval,
    points,
    too_few_sentence,
    too_few_to_judge,
)
from studio.model.methods import registry

ORDER = (ORIGINAL, *registry.NAMES)
HEADLINE_METRIC = "rougeL"   # the usual summary of a summary's quality; the others follow in the pairs


def _per_example(tables_of_model: dict, metric: str) -> np.ndarray:
    """The model's score on each dialogue, averaged over its seeds."""
    stacked = np.stack([np.asarray(t[metric], dtype=float) for t in tables_of_model.values()])
    return stacked.mean(axis=0)


def _seed_means(tables_of_model: dict, metric: str, seeds: list) -> dict:
    """Each seed's mean score; the original (one table, no seed) scores the same under every seed."""
    if list(tables_of_model) == [None]:
        mean = float(np.asarray(tables_of_model[None][metric], dtype=float).mean())
        return {seed: mean for seed in seeds}
    return {seed: float(np.asarray(t[metric], dtype=float).mean()) for seed, t in tables_of_model.items()}


def _bleu_seed_means(stats_of_model: dict, seeds: list) -> dict:
    """Each seed's corpus BLEU; the original (no seed) scores the same under every seed."""
    if list(stats_of_model) == [None]:
        return {seed: bleu_from_statistics(stats_of_model[None].sum(axis=0)) for seed in seeds}
    return {seed: bleu_from_statistics(stats.sum(axis=0)) for seed, stats in stats_of_model.items()}


def _bleu_resampled(stats_of_model: dict, indices: np.ndarray) -> np.ndarray:
    """Per resample of the dialogues: the mean over seeds of each seed's corpus BLEU."""
    return np.mean([_resampled_bleu(stats, indices) for stats in stats_of_model.values()], axis=0)


def _bleu_numbers(stats_a: dict, stats_b: dict, seeds: list, seed: int) -> tuple:
    """What _pair needs for BLEU: (difference, low, high, seed means of a and b, same, both zero, a's score)."""
    means_a, means_b = _bleu_seed_means(stats_a, seeds), _bleu_seed_means(stats_b, seeds)
    count = len(next(iter(stats_a.values())))
    diffs = bootstrap(lambda indices: _bleu_resampled(stats_b, indices) - _bleu_resampled(stats_a, indices),
                      count, BOOTSTRAP_SAMPLES, seed)
    mean_a, mean_b = np.mean(list(means_a.values())), np.mean(list(means_b.values()))
    same = bool(mean_a == mean_b and not diffs.any())
    return (float(mean_b - mean_a), *percentile_interval(diffs), means_a, means_b, same, same and mean_a == 0,
            float(mean_a))


def _rouge_numbers(tables_a: dict, tables_b: dict, metric: str, seeds: list, seed: int) -> tuple:
    scores_a, scores_b = _per_example(tables_a, metric), _per_example(tables_b, metric)
    diff = paired_difference(scores_a, scores_b, seed=seed)
    same = bool(np.array_equal(scores_a, scores_b))
    return (diff["difference"], diff["low"], diff["high"], _seed_means(tables_a, metric, seeds),
            _seed_means(tables_b, metric, seeds), same, same and not scores_a.any(), float(scores_a.mean()))


def _pair(a: str, b: str, metric: str, tables: dict, labels: dict, seeds: list, seed: int,
          bleu: dict | None = None) -> dict:
    name_a, name_b, metric_name = labels.get(a, a), labels.get(b, b), METRIC_NAMES.get(metric, metric)
    numbers = (_bleu_numbers(bleu[a], bleu[b], seeds, seed) if metric == BLEU else
               _rouge_numbers(tables[a], tables[b], metric, seeds, seed))
    difference, low, high, means_a, means_b, same, both_zero, score_a = numbers
    examples = len(next(iter((bleu[a] if metric == BLEU else tables[a]).values())))
    shared = [s for s in seeds if s in means_a and s in means_b]   # a seed whose training failed drops out
    per_seed = [means_b[s] - means_a[s] for s in shared]
    several = len(seeds) > 1

    def each(sign: int) -> str:   # each seed's difference, as the sentence reads it (winner minus loser)
        return f" ({', '.join(points(sign * d) for d in per_seed)} with seeds {', '.join(map(str, shared))})"
    winner = None
    if same:
        if both_zero:
            sentence = (f"{name_a} and {name_b} both score 0 on {metric_name} on every dialogue: they tie at zero "
                        f"and cannot be told apart")
        else:
            sentence = (f"{name_a} and {name_b} score the same on {metric_name} on every dialogue "
                        f"({points(score_a)}): they cannot be told apart")
    elif (low > 0 or high < 0) and too_few_to_judge(examples):
        sentence = too_few_sentence(name_a, name_b, metric_name, difference, low, examples)
    elif low > 0 and all(d > 0 for d in per_seed):
        winner = b
        sentence = (f"{name_b} beats {name_a} on {metric_name} by {points(difference)} points "
                    f"({points(low)} to {points(high)})" + (f", with every seed{each(1)}" if several else ""))
    elif high < 0 and all(d < 0 for d in per_seed):
        winner = a
        sentence = (f"{name_a} beats {name_b} on {metric_name} by {points(-difference)} points "
                    f"({points(-high)} to {points(-low)})"
                    + (f", with every seed{each(-1)}" if several else ""))
    elif low > 0 or high < 0:   # the test sample says one thing, the seeds another
        ahead, behind, sign = (name_b, name_a, 1) if low > 0 else (name_a, name_b, -1)
        sentence = (f"{ahead} is ahead of {behind} on {metric_name} by {points(sign * difference)} points over "
                    f"these dialogues, but not with every seed{each(sign)}: not clearly better")
    else:
        sentence = no_clear_difference(name_a, name_b, metric_name, low, high)
    return {"a": a, "b": b, "metric": metric, "difference": difference, "low": low, "high": high,
            "per_seed": per_seed, "winner": winner, "sentence": sentence}


def and_joined(names: list[str]) -> str:
    """["A"] -> "A"; ["A", "B", "C"] -> "A, B and C"."""
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def headline(pairs: list[dict], labels: dict, examples: int, seeds: list, metric: str = HEADLINE_METRIC) -> str:
    """One sentence: what is clearly better on the headline metric, and what cannot be told apart."""
    pairs = [p for p in pairs if p["metric"] == metric]
    over = f"On {METRIC_NAMES.get(metric, metric)} over {examples} test dialogue{'s' if examples != 1 else ''}"
    if len(seeds) > 1:
        over += f" and {len(seeds)} seeds"
    if not pairs:
        return f"{over}, there is only one model: nothing to compare."
    if too_few_to_judge(examples):
        return f"{over}, too few to tell the models apart (at least {MIN_DIALOGUES_TO_JUDGE} are needed)."
    beaten: dict[str, list[str]] = {}
    for pair in pairs:
        if pair["winner"]:
            loser = pair["b"] if pair["winner"] == pair["a"] else pair["a"]
            beaten.setdefault(pair["winner"], []).append(labels.get(loser, loser))
    unclear = [p for p in pairs if not p["winner"]]
    if not beaten:
        return f"{over}, no model is clearly better than another."
    wins = [f"{labels.get(w, w)} is clearly better than {and_joined(losers)}" if i == 0 else
            f"{labels.get(w, w)} than {and_joined(losers)}" for i, (w, losers) in enumerate(beaten.items())]
    text = f"{over}, " + (wins[0] if len(wins) == 1 else ", ".join(wins[:-1]) + ", and " + wins[-1])
    if len(unclear) == 1:
        a, b = unclear[0]["a"], unclear[0]["b"]
        text += f"; {labels.get(a, a)} and {labels.get(b, b)} cannot be told apart"
    elif unclear:
        text += "; the other pairs cannot be told apart"
    return text + "."


def note(examples: int, seeds: list) -> str:
    """What every interval covers, said once."""
    if len(seeds) > 1:
        return (f"Each method was trained {len(seeds)} times (seeds {', '.join(str(s) for s in seeds)}) and its "
                f"score on each dialogue averaged over them. Each interval is a 95% paired-bootstrap interval over "
                f"the {examples} test dialogues, not over seeds; a model counts as clearly better only when that "
                f"interval excludes 0 and it also wins with every seed.")
    return (f"Each interval is a 95% paired-bootstrap interval over these {examples} test dialogues: it shows how "
            f"much another sample of test dialogues could move a difference, not what another training seed would "
            f"give. Repeat the experiment with more seeds (the Seeds field, or --seeds 3) to see that too.")


def method_scores(tables_of_model: dict, seeds: list, metrics=PAIRED_METRICS, seed: int = 0,
                  bleu_of_model: dict | None = None) -> dict:
    """Per metric: the mean over seeds, the test-sample interval of the seed-averaged scores, each seed's mean."""
    out = {}
    for metric in metrics:
        if metric == BLEU:
            seed_means = _bleu_seed_means(bleu_of_model, seeds)
            count = len(next(iter(bleu_of_model.values())))
            low, high = percentile_interval(bootstrap(lambda indices: _bleu_resampled(bleu_of_model, indices),
                                                      count, BOOTSTRAP_SAMPLES, seed))
            out[metric] = {"mean": float(np.mean(list(seed_means.values()))), "low": low, "high": high,
                           "seed_means": [seed_means[s] for s in seeds if s in seed_means]}
            continue
        values = _per_example(tables_of_model, metric)
        low, high = bootstrap_interval(values, seed=seed)
        seed_means = _seed_means(tables_of_model, metric, seeds)
        out[metric] = {"mean": float(values.mean()), "low": low, "high": high,
                       "seed_means": [seed_means[s] for s in seeds if s in seed_means]}
    return out


def experiment_verdict(tables: dict, labels: dict, seeds: list, examples: int, metrics=PAIRED_METRICS,
                       seed: int = 0, bleu: dict | None = None) -> dict:
    """The verdict over every pair of models (the original first, then the methods in their usual order).
    With `bleu` (the same models' BLEU statistics by seed) BLEU is judged beside ROUGE."""
    models = [m for m in ORDER if m in tables] + [m for m in tables if m not in ORDER]
    if bleu is not None and all(m in bleu and set(bleu[m]) == set(tables[m]) for m in models):
        metrics = (*metrics, BLEU)
    pairs = [_pair(a, b, metric, tables, labels, seeds, seed, bleu)
             for i, a in enumerate(models) for b in models[i + 1:] for metric in metrics]
    # The headline metric's pairs first: they are what the headline sums up.
    pairs.sort(key=lambda p: p["metric"] != HEADLINE_METRIC)
    return {"headline": headline(pairs, labels, examples, seeds), "pairs": pairs, "note": note(examples, seeds),
            "methods": {m: method_scores(tables[m], seeds, metrics, seed, (bleu or {}).get(m)) for m in models},
            "seeds": list(seeds),
            "examples": examples}
