"""studio/ui/handlers/compare.py: the "Can ROUGE be fooled?" columns, notes and refusals."""
import pytest

from studio.measure.fooling import fool
from studio.model.methods import registry
from studio.ui.handlers.compare import FOOL_CHOICES, fool_view

SUMMARY = "Anna invites Ben to her birthday party on Saturday and asks him to bring the cake."
REFERENCE = "Anna invites Ben to the party on Saturday; Ben will bring the cake and the candles for the party."
DIALOGUE = ("#Person1#: Ben, the party is on Saturday, my birthday party. Will you come?\n"
            "#Person2#: Of course, Anna. Shall I bring the cake and the candles?")


def test_four_columns_side_by_side_with_scores_and_a_sentence_each():
    view = fool_view([SUMMARY, "", "Ben brings a cake.", None], REFERENCE, DIALOGUE, "original")
    assert view.visible and "**Original** summary" in view.note
    assert [c.title for c in view.columns] == ["The summary", "Same words, shuffled",
                                               "The reference's most frequent word, repeated",
                                               "The dialogue, copied whole"]
    expected = fool(SUMMARY, [REFERENCE], DIALOGUE)["cases"]
    for column, case in zip(view.columns, expected):
        assert column.text == case["text"]
        rouge1, rouge2, rouge_l = (100 * case[m]["fmeasure"] for m in ("rouge1", "rouge2", "rougeL"))
        assert (f"ROUGE-1 **{rouge1:.1f}** · ROUGE-2 **{rouge2:.1f}** · ROUGE-L **{rouge_l:.1f}** · "
                f"BLEU **{100 * case['bleu']:.1f}**") in column.scores
        assert f"recall {100 * case['rouge1']['recall']:.1f}" in column.scores
        assert column.why
    assert "ignores their order" in view.columns[1].why
    assert "clipping" in view.columns[2].why
    assert "recall rewards length" in view.columns[3].why
    # The shuffle is seeded: the same page shows the same shuffle every time.
    assert fool_view([SUMMARY], REFERENCE, DIALOGUE, "original").columns[1].text == view.columns[1].text


def test_the_chosen_summary_is_fooled_or_the_first_there_is():
    summaries = ["", "", "Ben brings a cake to Anna's party.", ""]
    lora = fool_view(summaries, REFERENCE, DIALOGUE, "lora")
    assert lora.columns[0].text == summaries[2] and "**LoRA** summary" in lora.note
    fallback = fool_view(summaries, REFERENCE, DIALOGUE, "full")
    assert fallback.columns[0].text == summaries[2]
    assert "(Full fine-tuning has no summary yet)" in fallback.note
    assert [value for _, value in FOOL_CHOICES] == ["original", *registry.NAMES]
    assert [value for _, value in FOOL_CHOICES][:4] == ["original", "full", "lora", "prompt"]


def test_several_references_use_the_one_the_highlights_use():
    view = fool_view([SUMMARY], "Carl asks about a train.\n" + REFERENCE, DIALOGUE, "original")
    assert "no. 2 of 2" in view.note
    assert view.columns[2].text.split()[0] == "the"   # the most frequent word of reference no. 2


def test_nothing_to_fool_hides_the_section_and_says_why():
    assert not fool_view(["", None, "  ", ""], REFERENCE, DIALOGUE, "original").visible
    no_reference = fool_view([SUMMARY], "", DIALOGUE, "original")
    assert not no_reference.visible and "reference" in no_reference.note
    # Without a dialogue the third foil is not invented: its column says what is missing.
    view = fool_view([SUMMARY], REFERENCE, "", "original")
    assert view.visible and view.columns[3].text == "" and "No dialogue" in view.columns[3].why


def test_user_words_in_the_sentences_stay_text():
    view = fool_view(["*Anna* [link](x) **wins**"], "*Anna* *Anna* met [Ben](x)", "", "original")
    why = view.columns[2].why
    assert "\\*" not in view.columns[2].text and why.count("\\*") == 0   # "anna" itself has no markup
    assert "Anna" in why and "[" not in why.replace("\\[", "")


@pytest.mark.parametrize("summaries, references, dialogue, which", [
    ([SUMMARY], REFERENCE, DIALOGUE, "bogus"),
    ([SUMMARY], REFERENCE, DIALOGUE, None),
    ([SUMMARY], 42, DIALOGUE, "original"),
    ([SUMMARY], REFERENCE, 7, "original"),
    ([SUMMARY], "\n".join(f"ref {i}" for i in range(11)), DIALOGUE, "original"),
    ([SUMMARY], REFERENCE, "x" * 2_000_000, "original"),
])
def test_bad_values_are_refused_with_a_message(summaries, references, dialogue, which):
    with pytest.raises(ValueError):
        fool_view(summaries, references, dialogue, which)
