"""The experiment's verdict: a headline first, no "(0.0 to 0.0)", the interval's scope said once, seeds counted."""
import numpy as np
import pandas as pd

from studio.measure.verdict import experiment_verdict, headline, points

LABELS = {"original": "Original", "full": "Full fine-tuning", "lora": "LoRA", "prompt": "Prompt tuning"}
METRICS = ("rouge1", "rouge2", "rougeL")


def table(values) -> pd.DataFrame:
    values = np.asarray(values, dtype=float)
    return pd.DataFrame({m: values for m in METRICS})


BASE = np.linspace(0.1, 0.3, 20)


def test_the_headline_says_what_is_clearly_better_and_what_cannot_be_told_apart():
    lora = BASE + 0.10 + 0.001 * np.sin(np.arange(20))   # as good as full, dialogue by dialogue up and down
    tables = {"original": {None: table(BASE)}, "full": {42: table(BASE + 0.10)}, "lora": {42: table(lora)}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42], examples=20)
    assert verdict["headline"] == ("On ROUGE-L over 20 test dialogues, Full fine-tuning is clearly better than "
                                   "Original, and LoRA than Original; Full fine-tuning and LoRA cannot be told apart.")
    assert [p["metric"] for p in verdict["pairs"][:3]] == ["rougeL"] * 3   # what the headline sums up comes first
    first = verdict["pairs"][0]
    assert (first["a"], first["b"], first["winner"]) == ("original", "full", "full")
    assert first["sentence"].startswith("Full fine-tuning beats Original on ROUGE-L by 10.0 points (")
    assert "another training seed" in verdict["note"] and "--seeds 3" in verdict["note"]
    nothing = experiment_verdict({"original": {None: table(BASE)}, "lora": {42: table(BASE[::-1])}}, LABELS,
                                 seeds=[42], examples=20)
    assert nothing["headline"] == "On ROUGE-L over 20 test dialogues, no model is clearly better than another."


def test_two_models_that_both_score_zero_tie_at_zero_and_no_interval_reads_0_to_0():
    zeros = np.zeros(16)
    tables = {"original": {None: table(zeros)}, "prompt": {42: table(zeros)}, "lora": {42: table(BASE[:16])}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42], examples=16)
    tie = next(p for p in verdict["pairs"] if {p["a"], p["b"]} == {"original", "prompt"} and p["metric"] == "rougeL")
    assert tie["winner"] is None
    assert tie["sentence"] == ("Original and Prompt tuning both score 0 on ROUGE-L on every dialogue: they tie at "
                               "zero and cannot be told apart")
    same = experiment_verdict({"original": {None: table(BASE)}, "lora": {42: table(BASE)}}, LABELS, [42], 20)
    assert "score the same on ROUGE-L on every dialogue (20.0)" in same["pairs"][0]["sentence"]
    for pair in verdict["pairs"] + same["pairs"]:
        assert "0.0 to 0.0" not in pair["sentence"]


def test_with_several_seeds_a_pair_is_clear_only_when_it_wins_with_every_seed():
    noise = 0.001 * np.cos(np.arange(20))
    # LoRA is 5 points up with seed 42 and 1 point down with seed 43: the test-sample interval of the mean
    # excludes 0, but the seeds disagree.
    tables = {"original": {None: table(BASE)},
              "lora": {42: table(BASE + 0.05 + noise), 43: table(BASE - 0.01 + noise)},
              "full": {42: table(BASE + 0.04 + noise), 43: table(BASE + 0.03 - noise)}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42, 43], examples=20)
    lora = next(p for p in verdict["pairs"] if (p["a"], p["b"], p["metric"]) == ("original", "lora", "rougeL"))
    assert lora["low"] > 0 and lora["winner"] is None
    assert lora["sentence"].startswith("LoRA is ahead of Original on ROUGE-L by 2.0 points over these dialogues, "
                                       "but not with every seed (5.0, −1.0 with seeds 42, 43)")
    full = next(p for p in verdict["pairs"] if (p["a"], p["b"], p["metric"]) == ("original", "full", "rougeL"))
    assert full["winner"] == "full" and "with every seed (4.0, 3.0 with seeds 42, 43)" in full["sentence"]
    assert verdict["headline"].startswith("On ROUGE-L over 20 test dialogues and 2 seeds, Full fine-tuning is "
                                          "clearly better than Original")
    assert "trained 2 times (seeds 42, 43)" in verdict["note"] and "not over seeds" in verdict["note"]
    spread = verdict["methods"]["lora"]["rougeL"]
    assert np.allclose(spread["seed_means"], [BASE.mean() + 0.05, BASE.mean() - 0.01], atol=1e-3)
    assert spread["low"] <= spread["mean"] <= spread["high"]


def test_a_headline_with_one_model_says_there_is_nothing_to_compare():
    assert headline([], LABELS, examples=1, seeds=[42]) == ("On ROUGE-L over 1 test dialogue, there is only one "
                                                            "model: nothing to compare.")


# ---------------------------------------------------------------- BLEU in the verdict
REFERENCES = [["Anna and Ben book the 9 o'clock train to Lyon on Friday."],
              ["Carol asks Dan to move the meeting to Monday morning."],
              ["Eve lends Frank her bike for the weekend."],
              ["Gina orders two pizzas and a salad for the team."]]
GOOD = ["Anna and Ben book the train to Lyon for Friday.", "Carol asks Dan to move the meeting to Monday.",
        "Eve lends Frank her bike for the weekend.", "Gina orders pizzas and a salad for the team."]
WEAK = ["They talk about a train.", "A meeting is moved.", "Someone has a bike.", "Food is ordered."]


def test_bleu_is_judged_beside_rouge_from_sacrebleus_corpus_scores():
    import sacrebleu

    from studio.measure.evaluation import bleu_statistics, paired_bleu_difference

    stats = {"original": bleu_statistics(WEAK, REFERENCES), "lora": bleu_statistics(GOOD, REFERENCES)}
    tables = {"original": {None: table(BASE[:4])}, "lora": {42: table(BASE[:4] + 0.1)}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42], examples=4,
                                 bleu={"original": {None: stats["original"]}, "lora": {42: stats["lora"]}})
    pair = next(p for p in verdict["pairs"] if p["metric"] == "bleu")
    corpus = {name: sacrebleu.corpus_bleu(texts, [[r[0] for r in REFERENCES]]).score / 100
              for name, texts in (("original", WEAK), ("lora", GOOD))}
    assert verdict["methods"]["lora"]["bleu"]["mean"] == corpus["lora"]
    assert abs(pair["difference"] - (corpus["lora"] - corpus["original"])) < 1e-12
    same_resamples = paired_bleu_difference(stats["original"], stats["lora"])
    assert (pair["low"], pair["high"]) == (same_resamples["low"], same_resamples["high"])
    assert "on BLEU by" in pair["sentence"] or "No clear difference" in pair["sentence"]
    assert verdict["headline"].startswith("On ROUGE-L")        # the headline stays on ROUGE-L


def test_with_several_seeds_a_methods_bleu_is_the_mean_of_each_seeds_corpus_bleu():
    from studio.measure.evaluation import bleu_from_statistics, bleu_statistics

    seed_42, seed_43 = bleu_statistics(GOOD, REFERENCES), bleu_statistics(GOOD[:2] + WEAK[2:], REFERENCES)
    tables = {"original": {None: table(BASE[:4])}, "lora": {42: table(BASE[:4]), 43: table(BASE[:4])}}
    bleu = {"original": {None: bleu_statistics(WEAK, REFERENCES)}, "lora": {42: seed_42, 43: seed_43}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42, 43], examples=4, bleu=bleu)
    expected = [bleu_from_statistics(s.sum(axis=0)) for s in (seed_42, seed_43)]
    assert verdict["methods"]["lora"]["bleu"]["seed_means"] == expected
    assert abs(verdict["methods"]["lora"]["bleu"]["mean"] - sum(expected) / 2) < 1e-12
    pair = next(p for p in verdict["pairs"] if p["metric"] == "bleu")
    assert len(pair["per_seed"]) == 2


def test_without_bleu_statistics_for_every_model_the_verdict_keeps_to_rouge():
    tables = {"original": {None: table(BASE)}, "lora": {42: table(BASE + 0.1)}}
    verdict = experiment_verdict(tables, LABELS, seeds=[42], examples=20, bleu={})
    assert {p["metric"] for p in verdict["pairs"]} == set(METRICS)


def test_a_difference_that_rounds_to_zero_reads_as_zero_without_a_sign():
    """Seen on the stand-in: "(−0.0 to 0.0)" read as an interval of two values where one is printed."""
    assert points(-0.0000004) == points(0.0000003) == "0.0"
    assert points(-0.0123) == "\u22121.2" and points(0.5) == "50.0"


def test_too_few_dialogues_name_no_winner_however_narrow_the_interval():
    """With one dialogue the bootstrap "interval" has no width; with no true difference at all the percentile
    bootstrap named a winner in 55% of pairs over 2 dialogues and 13% over 10. Below ten, none is named."""
    from studio.measure.evaluation import MIN_DIALOGUES_TO_JUDGE

    for count in (1, 3, MIN_DIALOGUES_TO_JUDGE - 1):
        base = BASE[:count]
        tables = {"original": {None: table(base)}, "lora": {42: table(base + 0.2)}}
        verdict = experiment_verdict(tables, LABELS, seeds=[42], examples=count)
        assert all(pair["winner"] is None for pair in verdict["pairs"])
        assert verdict["headline"].endswith(f"too few to tell the models apart (at least {MIN_DIALOGUES_TO_JUDGE} "
                                            "are needed).")
        pair = verdict["pairs"][0]
        over = "this one dialogue" if count == 1 else f"these {count} dialogues"
        assert pair["sentence"] == (f"LoRA is ahead of Original on ROUGE-L by 20.0 points over {over}, too few to "
                                    f"tell (at least {MIN_DIALOGUES_TO_JUDGE} are needed)")
    base = BASE[:MIN_DIALOGUES_TO_JUDGE]
    enough = experiment_verdict({"original": {None: table(base)}, "lora": {42: table(base + 0.2)}}, LABELS,
                                seeds=[42], examples=MIN_DIALOGUES_TO_JUDGE)
    assert enough["pairs"][0]["winner"] == "lora"
