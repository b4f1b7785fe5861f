import numpy as np
import pytest
from rouge_score import rouge_scorer

from studio.evaluation import METRICS, bootstrap_interval, paired_difference, rouge_summary, rouge_table

PREDICTIONS = ["#Person1# asks #Person2# to move the sofa on Saturday.",
               "Tom is buying a red bike for his daughter.",
               "The doctor tells #Person1# to rest for a week.",
               "They agree to meet at the library at 3 pm."]
REFERENCES = [["#Person1# asks #Person2# for help moving a sofa on Saturday."],
              ["Tom buys his daughter a bike.", "Tom is buying a red bicycle for his daughter's birthday."],
              ["#Person2# advises #Person1# to stay home and rest."],
              ["They will meet at the library at three."]]


def test_scores_equal_rouge_score_with_stemmer_and_best_reference():
    table = rouge_table(PREDICTIONS, REFERENCES)
    reference_scorer = rouge_scorer.RougeScorer(list(METRICS), use_stemmer=True)
    for i, (pred, refs) in enumerate(zip(PREDICTIONS, REFERENCES)):
        for metric in METRICS:
            best = max(reference_scorer.score(ref, pred)[metric].fmeasure for ref in refs)
            assert table.loc[i, metric] == pytest.approx(best)
    summary = rouge_summary(table)
    assert summary["rouge1"]["mean"] == pytest.approx(table["rouge1"].mean())


def test_perfect_and_disjoint_predictions():
    table = rouge_table(["a cat sat on the mat", "zebra"], [["a cat sat on the mat"], ["completely different"]])
    assert table.loc[0].tolist() == [1.0] * 4 and table.loc[1].tolist() == [0.0] * 4


def test_bootstrap_interval_is_seeded_and_brackets_the_mean():
    values = np.random.default_rng(3).uniform(0, 1, 200)
    low, high = bootstrap_interval(values, seed=7)
    assert (low, high) == bootstrap_interval(values, seed=7)
    assert low < values.mean() < high
    assert high - low < 0.2
    wide_low, wide_high = bootstrap_interval(values[:10], seed=7)
    assert wide_high - wide_low > high - low  # fewer examples, wider interval


def test_paired_difference_detects_a_real_gain():
    rng = np.random.default_rng(0)
    a = rng.uniform(0.2, 0.4, 100)
    better = paired_difference(a, a + 0.05)
    assert better["difference"] == pytest.approx(0.05)
    assert better["low"] > 0 and better["share_b_better"] == 1.0
    same = paired_difference(a, a + rng.normal(0, 0.05, 100))
    assert same["low"] < 0 < same["high"]
    with pytest.raises(ValueError):
        paired_difference(a, a[:5])


def test_mismatched_or_empty_references_are_refused():
    with pytest.raises(ValueError):
        rouge_table(["one"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="reference"):
        rouge_table(["one"], [["  "]])
