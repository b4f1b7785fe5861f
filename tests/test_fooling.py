"""studio/measure/fooling.py: the three bad summaries that the lecture warns can score well, scored for real."""
from collections import Counter

import pytest
import sacrebleu

from studio.measure.evaluation import scorer
from studio.measure.fooling import CASES, fool, most_frequent_word, shuffled_words
from studio.measure.overlap import overlap, tokens_with_positions

SUMMARY = "Anna invites Ben to her birthday party on Saturday and asks him to bring the cake."
REFERENCES = ["Ben is invited.",
              "Anna invites Ben to the party on Saturday; Ben will bring the cake and the candles for the party."]
DIALOGUE = ("#Person1#: Ben, the party is on Saturday, my birthday party. Will you come?\n"
            "#Person2#: Of course, Anna. Shall I bring the cake and the candles?\n"
            "#Person1#: Yes please, the cake and the candles. Thank you, Ben!")


def _by_case(out):
    return {c["case"]: c for c in out["cases"]}


def test_every_case_is_scored_by_rouge_score_and_sacrebleu_against_the_highlighted_reference():
    out = fool(SUMMARY, REFERENCES, DIALOGUE)
    assert [c["case"] for c in out["cases"]] == list(CASES) and out["missing"] == []
    best = overlap(SUMMARY, REFERENCES)
    assert out["reference"] == best["reference"] == REFERENCES[1] and out["best_reference"] == 1
    for case in out["cases"]:
        expected = scorer().score(out["reference"], case["text"])
        for metric in ("rouge1", "rouge2", "rougeL"):
            assert case[metric]["fmeasure"] == pytest.approx(expected[metric].fmeasure, abs=1e-12)
            assert case[metric]["recall"] == pytest.approx(expected[metric].recall, abs=1e-12)
        bleu = sacrebleu.corpus_bleu([case["text"]], [[out["reference"]]]).score / 100
        assert case["bleu"] == pytest.approx(bleu, abs=1e-12)
        assert isinstance(case["why"], str) and case["why"].endswith(".")


def test_shuffling_leaves_rouge1_alone_and_breaks_the_sequence_scores():
    out = _by_case(fool(SUMMARY, REFERENCES, DIALOGUE))
    summary, shuffled = out["summary"], out["shuffled"]
    assert shuffled["text"] != SUMMARY
    assert Counter(shuffled["text"].split()) == Counter(SUMMARY.split())   # the same words
    assert shuffled["rouge1"] == summary["rouge1"]                          # order ignored: exactly equal
    assert shuffled["rouge2"]["fmeasure"] < summary["rouge2"]["fmeasure"]
    assert shuffled["bleu"] < summary["bleu"]
    assert f"ROUGE-1 stays at {100 * summary['rouge1']['fmeasure']:.1f}" in shuffled["why"]
    assert "ignores their order" in shuffled["why"]


def test_the_shuffle_is_seeded():
    assert shuffled_words(SUMMARY) == shuffled_words(SUMMARY) == fool(SUMMARY, REFERENCES)["cases"][1]["text"]
    assert shuffled_words(SUMMARY, seed=1) != shuffled_words(SUMMARY, seed=0)
    # One word (or one word over and over) has no other order: said plainly, not faked.
    out = _by_case(fool("Saturday", REFERENCES))
    assert out["shuffled"]["text"] == "Saturday" and "no other order" in out["shuffled"]["why"]
    # A summary with no word in common has nothing for the shuffle to lose: said so, not "stays at 0.0".
    out = _by_case(fool("Wednesday keyrainif cards account", REFERENCES))
    assert out["shuffled"]["rouge1"]["fmeasure"] == 0 and "shares no word" in out["shuffled"]["why"]


def test_a_repeated_word_is_clipped_to_its_count_in_the_reference():
    out = _by_case(fool(SUMMARY, REFERENCES, DIALOGUE))
    repeated = out["repeated"]
    reference_tokens = [t["token"] for t in tokens_with_positions(REFERENCES[1])]
    assert Counter(reference_tokens).most_common(1)[0] == ("the", 4)
    assert (repeated["word"], repeated["in_reference"], repeated["times"]) == ("the", 4, len(reference_tokens))
    assert repeated["text"] == " ".join(["the"] * len(reference_tokens))   # as long as the reference
    # Clipping: only 4 of the repeats count, so precision is 4 / length, not 1.
    assert repeated["rouge1"]["precision"] == pytest.approx(4 / len(reference_tokens))
    assert "clipping" in repeated["why"] and "4 of its 19 repeats" in repeated["why"]


def test_the_most_frequent_word_counts_stems_and_breaks_ties_by_order():
    assert most_frequent_word("Talks and talking: they talk.") == ("Talks", 3, 5)
    assert most_frequent_word("Ben met Anna.")[0] == "Ben"
    with pytest.raises(ValueError, match="no words"):
        most_frequent_word("#!?")


def test_the_dialogue_copied_whole_gets_high_recall_and_low_precision():
    out = _by_case(fool(SUMMARY, REFERENCES, DIALOGUE))
    dialogue, summary = out["dialogue"], out["summary"]
    assert dialogue["text"] == DIALOGUE
    assert dialogue["rouge1"]["recall"] > summary["rouge1"]["recall"]        # recall rewards length
    assert dialogue["rouge1"]["precision"] < summary["rouge1"]["precision"]
    assert dialogue["bleu"] < summary["bleu"]
    assert "recall rewards length" in dialogue["why"]


def test_without_a_dialogue_the_third_case_is_missing_not_invented():
    out = fool(SUMMARY, REFERENCES)
    assert [c["case"] for c in out["cases"]] == ["summary", "shuffled", "repeated"]
    assert out["missing"] == ["dialogue"]
    assert fool(SUMMARY, REFERENCES, "   ")["missing"] == ["dialogue"]


@pytest.mark.parametrize("summary, references, error", [
    ("", ["a reference"], ValueError), ("   ", ["a reference"], ValueError), (None, ["a reference"], ValueError),
    ("a summary", ["", "  "], ValueError), ("a summary", [], ValueError)])
def test_bad_input_is_refused(summary, references, error):
    with pytest.raises(error):
        fool(summary, references)
    with pytest.raises(TypeError):
        fool("a summary", ["a reference"], dialogue=3)
