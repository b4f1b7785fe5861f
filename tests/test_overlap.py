"""The overlap highlight agrees with rouge_score: its marks are the counts behind the scores."""
import itertools

import pytest
from rouge_score import rouge_scorer

from studio.measure.overlap import copied_words, highlight_spans, overlap, tokens_with_positions

REFERENCE_SCORER = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)

CASES = [
    ("#Person1# asks #Person2# to move the sofa on Saturday.",
     ["#Person1# asks #Person2# for help moving a sofa on Saturday."]),
    ("Tom is buying a red bike for his daughter's birthday.",
     ["Tom buys his daughter a bike.", "Tom is buying a red bicycle for his daughter's birthday."]),
    ("The the the cat sat on the mat, the cat!", ["The cat sat on a mat."]),
    ("He was running; she runs. They ran and run.", ["She is running while he runs."]),
    ("Mr. O'Neil paid $3,500 for the car at 9:30 a.m.", ["O'Neil bought the car for 3,500 dollars at 9:30."]),
    ("Café owner Zoë says naïve résumé tips are useless.", ["The cafe owner Zoe says resume tips help."]),
    ("", ["Somebody said something."]),
    ("?!... --", ["Nothing matches here."]),
    ("a b a b a", ["b a b"]),
    ("a c a b", ["a b c"]),
    ("#Person2# will call back tomorrow.", ["  ", "#Person1# will call #Person2# back tomorrow morning."]),
    ("They discuss the weather, the weather and the WEATHER.", ["They talk about the weather today."]),
    ("İstanbul trip: İlker books flights.", ["Ilker books flights for the Istanbul trip."]),
]


@pytest.mark.parametrize("summary,references", CASES)
def test_marks_are_the_counts_behind_rouge_scores(summary, references):
    result = overlap(summary, references)
    reference = references[result["best_reference"]]
    expected = REFERENCE_SCORER.score(reference, summary)
    tokens = result["tokens"]
    n = len(tokens)
    assert [t["token"] for t in tokens] == REFERENCE_SCORER._tokenizer.tokenize(summary)

    unigram = sum(t["unigram"] for t in tokens)
    assert (unigram / n if n else 0.0) == pytest.approx(expected["rouge1"].precision)
    assert result["rouge1"]["precision"] == pytest.approx(expected["rouge1"].precision)

    lcs = sum(t["lcs"] for t in tokens)
    assert (lcs / n if n else 0.0) == pytest.approx(expected["rougeL"].precision)
    assert result["counts"]["lcs"] == lcs
    assert result["rougeL"]["fmeasure"] == pytest.approx(expected["rougeL"].fmeasure)

    # ROUGE-2: matched bigram occurrences, clipped, over the summary's bigrams.
    matches = result["counts"]["bigram_matches"]
    assert matches / max(n - 1, 1) == pytest.approx(expected["rouge2"].precision)
    assert result["rouge2"]["recall"] == pytest.approx(expected["rouge2"].recall)
    # Every bigram-marked token sits in a marked pair whose bigram the reference has.
    reference_tokens = REFERENCE_SCORER._tokenizer.tokenize(reference)
    reference_bigrams = set(itertools.pairwise(reference_tokens))
    for k, t in enumerate(tokens):
        if t["bigram"]:
            neighbours = [(tokens[k - 1], t)] if k else []
            neighbours += [(t, tokens[k + 1])] if k + 1 < n else []
            assert any(a["bigram"] and b["bigram"] and (a["token"], b["token"]) in reference_bigrams
                       for a, b in neighbours)
    # An LCS token is also a counted unigram: the three views never contradict each other.
    assert all(t["unigram"] for t in tokens if t["lcs"])


def test_best_reference_is_the_one_with_highest_rouge_l():
    summary = "Tom is buying a red bike for his daughter."
    refs = ["Tom buys his daughter a bike.", "Tom is buying a red bicycle for his daughter's birthday."]
    result = overlap(summary, refs)
    assert result["best_reference"] == 1
    assert result["reference"] == refs[1]
    # Empty references are skipped but indices still point into the list as given.
    assert overlap(summary, ["", refs[1]])["best_reference"] == 1
    # A tie goes to the first reference, as rouge_score's score_multi breaks ties.
    assert overlap("a b", ["a b", "a b"])["best_reference"] == 0


def test_repeated_words_are_clipped_to_the_reference_count():
    result = overlap("yes yes yes no", ["yes no no"])
    marks = [t["unigram"] for t in result["tokens"]]
    assert marks.count(True) == 2          # one "yes", one "no"
    assert marks[-1] is True               # the "no"
    assert sum(marks[:3]) == 1


def test_stems_match_and_displayed_text_keeps_case_and_punctuation():
    result = overlap("Running, RUNS!", ["He runs."])
    assert [t["text"] for t in result["tokens"]] == ["Running", "RUNS"]
    assert [t["token"] for t in result["tokens"]] == ["run", "run"]
    assert [t["unigram"] for t in result["tokens"]] == [True, False]   # clipped: "run" once in the reference


def test_tokens_map_back_to_the_text_shown():
    text = "#Person1# can't find Zoë's keys — at 10:45!"
    tokens = tokens_with_positions(text)
    assert [t["token"] for t in tokens] == REFERENCE_SCORER._tokenizer.tokenize(text)
    for t in tokens:
        assert text[t["start"]:t["end"]] == t["text"]
    assert [t["text"] for t in tokens] == ["Person1", "can", "t", "find", "Zo", "s", "keys", "at", "10", "45"]


def test_empty_summary_and_bad_references():
    result = overlap("", ["Something happened."])
    assert result["tokens"] == [] and result["rouge1"]["precision"] == 0.0
    with pytest.raises(ValueError, match="reference"):
        overlap("text", ["", "  "])
    with pytest.raises(ValueError, match="reference"):
        overlap("text", [])


@pytest.mark.parametrize("view", ["unigram", "bigram", "lcs"])
@pytest.mark.parametrize("summary,references", CASES)
def test_spans_cover_the_summary_and_label_exactly_the_marked_tokens(summary, references, view):
    result = overlap(summary, references)
    spans = highlight_spans(summary, result["tokens"], view, label="hit")
    assert "".join(text for text, _ in spans) == summary
    assert all(label in (None, "hit") for _, label in spans)
    # Neighbouring spans differ in label (merged), and labelled text holds exactly the marked tokens.
    assert all(a[1] != b[1] for a, b in itertools.pairwise(spans))
    labelled = " ".join(text for text, label in spans if label)
    assert [t["token"] for t in tokens_with_positions(labelled)] == [t["token"] for t in result["tokens"] if t[view]]


def test_spans_join_a_matched_phrase_but_not_its_punctuation():
    result = overlap("They meet at the library.", ["They will meet at the library at three."])
    spans = highlight_spans(result["summary"], result["tokens"], "bigram")
    assert spans == [("They ", None), ("meet at the library", "shared word pair (ROUGE-2)"), (".", None)]
    with pytest.raises(ValueError, match="Unknown highlight"):
        highlight_spans("x", [], "trigram")


def test_copied_and_new_words():
    dialogue = "#Person1#: Are you running the marathon?\n#Person2#: Yes, I run every Sunday."
    result = copied_words("#Person2# runs a marathon on Sundays with friends.", dialogue)
    flags = {t["text"]: t["copied"] for t in result["tokens"]}
    assert flags == {"Person2": True, "runs": True, "a": False, "marathon": True, "on": False,
                     "Sundays": True, "with": False, "friends": False}
    assert result["new_words"] == 4 and result["new_share"] == pytest.approx(4 / 8)
    spans = highlight_spans(result["summary"], result["tokens"], "new")
    assert "".join(t for t, _ in spans) == result["summary"]
    assert [t for t, label in spans if label] == ["a", "on", "with friends"]
    assert copied_words("", dialogue)["new_share"] == 0.0
    with pytest.raises(ValueError, match="dialogue"):
        copied_words("text", " ")


def test_a_summary_repeating_one_word_is_flagged_not_read_as_copying():
    dialogue = "#Person1#: a cat sat on a mat. #Person2#: a dog too."
    degenerate = copied_words("a a a a a a a a", dialogue)
    assert degenerate["new_share"] == 0.0   # every word is in the dialogue...
    assert degenerate["repeats"] and degenerate["distinct_words"] == 1   # ...and it is one word over and over
    assert degenerate["most_repeated"] == "a" and degenerate["most_repeated_times"] == 8
    fine = copied_words("The cat sat on a mat and a dog came too.", dialogue)
    assert not fine["repeats"]
    assert not copied_words("a a", dialogue)["repeats"]   # too short to tell
