import numpy as np
import pandas as pd
import pytest
import sacrebleu
from rouge_score import rouge_scorer

from studio.measure.evaluation import (
    METRICS,
    bleu_statistics,
    bleu_summary,
    bootstrap_interval,
    corpus_bleu,
    paired_bleu_difference,
    paired_difference,
    resample_indices,
    rouge_summary,
    rouge_table,
)

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


def _result_with(tables: dict, labels: dict):
    from studio.measure.evaluation import EvaluationResult

    models = list(tables)
    n = len(next(iter(tables.values())))
    return EvaluationResult(models, labels, {m: rouge_summary(t) for m, t in tables.items()},
                            pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), n, 0.0, per_model=tables)


def test_plain_words_name_a_winner_only_when_the_interval_excludes_zero():
    from studio.measure.evaluation import describe_difference

    assert describe_difference("full fine-tuning", "LoRA", "rougeL",
                               {"difference": 0.021, "low": 0.004, "high": 0.038}) == \
        "LoRA beats full fine-tuning on ROUGE-L by 2.1 points (0.4 to 3.8)"
    # b worse than a: a is named the winner, numbers flipped to stay positive.
    assert describe_difference("full fine-tuning", "LoRA", "rouge1",
                               {"difference": -0.021, "low": -0.038, "high": -0.004}) == \
        "full fine-tuning beats LoRA on ROUGE-1 by 2.1 points (0.4 to 3.8)"
    assert describe_difference("LoRA", "full fine-tuning", "rougeL",
                               {"difference": 0.003, "low": -0.008, "high": 0.015}) == \
        "No clear difference between LoRA and full fine-tuning on ROUGE-L (\u22120.8 to 1.5)"
    # Over too few dialogues nothing is called a win, and a difference that rounds to zero is never "−0.0".
    assert describe_difference("A", "B", "rougeL", {"difference": 0.2, "low": 0.2, "high": 0.2, "examples": 1}) == \
        "B is ahead of A on ROUGE-L by 20.0 points over this one dialogue, too few to tell (at least 10 are needed)"
    assert describe_difference("A", "B", "rougeL", {"difference": -0.0001, "low": -0.0004, "high": 0.0003,
                                                    "examples": 50}) == \
        "No clear difference between A and B on ROUGE-L (less than 0.1 points apart)"
    # An interval touching zero is not a win.
    assert describe_difference("A", "B", "rouge2", {"difference": 0.01, "low": 0.0, "high": 0.02}).startswith(
        "No clear difference")


def test_pairwise_differences_cover_every_pair_with_paired_intervals():
    from studio.measure.evaluation import pairwise_differences

    rng = np.random.default_rng(1)
    base = rng.uniform(0.1, 0.5, 80)

    def table(values):
        return pd.DataFrame({m: values for m in METRICS})

    tables = {"original": table(base), "lora-1": table(base + 0.05), "full-1": table(base + 0.05),
              "prompt-1": table(base - 0.03 + rng.normal(0, 0.001, 80))}
    labels = {"original": "Original", "lora-1": "LoRA", "full-1": "Full", "prompt-1": "Prompt"}
    paired = pairwise_differences(_result_with(tables, labels), metrics=("rouge1", "rougeL"))
    assert len(paired) == 6 * 2          # four models: six pairs, two metrics each
    assert {(p["a"], p["b"]) for p in paired} == {
        ("original", "lora-1"), ("original", "full-1"), ("original", "prompt-1"),
        ("lora-1", "full-1"), ("lora-1", "prompt-1"), ("full-1", "prompt-1")}
    by_pair = {(p["a"], p["b"], p["metric"]): p for p in paired}
    lora = by_pair[("original", "lora-1", "rougeL")]
    assert lora["difference"] == pytest.approx(0.05) and lora["low"] > 0
    assert lora["sentence"] == "LoRA beats Original on ROUGE-L by 5.0 points (5.0 to 5.0)"
    same = by_pair[("lora-1", "full-1", "rouge1")]
    assert same["difference"] == pytest.approx(0.0, abs=1e-12)
    assert same["sentence"].startswith("No clear difference between LoRA and Full on ROUGE-1")
    prompt = by_pair[("full-1", "prompt-1", "rougeL")]
    assert prompt["difference"] == pytest.approx(-0.08, abs=0.001) and prompt["high"] < 0
    assert prompt["sentence"].startswith("Full beats Prompt on ROUGE-L by 8.0 points")
    # The interval is the paired bootstrap's, not two independent intervals.
    expected = paired_difference(tables["original"]["rouge1"], tables["prompt-1"]["rouge1"])
    got = by_pair[("original", "prompt-1", "rouge1")]
    assert (got["low"], got["high"]) == (expected["low"], expected["high"])
    without_tables = _result_with({"original": table(base)}, labels)
    without_tables.per_model = {}
    with pytest.raises(ValueError, match="per-example"):
        pairwise_differences(without_tables)


def test_evaluate_models_keeps_per_example_scores_for_pairing():
    from studio.data.dialogsum import load_bundled
    from studio.generate.inference import SummaryResult
    from studio.measure.evaluation import evaluate_models, pairwise_differences

    class EchoPool:
        """Model "copy" returns the reference itself; model "short" only its first word."""

        def summarize(self, refs, dialogues, settings=None, progress=None):
            by_dialogue = {ex.dialogue: ex.references[0] for ex in data.split("test")}
            outputs = {"copy": [by_dialogue[d] for d in dialogues],
                       "short": [by_dialogue[d].split()[0] for d in dialogues]}
            return {ref: SummaryResult(ref, outputs[ref], 0.0) for ref in refs}

    data = load_bundled()
    result = evaluate_models(EchoPool(), data, ["short", "copy"], limit=10)
    assert list(result.per_model["copy"]["rougeL"]) == [1.0] * result.examples
    paired = pairwise_differences(result)
    expected = [("short", "copy", m) for m in ("rouge1", "rouge2", "rougeL", "bleu")]
    assert [(p["a"], p["b"], p["metric"]) for p in paired] == expected
    rouge_l = paired[2]
    assert rouge_l["difference"] == pytest.approx(1.0 - result.per_model["short"]["rougeL"].mean())
    assert rouge_l["low"] > 0 and rouge_l["sentence"].startswith("copy beats short on ROUGE-L by ")
    # BLEU beside ROUGE: sacrebleu's own corpus BLEU of each model's summaries against every reference.
    examples = load_bundled().split("test")[:10]
    summaries = {"copy": [ex.references[0] for ex in examples], "short": [ex.references[0].split()[0]
                                                                          for ex in examples]}
    for model in ("copy", "short"):
        expected_bleu = sacrebleu.corpus_bleu(summaries[model], _streams([ex.references for ex in examples]))
        assert result.scores[model]["bleu"]["mean"] == pytest.approx(expected_bleu.score / 100, abs=1e-12)
    assert result.scores["copy"]["bleu"]["mean"] == pytest.approx(1.0)
    bleu = paired[3]
    assert bleu["difference"] == pytest.approx(result.scores["copy"]["bleu"]["mean"]
                                               - result.scores["short"]["bleu"]["mean"])
    assert bleu["low"] > 0 and bleu["sentence"].startswith("copy beats short on BLEU by ")
    assert result.to_json()["models"]["copy"]["bleu"]["mean"] == pytest.approx(1.0)
    gains = result.gains[result.gains["metric"] == "bleu"].set_index("model")
    assert gains.loc["copy", "gain"] == pytest.approx(bleu["difference"])   # against the first model


def _streams(references: list[list[str]]) -> list[list]:
    """sacrebleu's layout: one stream per reference position, None where an example has fewer."""
    width = max(len(r) for r in references)
    return [[r[i] if i < len(r) else None for r in references] for i in range(width)]


def test_corpus_bleu_equals_sacrebleu_with_several_references():
    expected = sacrebleu.corpus_bleu(PREDICTIONS, _streams(REFERENCES)).score / 100
    assert corpus_bleu(PREDICTIONS, REFERENCES) == pytest.approx(expected, abs=1e-12)
    assert 0 < expected < 1
    # More references can only help: the second reference of example 2 shares more of its words.
    single = sacrebleu.corpus_bleu(PREDICTIONS, [[r[0] for r in REFERENCES]]).score / 100
    assert corpus_bleu(PREDICTIONS, [r[:1] for r in REFERENCES]) == pytest.approx(single, abs=1e-12)
    assert expected > single
    # Not a mean of sentence BLEU: the corpus sums n-gram matches first.
    sentence_mean = np.mean([sacrebleu.sentence_bleu(p, r).score / 100 for p, r in zip(PREDICTIONS, REFERENCES)])
    assert abs(expected - sentence_mean) > 1e-3


def test_bleu_interval_recomputes_corpus_bleu_on_the_same_resamples_as_rouge():
    stats = bleu_statistics(PREDICTIONS, REFERENCES)
    summary = bleu_summary(stats, samples=200, seed=3)
    indices = resample_indices(len(PREDICTIONS), 200, seed=3)
    by_sacrebleu = [sacrebleu.corpus_bleu([PREDICTIONS[i] for i in row],
                                          _streams([REFERENCES[i] for i in row])).score / 100 for row in indices]
    assert summary["low"] == pytest.approx(np.percentile(by_sacrebleu, 2.5), abs=1e-12)
    assert summary["high"] == pytest.approx(np.percentile(by_sacrebleu, 97.5), abs=1e-12)
    assert summary["low"] <= summary["mean"] <= summary["high"]
    assert bleu_summary(stats, samples=200, seed=3) == summary   # seeded
    # ROUGE's interval draws exactly these resamples with the same seed.
    values = rouge_table(PREDICTIONS, REFERENCES)["rougeL"].to_numpy()
    means = values[indices].mean(axis=1)
    assert bootstrap_interval(values, samples=200, seed=3) == (np.percentile(means, 2.5), np.percentile(means, 97.5))


def test_paired_bleu_difference_resamples_both_models_together():
    better = bleu_statistics([r[0] for r in REFERENCES], REFERENCES)
    worse = bleu_statistics(PREDICTIONS, REFERENCES)
    diff = paired_bleu_difference(worse, better, samples=200)
    assert diff["difference"] == pytest.approx(1.0 - corpus_bleu(PREDICTIONS, REFERENCES))
    assert 0 < diff["low"] <= diff["high"] and diff["share_b_better"] == 1.0
    assert paired_bleu_difference(worse, worse, samples=200)["difference"] == 0.0
    with pytest.raises(ValueError, match="same examples"):
        paired_bleu_difference(worse, better[:2])


def test_bleu_refuses_mismatched_or_empty_references():
    with pytest.raises(ValueError, match="reference sets"):
        corpus_bleu(["one"], [["a"], ["b"]])
    with pytest.raises(ValueError, match="non-empty reference"):
        corpus_bleu(["one"], [["  ", ""]])
    with pytest.raises(ValueError, match="at least one prediction"):
        corpus_bleu([], [])


def test_the_per_dialogue_table_shows_every_reference_rouge_chose_from():
    """ROUGE keeps the best-matching reference; the table once showed only the first, so a summary that
    copied the second read as scoring 100 against a reference it shares no word with."""
    from studio.data.dialogsum import DialogData, Example
    from studio.generate.inference import SummaryResult
    from studio.measure.evaluation import evaluate_models

    first, second = "Person1 complains about the noise.", "Tom and Mary plan a trip to Paris."
    data = DialogData({"test": [Example("t1", "A: Paris?\nB: Yes.", [first, second], "travel")]}, "test")

    class CopiesTheSecond:
        def summarize(self, refs, dialogues, settings=None, progress=None):
            return {ref: SummaryResult(ref, [second], 0.0) for ref in refs}

    result = evaluate_models(CopiesTheSecond(), data, ["model"], limit=1)
    row = result.per_example.iloc[0]
    assert row["model: rougeL"] == 1.0
    assert row["references"] == f"1. {first}\n2. {second}" and row["reference"] == first
    single = Example("t2", "A: Hi.", [first])
    assert single.references_text == first
