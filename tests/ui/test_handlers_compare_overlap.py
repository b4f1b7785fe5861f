"""studio/ui/handlers/compare.py: Compare's highlighted ROUGE and copied-words views, and the reference box."""
import pytest

from studio.measure.evaluation import scorer
from studio.measure.overlap import LEGEND
from studio.ui.handlers import compare as hc


def test_overlap_columns_mark_what_rouge_counted(studio):
    summaries = ["Anna invites Ben to dinner at eight.", "", "Ben will cook pasta for Anna.", None]
    reference = "Anna invites Ben to dinner; he will cook."
    dialogue = "Anna: Ben, dinner at eight?\nBen: Sure, I will cook pasta."
    columns = hc.overlap_columns(studio, summaries, reference, dialogue, "unigram")
    assert len(columns) == 4
    assert columns[1] == hc.OverlapColumn(None, "", None, "") and columns[3].spans is None
    first = columns[0]
    assert "".join(piece for piece, _ in first.spans) == summaries[0]   # the whole summary, nothing lost
    marked = [piece.strip() for piece, label in first.spans if label]
    assert marked == ["Anna invites Ben to dinner"]
    expected = scorer().score(reference, summaries[0])
    assert f"ROUGE-1 **{100 * expected['rouge1'].fmeasure:.1f}**" in first.score
    assert "5 of 7 words marked" in first.score and f"{100 * expected['rouge1'].precision:.1f}" in first.score
    # Copied vs new: "invites" and "Anna"... every word but "invites" and "to" is in the dialogue.
    new = [piece.strip() for piece, label in first.copied if label == LEGEND["new"]]
    assert new == ["invites", "to"]
    assert "**29% new words** (2 of 7" in first.novelty


def test_overlap_views_switch_and_bigram_counts_pairs(studio):
    summary, reference = "the cat sat on the mat", "the cat lay on the mat"
    bigram = hc.overlap_columns(studio, [summary], reference, "", "bigram")[0]
    assert [p for p, label in bigram.spans if label] == ["the cat", "on the mat"]
    assert "3 of 5 word pairs shared" in bigram.score
    lcs = hc.overlap_columns(studio, [summary], reference, "", "lcs")[0]
    assert "5 of 6 words marked" in lcs.score
    assert bigram.copied is None and bigram.novelty == ""   # no dialogue, no copied view


def test_without_a_reference_only_copied_words_show(studio):
    column = hc.overlap_columns(studio, ["Anna calls Ben."], "", "Anna: hi Ben", "unigram")[0]
    assert column.spans is None and column.score == ""
    assert [p for p, label in column.copied if label == LEGEND["copied"]] == ["Anna", "Ben"]


def test_several_references_pick_the_best_and_say_which(studio):
    column = hc.overlap_columns(studio, ["Anna invites Ben to dinner."],
                                "Carl sells a car.\nAnna invites Ben to dinner.", "", "unigram")[0]
    assert "best of 2 references: no. 2" in column.score
    assert "5 of 5 words marked" in column.score


@pytest.mark.parametrize("call,message", [
    (lambda s: hc.overlap_columns(s, ["x"], "ref", "", "trigram"), "highlight must be one of"),
    (lambda s: hc.overlap_columns(s, ["x"], "\n".join("r" for _ in range(11)), "", "unigram"), "at most 10"),
    (lambda s: hc.overlap_columns(s, ["x"], 42, "", "unigram"), "must be text"),
])
def test_overlap_refuses_bad_input(studio, call, message):
    with pytest.raises(ValueError, match=message):
        call(studio)


def test_reference_box_follows_the_sent_dialogue_but_keeps_typed_text():
    sent = {"dialogue": "A: hi\nB: hello", "references": ["Two people greet.", "A greets B."]}
    assert hc.reference_after_dialogue_change("A: hi\nB: hello", sent, "") == "Two people greet.\nA greets B."
    # Another dialogue: the dataset's references no longer apply ...
    assert hc.reference_after_dialogue_change("A: bye", sent, "Two people greet.\nA greets B.") == ""
    # ... but a reference the person typed stays.
    assert hc.reference_after_dialogue_change("A: bye", sent, "My own reference.") is None
    assert hc.reference_after_dialogue_change("A: bye", None, "My own reference.") is None
    assert hc.parse_references(" one \n\n two\n") == ["one", "two"]


def test_one_edited_word_keeps_the_reference_and_says_it_may_no_longer_match(studio):
    example = studio.data.split("test")[0]
    sent = {"dialogue": example.dialogue, "references": example.references}
    held = hc.reference_text(example.references)
    assert hc.reference_note(example.dialogue, sent, held) == ""
    edited = example.dialogue.replace(example.dialogue.split()[3], "zebra", 1)
    assert hc.reference_after_dialogue_change(edited, sent, held) is None   # the box keeps the reference
    note = hc.reference_note(edited, sent, held)
    assert "edited" in note and "1 word changed" in note and "may no longer match" in note
    # The highlighting goes on against the kept reference.
    assert hc.overlap_columns(studio, [example.references[0]], held, edited, "unigram")[0].spans
    # Undoing the edit: no warning any more.
    assert hc.reference_note(example.dialogue, sent, held) == ""
    # The person's own reference after an edit needs no warning.
    assert hc.reference_note(edited, sent, "My own reference.") == ""


def test_another_dialogue_removes_the_reference_and_says_why(studio):
    first, second = studio.data.split("test")[:2]
    sent = {"dialogue": first.dialogue, "references": first.references}
    held = hc.reference_text(first.references)
    assert hc.reference_after_dialogue_change(second.dialogue, sent, held) == ""
    for current in (held, ""):  # as the box is cleared, and once it is empty
        assert "reference summary was removed" in hc.reference_note(second.dialogue, sent, current)
        assert "no longer the one sent" in hc.reference_note(second.dialogue, sent, current)
    assert hc.reference_note(second.dialogue, sent, "Typed by me.") == ""
    assert hc.reference_note(second.dialogue, None, "") == ""


def test_a_repeating_summary_is_flagged_in_its_novelty_line(studio):
    dialogue = "#Person1#: a cat sat on a mat. #Person2#: a dog too."
    column = hc.overlap_columns(studio, ["a a a a a a a a"], [], dialogue, "unigram")[0]
    assert column.novelty.startswith("⚠ **Repeats itself:** 1 distinct of 8 words")
    assert "0% new words" in column.novelty
    fine = hc.overlap_columns(studio, ["The cat sat on a mat."], [], dialogue, "unigram")[0]
    assert "Repeats" not in fine.novelty
